"""Fixtures of the sandbox tests: real consoles in temporary SQLite files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxConsole
from tests.sandbox.consoles import RULES_SEED, console_from


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxConsole]:
    """The console of data/rules-console.yaml, where writes complete at once."""
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", "0")
    with console_from(RULES_SEED, tmp_path) as opened:
        yield opened
