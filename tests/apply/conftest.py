"""An estate to apply to: the repository's desired state and the example sandbox console, in a temp dir."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reconciler.sandbox.console import SandboxConsole
from reconciler.store import AttemptRecord, RunRecord, StateStore, open_store
from tests.conftest import REPO_ROOT, RunCli
from tests.helpers import clean_env

RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")
SECONDS = re.compile(r"\d+\.\d+s")


def normalise(text: str) -> str:
    """Run ids and durations change from run to run; everything else must not."""
    return SECONDS.sub("N.Ns", RUN_ID.sub("RUN", text))


@dataclass
class Estate:
    root: Path
    run_cli: RunCli
    env: dict[str, str] = field(default_factory=lambda: {"RECONCILER_SANDBOX_DELAY": "0"})
    _processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def cli(
        self, *args: str, env: dict[str, str] | None = None, **kwargs: object
    ) -> subprocess.CompletedProcess[str]:
        return self.run_cli(*args, cwd=self.root, env={**self.env, **(env or {})}, **kwargs)

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """`reconciler ARGS...` in the background, its output kept for the test to read."""
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args],
            cwd=self.root,
            env=clean_env(**{**self.env, **(env or {})}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._processes.append(process)
        return process

    @property
    def console_name(self) -> str:
        """The identity the console states, however it is reached: what apply locks."""
        console = self.console()
        try:
            return console.console_id()
        finally:
            console.close()

    def console(self) -> SandboxConsole:
        return SandboxConsole(self.root / ".reconciler" / "sandbox.db")

    def writes(self) -> int:
        console = self.console()
        try:
            return console.write_count()
        finally:
            console.close()

    def store(self) -> StateStore:
        return open_store(f"sqlite:{self.root / '.reconciler' / 'state.db'}")

    def runs(self) -> list[RunRecord]:
        store = self.store()
        try:
            return store.runs(100)
        finally:
            store.close()

    def attempts(self, run_id: str) -> list[AttemptRecord]:
        store = self.store()
        try:
            return store.attempts(run_id)
        finally:
            store.close()

    def write_desired(self, files: dict[str, str]) -> None:
        shutil.rmtree(self.root / "desired-state")
        (self.root / "desired-state").mkdir()
        for name, text in files.items():
            (self.root / "desired-state" / name).write_text(text)

    def cleanup(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.communicate()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def example_console(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example console, made once by `reconciler sandbox init`; each test gets a copy."""
    folder = tmp_path_factory.mktemp("example-console")
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "init"],
        cwd=folder,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return folder / ".reconciler" / "sandbox.db"


@pytest.fixture
def estate(tmp_path: Path, run_cli: RunCli, example_console: Path) -> Iterator[Estate]:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    (tmp_path / ".reconciler").mkdir()
    shutil.copy(example_console, tmp_path / ".reconciler" / "sandbox.db")
    made = Estate(tmp_path, run_cli)
    yield made
    made.cleanup()
