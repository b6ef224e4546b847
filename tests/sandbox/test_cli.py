"""`reconciler sandbox init | show | advance`, run as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxConsole
from tests.conftest import RunCli
from tests.helpers import assert_golden
from tests.sandbox.consoles import ALICE

GOLDEN = Path(__file__).resolve().parent / "golden"
FIRST_USE = (
    "Created the sandbox console .reconciler/sandbox.db from the built-in example "
    "(use 'reconciler sandbox init --from FILE' for your own).\n"
)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def test_first_use_creates_the_example_console_and_says_so_in_one_line(
    run_cli: RunCli, tmp_path: Path, update_golden: bool
) -> None:
    result = ok(run_cli("sandbox", "show"))
    assert result.stderr == FIRST_USE
    assert (tmp_path / ".reconciler" / "sandbox.db").is_file()
    assert_golden(GOLDEN / "show" / "example" / "expected.txt", result.stdout, update_golden)
    again = ok(run_cli("sandbox", "show"))
    assert (again.stderr, again.stdout) == ("", result.stdout)


def test_show_json_is_the_whole_state_without_tokens(run_cli: RunCli, update_golden: bool) -> None:
    result = ok(run_cli("sandbox", "show", "--format", "json"))
    assert "token" not in result.stdout
    state = json.loads(result.stdout)
    assert [sub["id"] for sub in state["subscriptions"]] == ["SUB-1001", "SUB-1002", "SUB-1003", "SUB-1004"]
    assert_golden(GOLDEN / "show" / "example" / "expected.json", result.stdout, update_golden)


def test_init_from_a_seed_then_show_every_tab(run_cli: RunCli, tmp_path: Path, update_golden: bool) -> None:
    case = GOLDEN / "show" / "every-tab"
    shutil.copy(case / "console.yaml", tmp_path / "console.yaml")
    init = ok(run_cli("sandbox", "init", "--from", "console.yaml"))
    assert init.stdout == (
        "Created the sandbox console .reconciler/sandbox.db from console.yaml: "
        "6 subscriptions, 4 sites, 3 organizations, 2 users.\n"
        "Clock: 2026-11-21. Default actor: alice@acme.example.\n"
    )
    # Work in progress, left pending by the seed's hour-long provisioning delay.
    with SandboxConsole(tmp_path / ".reconciler" / "sandbox.db") as console:
        console.provision(ALICE, "SUB-2001", "focus", "labs", "provision-focus")
        console.create_site(ALICE, "labs-org", "labs-align", "create-labs-align")
    shown = ok(run_cli("sandbox", "show"))
    assert max(len(line) for line in shown.stdout.splitlines()) <= 100
    assert_golden(case / "expected.txt", shown.stdout, update_golden)


def test_init_replaces_the_console(run_cli: RunCli, tmp_path: Path) -> None:
    ok(run_cli("sandbox", "init"))
    with SandboxConsole(tmp_path / ".reconciler" / "sandbox.db") as console:
        console.cancel(ALICE, "SUB-1001", "cancel")
    replaced = ok(run_cli("sandbox", "init"))
    assert replaced.stdout.startswith(
        "Replaced the sandbox console .reconciler/sandbox.db from the built-in example: "
    )
    with SandboxConsole(tmp_path / ".reconciler" / "sandbox.db") as console:
        assert console.observe(None).subscriptions["SUB-1001"].status == "active"
        assert console.write_count() == 0


def test_advance_prints_what_changed(run_cli: RunCli) -> None:
    ok(run_cli("sandbox", "init"))
    before = ok(run_cli("sandbox", "advance", "--days", "23"))
    assert before.stdout == "Sandbox clock: 2026-11-21 -> 2026-12-14 (+23 days)\n  No subscription changed.\n"
    on_the_day = ok(run_cli("sandbox", "advance", "--days", "1"))
    assert on_the_day.stdout == (
        "Sandbox clock: 2026-12-14 -> 2026-12-15 (+1 day)\n"
        "  2026-12-15  SUB-1003  upcoming -> active (its start date)\n"
    )


def test_a_custom_database_path(run_cli: RunCli, tmp_path: Path) -> None:
    result = ok(run_cli("--provider", "sandbox:estate/rehearsal.db", "sandbox", "init"))
    assert result.stdout.startswith(
        "Created the sandbox console estate/rehearsal.db from the built-in example"
    )
    env = {"RECONCILER_PROVIDER": "sandbox:estate/rehearsal.db"}
    shown = ok(run_cli("sandbox", "show", env=env))
    assert shown.stdout.startswith("Sandbox console sandbox:estate/rehearsal.db\n")
    assert not (tmp_path / ".reconciler" / "sandbox.db").exists()


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ["--provider", "http://127.0.0.1:8080", "sandbox", "show"],
            "error: 'reconciler sandbox' works on a sandbox database, and the provider is http://127.0.0.1:8080\n"
            "hint: pass --provider sandbox:PATH (or set RECONCILER_PROVIDER), "
            "e.g. sandbox:.reconciler/sandbox.db\n",
        ),
        (
            ["--provider", "sandbox:", "sandbox", "show"],
            "error: provider 'sandbox:' names no database file\n"
            "hint: use sandbox:PATH, e.g. sandbox:.reconciler/sandbox.db\n",
        ),
        (
            ["--provider", "sandbox:notes.txt", "sandbox", "show"],
            "error: notes.txt is damaged or not a sandbox console database\n"
            "hint: create one with 'reconciler sandbox init [--from FILE]', "
            "or point --provider at another file\n",
        ),
        (
            ["sandbox", "init", "--from", "missing.yaml"],
            "error: cannot read missing.yaml: No such file or directory\n"
            "hint: check that the file exists and is readable\n",
        ),
        (
            ["--provider", "sandbox:notes.txt/sandbox.db", "sandbox", "init"],
            "error: the sandbox console notes.txt/sandbox.db cannot be written: "
            "notes.txt is not a directory\n"
            "hint: pick another file with --provider sandbox:PATH\n",
        ),
    ],
    ids=["http-provider", "no-path", "not-a-sandbox", "missing-seed", "cannot-create"],
)
def test_user_errors_are_one_message_and_a_hint(
    run_cli: RunCli, tmp_path: Path, args: list[str], stderr: str
) -> None:
    (tmp_path / "notes.txt").write_text("shopping list\n" * 100, encoding="utf-8")
    result = run_cli(*args)
    assert (result.returncode, result.stderr, result.stdout) == (1, stderr, "")


@pytest.mark.parametrize("case", sorted(p.name for p in (GOLDEN / "seed-errors").iterdir()))
def test_seed_errors_are_all_reported_with_their_location(
    run_cli: RunCli, tmp_path: Path, update_golden: bool, case: str
) -> None:
    shutil.copy(GOLDEN / "seed-errors" / case / "console.yaml", tmp_path / "console.yaml")
    result = run_cli("sandbox", "init", "--from", "console.yaml")
    assert (result.returncode, result.stdout) == (1, "")
    assert not (tmp_path / ".reconciler" / "sandbox.db").exists()
    assert_golden(GOLDEN / "seed-errors" / case / "expected.txt", result.stderr, update_golden)


def test_a_failed_init_leaves_nothing_behind(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "taken.db").mkdir()
    result = run_cli("--provider", "sandbox:taken.db", "sandbox", "init")
    assert result.returncode == 1
    assert result.stderr == (
        "error: cannot create the sandbox console taken.db: Is a directory\n"
        "hint: check that its directory is writable, or pick another file with --provider sandbox:PATH\n"
    )
    # Only what any init leaves: the target and the lock that serialises creation.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.db", "taken.db.lock"]


def test_a_database_without_a_write_generation_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    # Its reads could never be told apart from stale ones, so it is not treated as a sandbox.
    ok(run_cli("sandbox", "init"))
    db = sqlite3.connect(tmp_path / ".reconciler" / "sandbox.db")
    with db:
        db.execute("DELETE FROM meta WHERE key = 'generation'")
    db.close()
    result = run_cli("sandbox", "show")
    assert result.returncode == 1
    assert result.stderr == (
        "error: .reconciler/sandbox.db is damaged or not a sandbox console database\n"
        "hint: create one with 'reconciler sandbox init [--from FILE]', or point --provider at another file\n"
    )


def test_a_database_of_an_earlier_layout_is_refused_with_the_way_out(run_cli: RunCli, tmp_path: Path) -> None:
    ok(run_cli("sandbox", "init"))
    db = sqlite3.connect(tmp_path / ".reconciler" / "sandbox.db")
    with db:
        db.execute("UPDATE meta SET value = 'reconciler-sandbox/1' WHERE key = 'format'")
    db.close()
    result = run_cli("sandbox", "show")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: .reconciler/sandbox.db is a sandbox console of another layout "
        "(reconciler-sandbox/1; this reconciler reads reconciler-sandbox/3)\n"
        "hint: re-create it with 'reconciler sandbox init [--from FILE]'\n"
    )
    ok(run_cli("sandbox", "init"))
    ok(run_cli("sandbox", "show"))


SPEC_SEED = """\
now: 2026-11-21
users:
  - email: alice@acme.example
    token: sandbox-token-alice
