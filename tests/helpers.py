"""Helpers shared by the test packages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell would give: none of our variables leak in from the test runner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "NO_COLOR", "CI"):
        env.pop(name, None)
    env.update(extra)
    return env


def assert_golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a golden file, or rewrite it when --update-golden is given."""
    if update or not path.exists():
        if not update:
            pytest.fail(f"golden file {path} is missing; run pytest --update-golden and review it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path} (pytest --update-golden rewrites it)"
