"""A stopped import leaves nothing: a signal takes its hidden directory away, and what a killed one
left the next import removes, when it is surely that import's, and only then."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, RunCli
from tests.helpers import clean_env


def _large_console(tmp_path: Path, run_cli: RunCli) -> None:
    """A console of 20,000 subscriptions: import's hidden directory stays long enough to be seen."""
    many = "\n".join(
        f"  - {{id: SUB-{n}, billing_account: AC-2, product: focus, status: active, "
        f"start_date: 2026-01-01, term_end: 2027-01-01, apps: {{focus: null}}}}"
        for n in range(20_000)
    )
    (tmp_path / "console.yaml").write_text(
        "now: 2026-11-21\nusers: [{email: a@x.example}]\n"
        "billing_accounts: [{id: AC-1}, {id: AC-2}]\n"
        "organizations: [{id: acme-corp, admins: [a@x.example]}]\n"
        "sites: [{name: acme, org: acme-corp, products: {jira: premium}}]\n"
        f"subscriptions:\n{many}\n",
        encoding="utf-8",
    )
    assert run_cli("sandbox", "init", "--from", "console.yaml").returncode == 0


def _import_until_it_writes(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """`reconciler import --out imp`, running, and the hidden directory it is writing in."""
    (tmp_path / "imp").mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "import", "--out", "imp"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (staging := list((tmp_path / "imp").glob(".import-*"))):
        assert process.poll() is None and time.monotonic() < deadline, "import never began writing"
        time.sleep(0.001)
    return process, staging[0]


def test_signals_while_import_writes_leave_nothing_behind(run_cli: RunCli, tmp_path: Path) -> None:
    """SIGTERM stops the writing; the Ctrl-C right behind it waits until all is taken away."""
    _large_console(tmp_path, run_cli)
    process, _ = _import_until_it_writes(tmp_path)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert (process.returncode, stdout, stderr) == (130, "", "interrupted\n")
    assert list((tmp_path / "imp").iterdir()) == []


def test_what_a_killed_import_left_the_next_import_removes(run_cli: RunCli, tmp_path: Path) -> None:
    _large_console(tmp_path, run_cli)
    process, staging = _import_until_it_writes(tmp_path)
    process.kill()
    process.communicate(timeout=60)
    assert staging.is_dir()
    done = run_cli("import", "--out", "imp")
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        f"Removed imp/{staging.name}, left by an import that was stopped before it finished\n"
    )
    assert sorted(path.name for path in (tmp_path / "imp").iterdir()) == ["AC-2.yaml", "sites.yaml"]


def _gone_pid() -> int:
    """The process id of a process that has ended."""
    ended = subprocess.Popen([sys.executable, "-c", ""])
    ended.wait()
    return ended.pid


def test_what_may_not_be_a_killed_imports_is_reported_and_kept(run_cli: RunCli, tmp_path: Path) -> None:
    """Another import still writing, a file import never writes, a name from before process ids:
    each is named and left as it is; a file that only starts like import's name is not even named."""
    assert run_cli("sandbox", "init").returncode == 0
    imp = tmp_path / "imp"
    running = imp / f".import-{os.getpid()}-abcd1234"
    foreign = imp / f".import-{_gone_pid()}-efgh5678"
    unnamed = imp / ".import-ijkl9012"
    for folder in (running, foreign, unnamed):
        folder.mkdir(parents=True)
        (folder / "sites.yaml").write_text("version: 1\n", encoding="utf-8")
    (foreign / "notes.txt").write_text("mine\n", encoding="utf-8")
    (imp / ".import-settings").write_text("mine\n", encoding="utf-8")
    done = run_cli("import", "--out", "imp")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == sorted(
        [
            f"warning: imp/{running.name} is being written by another import (process {os.getpid()}): "
            "left alone",
            f"warning: imp/{foreign.name} was left by an import that was stopped, but holds what import "
            "never writes: left as it is (it is not read as desired state); look inside, then remove it",
            "warning: imp/.import-ijkl9012 looks like what an interrupted import left; it is not read as "
            "desired state: remove it once no import is writing there",
        ],
        key=lambda line: line.split()[1],
    )
    for folder in (running, foreign, unnamed):
        assert (folder / "sites.yaml").read_text(encoding="utf-8") == "version: 1\n"
    assert (foreign / "notes.txt").is_file() and (imp / ".import-settings").is_file()


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_leftover_is_never_read_as_desired_state(run_cli: RunCli, tmp_path: Path, command: str) -> None:
    """A hidden directory inside desired-state/ is not desired state, whatever its files declare."""
    assert run_cli("sandbox", "init").returncode == 0
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    clean = run_cli(command)
    leftover = tmp_path / "desired-state" / f".import-{_gone_pid()}-abcd1234"
    leftover.mkdir()
    shutil.copy(tmp_path / "desired-state" / "sites.yaml", leftover / "sites.yaml")
    (leftover / "broken.yaml").write_text("version: 2\nsites: {\n", encoding="utf-8")
    assert run_cli(command).stdout == clean.stdout and clean.returncode == 0
