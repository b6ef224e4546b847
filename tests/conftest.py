"""Fixtures shared by every test package: the real CLI in a subprocess, golden-file updates."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import clean_env

REPO_ROOT = Path(__file__).resolve().parent.parent

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite golden files from the current output (review the diff like code).",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run `reconciler ARGS...` as a user would: a real process, by default in a fresh directory."""

    def run(
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        input: str | None = None,
        timeout: float = 120,
        preexec_fn: Callable[[], None] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=cwd or tmp_path,
            env=clean_env(**(env or {})),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=preexec_fn,  # e.g. a resource limit set in the child only
        )

    return run
