"""A console database damaged on purpose: every command that reads it ends in one user error."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, RunCli

HINT = "hint: create one with 'reconciler sandbox init [--from FILE]', or point --provider at another file\n"

#: Each command that reads the console: what a plan, a look, the clock and an apply read.
COMMANDS = [
    ["plan"],
    ["sandbox", "show"],
    ["sandbox", "advance", "--days", "1"],
    ["apply", "--auto-approve"],
]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (
            "UPDATE subscriptions SET start_date = 'notadate' WHERE id = (SELECT min(id) FROM subscriptions)",
            "Invalid isoformat string: 'notadate'",
        ),
        ("DROP TABLE operations", "no such table: operations"),
        ("ALTER TABLE subscriptions DROP COLUMN deactivated_on", "no such column: deactivated_on"),
        ("UPDATE meta SET value = 'soon' WHERE key = 'now'", "Invalid isoformat string: 'soon'"),
        ("DELETE FROM meta WHERE key = 'now'", "the stored value 'now' is missing"),
    ],
    ids=["bad-date", "dropped-table", "dropped-column", "bad-clock", "no-clock"],
)
def test_every_read_of_a_damaged_console_names_it(
    run_cli: RunCli, tmp_path: Path, damage: str, reason: str
) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    assert run_cli("sandbox", "init").returncode == 0
    db = sqlite3.connect(tmp_path / ".reconciler" / "sandbox.db")
    with db:
        db.execute(damage)
    db.close()
    for command in COMMANDS:
        result = run_cli(*command)
        assert (command, result.returncode, result.stdout, result.stderr) == (
            command,
            1,
            "",
            f"error: .reconciler/sandbox.db is damaged or not a sandbox console database: {reason}\n" + HINT,
        )
    assert not (tmp_path / ".reconciler" / "logs").exists()


def test_a_damaged_operation_status_is_named(run_cli: RunCli, tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    assert run_cli("sandbox", "init").returncode == 0
    db = sqlite3.connect(tmp_path / ".reconciler" / "sandbox.db")
    with db:
        db.execute(
            "INSERT INTO operations (id, kind, status, actor, subscription, app, site, org, created, due)"
            " VALUES ('op-x', 'teleport', 'pending', NULL, NULL, NULL, 'acme', 'acme-corp', 1, 9e18)"
        )
    db.close()
    result = run_cli("plan")
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "error: .reconciler/sandbox.db is damaged or not a sandbox console database: "
        "'teleport' is not a valid Action\n" + HINT,
    )
