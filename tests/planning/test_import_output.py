"""What `import` writes always validates.

A console can hold what desired state cannot declare (a seed is checked, a real console is not):
the sandbox database is edited here the way such a console would hold it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import RunCli

_SITE_RULE = (
    "not a site name desired state can declare (2 to 63 lowercase letters, digits and hyphens, "
    "starting and ending with a letter or digit)"
)


def _undeclarable_console(tmp_path: Path, run_cli: RunCli) -> None:
    """The example console, holding a site name, an id, a product and an account the schema refuses."""
    assert run_cli("sandbox", "init").returncode == 0
    db = sqlite3.connect(tmp_path / ".reconciler" / "sandbox.db")
    with db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("UPDATE sites SET name = 'Labs_Old' WHERE name = 'labs'")
        db.execute("UPDATE subscription_apps SET site = 'Labs_Old' WHERE site = 'labs'")
        db.execute("INSERT INTO sites VALUES ('x', 'acme-corp', NULL, 0)")
        for sub_id, account, product in (("", "AC-1111-2222-3333", "focus"), ("SUB-77", "", "focus-pro")):
            db.execute(
                "INSERT INTO subscriptions VALUES (?, ?, ?, 'active', '2026-01-01', '2027-01-01', 0, NULL)",
                (sub_id, account, product),
            )
            db.execute("INSERT INTO subscription_apps VALUES (?, 'focus', 'acme')", (sub_id,))
    db.close()


def test_what_desired_state_cannot_declare_is_left_out_and_named(run_cli: RunCli, tmp_path: Path) -> None:
    _undeclarable_console(tmp_path, run_cli)
    done = run_cli("import", "--out", "imp")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Wrote imp/sites.yaml: 4 sites",
        "Wrote imp/account.yaml: 1 subscription",
        "Wrote imp/AC-1111-2222-3333.yaml: 2 subscriptions",
        "Wrote imp/AC-4444-5555-6666.yaml: 2 subscriptions",
        "Imported 4 sites and 5 subscriptions from sandbox:.reconciler/sandbox.db. "
        "`reconciler plan imp` should now show no changes.",
    ]
    assert done.stderr.splitlines() == [
        "warning: import left out 7 entries that desired state cannot declare, so reconciler does not "
        "manage them (to manage one, correct it in the console and import again):",
        f"  imp/sites.yaml: site Labs_Old: its name is {_SITE_RULE}",
        f"  imp/sites.yaml: site x: its name is {_SITE_RULE}",
        "  imp/account.yaml: the billing_account of SUB-77: the console gives it none",
        "  imp/account.yaml: the product of SUB-77: focus-pro is not one of strategy-collection, "
        "jira-align, focus, talent",
        "  imp/account.yaml: app focus of SUB-77 on acme: product focus-pro has no such app",
        "  imp/AC-1111-2222-3333.yaml: a subscription with no id (focus, billing account AC-1111-2222-3333)",
        f"  imp/AC-4444-5555-6666.yaml: app focus of SUB-1002 on Labs_Old: the site's name is {_SITE_RULE}",
    ]
    account = (tmp_path / "imp" / "account.yaml").read_text(encoding="utf-8").splitlines()
    assert account[3:] == [
        "version: 1",
        "subscriptions:",
        "  - id: SUB-77",
        "    # Left out: the billing_account of SUB-77: the console gives it none",
        "    # Left out: the product of SUB-77: focus-pro is not one of strategy-collection, jira-align, "
        "focus, talent",
        "    # Left out: app focus of SUB-77 on acme: product focus-pro has no such app",
    ]
    validated = run_cli("validate", "imp")
    assert (validated.returncode, validated.stdout) == (0, "imp: 4 files, 4 sites, 5 subscriptions, valid\n")
    plan = run_cli("plan", "imp", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout
    assert plan.stdout.endswith("No changes. The console matches desired state (1 deferred, 1 unmanaged).\n")
