"""The package's layout shows the design: stages never reach into each other's internals.

The console (service, rules, lifecycle, seed, server) lives in `reconciler.sandbox`; `providers/`
holds clients only; the wire contract both sides speak is `reconciler.wire`; the planner does no I/O.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "reconciler"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules_under(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules_under("providers/http"), ids=lambda p: p.name)
def test_the_http_client_does_not_import_the_console(path: Path) -> None:
    assert not {m for m in imported_modules(path) if m.startswith("reconciler.sandbox")}


@pytest.mark.parametrize("path", modules_under("planning"), ids=lambda p: p.name)
def test_the_planner_imports_no_provider_and_no_console(path: Path) -> None:
    bad = {
        m
        for m in imported_modules(path)
        if m.startswith(("reconciler.providers", "reconciler.sandbox", "reconciler.store"))
    }
    assert not bad


def test_the_console_imports_no_client() -> None:
    for path in modules_under("sandbox"):
        bad = {m for m in imported_modules(path) if m.startswith("reconciler.providers")}
        assert not bad, path
