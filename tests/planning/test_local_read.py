"""plan reads an existing sandbox console on a thread while it loads the desired state, and uses
what that read gave only once the files are loaded: their diagnostics still come first."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.options import GlobalOptions
from reconciler.pipeline import make_plan
from reconciler.providers.sandbox import SandboxProvider
from tests.conftest import REPO_ROOT, RunCli


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Path:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    assert run_cli("sandbox", "init").returncode == 0
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _watch(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """The threads that observed through a sandbox provider, and every close of one."""
    observers: list[str] = []
    closes: list[str] = []
    observe, close = SandboxProvider.observe, SandboxProvider.close

    def observing(self: SandboxProvider):  # type: ignore[no-untyped-def]
        observers.append(threading.current_thread().name)
        return observe(self)

    def closing(self: SandboxProvider) -> None:
        closes.append(threading.current_thread().name)
        close(self)

    monkeypatch.setattr(SandboxProvider, "observe", observing)
    monkeypatch.setattr(SandboxProvider, "close", closing)
    return observers, closes


def test_an_existing_console_is_read_beside_the_files(estate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    observers, closes = _watch(monkeypatch)
    planned = make_plan(GlobalOptions(), ["desired-state"])
    assert observers == ["console-read"]
    assert len(closes) == 1
    assert planned.console.subscriptions  # the thread's read is the one planned against


def test_a_console_still_to_create_is_read_after_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    monkeypatch.chdir(tmp_path)
    observers, _ = _watch(monkeypatch)
    make_plan(GlobalOptions(), ["desired-state"])
    assert observers == [threading.main_thread().name]
    assert (tmp_path / ".reconciler" / "sandbox.db").is_file()


def test_invalid_files_close_the_console_read_meanwhile(
    estate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    observers, closes = _watch(monkeypatch)
    (estate / "desired-state" / "broken.yaml").write_text("sites: [\n", encoding="utf-8")
    with pytest.raises(ReconcilerError):
        make_plan(GlobalOptions(), ["desired-state"])
    assert len(observers) == len(closes) == 1


def test_invalid_files_are_reported_before_a_damaged_console(estate: Path, run_cli: RunCli) -> None:
    with sqlite3.connect(estate / ".reconciler" / "sandbox.db") as db:
        db.execute("DROP TABLE operations")
    (estate / "desired-state" / "broken.yaml").write_text("sites: [\n", encoding="utf-8")
    result = run_cli("plan")
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert "broken.yaml:2:1: error[yaml-syntax]" in result.stderr
    assert "error: desired state is invalid: 1 error in 1 file" in result.stderr
    assert "damaged" not in result.stderr
    (estate / "desired-state" / "broken.yaml").unlink()
    result = run_cli("plan")
    assert (result.returncode, result.stdout) == (1, "")
    assert "is damaged or not a sandbox console database: no such table: operations" in result.stderr
