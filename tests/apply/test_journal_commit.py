"""The journal names the commit an apply ran from: CI's variable, else the checkout's HEAD."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reconciler.store.identity import git_head
from tests.apply.conftest import Estate


def commit_all(folder: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=True, timeout=30
        )
        return done.stdout.strip()

    git("init", "-q")
    git("add", "desired-state")
    git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "estate")
    return git("rev-parse", "HEAD")


def test_without_a_ci_variable_the_checkouts_head_is_recorded(estate: Estate) -> None:
    head = commit_all(estate.root)
    assert estate.cli("apply", "--auto-approve").returncode == 0
    (run,) = estate.runs()
    assert run.commit == head
    shown = estate.cli("history", "--run", run.id).stdout
    assert f"  commit    {head}\n" in shown


def test_a_ci_variable_wins_over_the_checkout(estate: Estate) -> None:
    commit_all(estate.root)
    assert estate.cli("apply", "--auto-approve", env={"GITHUB_SHA": "feedbeef" * 5}).returncode == 0
    (run,) = estate.runs()
    assert run.commit == "feedbeef" * 5


def test_a_ci_variable_that_holds_no_commit_id_gives_way_to_the_checkout(estate: Estate) -> None:
    head = commit_all(estate.root)
    done = estate.cli("apply", "--auto-approve", env={"GITHUB_SHA": "main\nfeedbeef"})
    assert done.returncode == 0 and "GITHUB_SHA" not in done.stderr, done.stderr
    (run,) = estate.runs()
    assert run.commit == head


def test_outside_a_git_work_tree_no_commit_is_recorded(estate: Estate, tmp_path: Path) -> None:
    assert git_head(tmp_path) is None
    assert estate.cli("apply", "--auto-approve").returncode == 0
    (run,) = estate.runs()
    assert run.commit is None
