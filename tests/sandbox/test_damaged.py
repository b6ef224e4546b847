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


#: Each column with a fixed set of values, set to one no console writes, and how the error names
#: it. CHECK constraints keep some of them from a plain UPDATE: a hand edit can switch them off.
ENUMERATED = [
    (
        "UPDATE subscriptions SET status = 'zombie' WHERE id = 'SUB-1002'",
        "subscriptions.status holds 'zombie', not one of upcoming, active, cancelled, deactivated, deleted",
    ),
    (
        "UPDATE subscriptions SET product = 'weird' WHERE id = 'SUB-1002'",
        "subscriptions.product holds 'weird', not one of strategy-collection, jira-align, focus, talent",
    ),
    (
        "UPDATE subscription_apps SET app = 'jira-alien' WHERE subscription = 'SUB-1004'",
        "subscription_apps.app holds 'jira-alien', not one of jira-align, focus, talent",
    ),
    (
        "UPDATE sites SET jira = 'platinum' WHERE name = 'acme'",
        "sites.jira holds 'platinum', not one of free, standard, premium, enterprise, NULL",
    ),
    ("UPDATE sites SET sandbox = 2 WHERE name = 'acme'", "sites.sandbox holds 2, not one of 0, 1"),
    (
        "UPDATE subscriptions SET migration = 'yes' WHERE id = 'SUB-1001'",
        "subscriptions.migration holds 'yes', not one of 0, 1",
    ),
    (
        "UPDATE billing_accounts SET managed_by = 'reseller' WHERE id = 'AC-1111-2222-3333'",
        "billing_accounts.managed_by holds 'reseller', not one of direct, partner",
    ),
    (
        "UPDATE org_users SET role = 'owner' WHERE email = 'dana@acme.example' AND org = 'acme-corp'",
        "org_users.role holds 'owner', not one of admin, member",
    ),
]


@pytest.mark.parametrize(("damage", "reason"), ENUMERATED, ids=[why.split()[0] for _, why in ENUMERATED])
def test_a_value_no_console_writes_is_damage_to_every_reader(
    run_cli: RunCli, tmp_path: Path, damage: str, reason: str
) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    assert run_cli("sandbox", "init").returncode == 0
    database = tmp_path / ".reconciler" / "sandbox.db"
    db = sqlite3.connect(database)
    with db:
        db.execute("PRAGMA ignore_check_constraints = ON")
        db.execute(damage)
    db.close()
    before = database.read_bytes()
    readers = [*COMMANDS, ["sandbox", "show", "--format", "json"], ["import", "--out", "imported"]]
    for command in readers:
        result = run_cli(*command)
        assert (command, result.returncode, result.stdout, result.stderr) == (
            command,
            1,
            "",
            f"error: .reconciler/sandbox.db is damaged or not a sandbox console database: {reason}\n" + HINT,
        )
    assert not (tmp_path / "imported").exists()
    assert database.read_bytes() == before