billing_accounts:
  - id: AC-1111-2222-3333
    managed_by: partner
    partner: globex-partners
    billing_admins: [partner@globex.example]
organizations:
  - id: acme-corp
    name: ACME Corp
    admins: [alice@acme.example]
    members: [partner@globex.example]
sites:
  - name: acme
    org: acme-corp
    products: {jira: premium}
subscriptions:
  - id: SUB-1001
    billing_account: AC-1111-2222-3333
    product: strategy-collection
    status: active
    start_date: 2026-10-01
    term_end: 2027-09-30
    apps: {jira-align: null, focus: null, talent: null}
  - id: SUB-1002
    billing_account: AC-1111-2222-3333
    product: focus
    start_date: 2026-11-22
    apps: {focus: null}
retired_site_names: [old-acme]
"""


def test_a_user_named_only_as_admin_or_member_is_a_user(run_cli: RunCli, tmp_path: Path) -> None:
    # A user is an email; `users:` is only needed for a token (the seed of the specification).
    (tmp_path / "console.yaml").write_text(SPEC_SEED)
    created = ok(run_cli("sandbox", "init", "--from", "console.yaml"))
    assert created.stdout == (
        "Created the sandbox console .reconciler/sandbox.db from console.yaml: "
        "2 subscriptions, 1 site, 1 organization, 2 users.\n"
        "Clock: 2026-11-21. Default actor: alice@acme.example.\n"
    )
    shown = json.loads(ok(run_cli("sandbox", "show", "--format", "json")).stdout)
    assert [user["email"] for user in shown["users"]] == ["alice@acme.example", "partner@globex.example"]


def test_without_a_status_a_subscription_that_starts_later_is_upcoming(
    run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "console.yaml").write_text(SPEC_SEED)
    ok(run_cli("sandbox", "init", "--from", "console.yaml"))
    shown = ok(run_cli("sandbox", "show")).stdout
    assert "    SUB-1002  Focus   starts in 1 day (2026-11-22)\n" in shown
    advanced = ok(run_cli("sandbox", "advance", "--days", "1")).stdout
    assert advanced == (
        "Sandbox clock: 2026-11-21 -> 2026-11-22 (+1 day)\n"
        "  2026-11-22  SUB-1002  upcoming -> active (its start date)\n"
    )


def test_a_seed_needs_no_users_list(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "console.yaml").write_text(
        "now: 2026-11-21\n"
        "billing_accounts: [{id: AC-1, billing_admins: [alice@acme.example]}]\n"
        "organizations: [{id: acme, admins: [alice@acme.example]}]\n"
    )
    created = ok(run_cli("sandbox", "init", "--from", "console.yaml"))
    assert created.stdout.endswith("Clock: 2026-11-21. Default actor: alice@acme.example.\n")


def test_a_seed_error_in_one_item_does_not_make_up_errors_about_the_lists(
    run_cli: RunCli, tmp_path: Path
) -> None:
    # Only the failing items are explained in detail; the lists they were cut from are not at fault.
    (tmp_path / "console.yaml").write_text(
        "now: 2026-11-21\n"
        "users:\n  - email: alice@acme.example\n"
        "subscriptions:\n"
        "  - {id: S1, billing_account: AC-1, product: focus, status: weird}\n"
    )
    result = run_cli("sandbox", "init", "--from", "console.yaml")
    assert result.returncode == 1
    assert result.stderr == (
        "error: console.yaml is not a valid console seed:\n"
        "console.yaml:5:61: error[schema]: expected one of upcoming, active, cancelled, deactivated, "
        "deleted, got the string 'weird'\n"
        "hint: fix the seed and run 'reconciler sandbox init --from FILE' again\n"
    )
