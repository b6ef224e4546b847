"""What `sandbox`, `locks` and `history` print never hands a terminal a control sequence to act on.

The values come from a seed, from the team's shared state store (a lock holder is named after
USER), or from the CI environment (GITHUB_SHA): all of them are shown through `printable`, the
way `plan` and error messages show them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reconciler.store import open_store
from reconciler.store.identity import host_name, user_name
from tests.conftest import RunCli
from tests.helpers import clean_env

EVIL = "evil\x1b[2J@acme.example"
SUB = "S\x1b[2J\x1b[H"
ACCOUNT = "AC-\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"
ORG = "org\x9b31m\u202e"
SEED = {
    "now": "2026-11-21",
    "users": [{"email": EVIL}],
    "billing_accounts": [
        {"id": ACCOUNT, "managed_by": "partner", "partner": "globex\r\x1b[1A", "billing_admins": [EVIL]}
    ],
    "organizations": [{"id": ORG, "name": "ACME\x07", "admins": [EVIL], "members": []}],
    "sites": [{"name": "acme", "org": ORG, "products": {"jira": "premium"}}],
    "subscriptions": [
        {
            "id": SUB,
            "billing_account": ACCOUNT,
            "product": "focus",
            "status": "active",
            "start_date": "2026-10-01",
            "term_end": "2026-11-30",
            "apps": {"focus": None},
        }
    ],
}
SHOWN_EVIL = "evil\\x1b[2J@acme.example"
SHOWN_SUB = "S\\x1b[2J\\x1b[H"
SHOWN_ACCOUNT = "AC-\\x1b]8;;https://evil.example\\x07click\\x1b]8;;\\x07"
SHOWN_ORG = "org\\x9b31m\\u202e"


def _init(run_cli: RunCli, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # JSON is YAML; json.dumps spells every control character as an escape YAML reads back.
    (tmp_path / "console.yaml").write_text(json.dumps(SEED), encoding="utf-8")
    return run_cli("sandbox", "init", "--from", "console.yaml")


def test_sandbox_init_show_and_advance_escape_what_the_seed_holds(run_cli: RunCli, tmp_path: Path) -> None:
    init = _init(run_cli, tmp_path)
    assert init.returncode == 0, init.stderr
    assert init.stdout == (
        "Created the sandbox console .reconciler/sandbox.db from console.yaml: "
        "1 subscription, 1 site, 1 organization, 1 user.\n"
        f"Clock: 2026-11-21. Default actor: {SHOWN_EVIL}.\n"
    )

    shown = run_cli("sandbox", "show")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (
        "Sandbox console sandbox:.reconciler/sandbox.db\n"
        f"Clock: 2026-11-21    Default actor: {SHOWN_EVIL}    Provisioning delay: 1 s\n"
        "\n"
        "Subscriptions\n"
        "  Active (1)\n"
        f"    {SHOWN_SUB}  Focus   renews on 2026-11-30\n"
        f"              {SHOWN_ACCOUNT}, managed by partner globex\\r\\x1b[1A\n"
        "              Focus        Site setup required\n"
        "\n"
        "Billing accounts\n"
        f"  {SHOWN_ACCOUNT}  managed by partner globex\\r\\x1b[1A; billing admins: {SHOWN_EVIL}\n"
        "\n"
        "Organizations\n"
        f"  {SHOWN_ORG}  ACME\\x07\n"
        f"    admins: {SHOWN_EVIL}\n"
        "    members: none\n"
        "    acme.atlassian.net   Jira Premium\n"
        "\n"
        f"Users: {SHOWN_EVIL} (default actor)\n"
        "Retired site names: none\n"
    )
    as_json = json.loads(run_cli("sandbox", "show", "--format", "json").stdout)
    assert as_json["subscriptions"][0]["id"] == SUB  # JSON is for programs: the value as it is

    advanced = run_cli("sandbox", "advance", "--days", "10")
    assert advanced.returncode == 0, advanced.stderr
    assert advanced.stdout == (
        "Sandbox clock: 2026-11-21 -> 2026-12-01 (+10 days)\n"
        f"  2026-11-30  {SHOWN_SUB}  renewed: the term now ends on 2027-11-30\n"
    )


HOLD_A_LOCK = """
import sys
from reconciler.store import open_store
from reconciler.store.locking import acquire
acquire(open_store(sys.argv[1]), "sandbox-console", "run\\x1b[2J", timeout=5)
"""


def test_locks_and_unlock_escape_a_holder_named_after_user(run_cli: RunCli, tmp_path: Path) -> None:
    # A runner whose USER holds a control sequence takes a lock and dies holding it.
    env = clean_env(USER="evil\x1b[2J", LOGNAME="evil\x1b[2J", LNAME="", USERNAME="")
    state = "sqlite:.reconciler/state.db"
    subprocess.run([sys.executable, "-c", HOLD_A_LOCK, state], cwd=tmp_path, env=env, check=True, timeout=60)
    store = open_store(state.replace(".reconciler", str(tmp_path / ".reconciler")))
    try:
        (lock,) = store.locks()
    finally:
        store.close()
    owner = f"evil\\x1b[2J@{host_name()} pid {lock.pid}"

    listed = run_cli("locks")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[:2] == [
        f"{lock.id}  sandbox-console  (dead, its process is gone: the next apply takes it over)",
        f"  held by    {owner}, run run\\x1b[2J",
    ]
    assert "\x1b" not in listed.stdout
    assert json.loads(run_cli("locks", "--format", "json").stdout)["locks"][0]["owner"] == lock.owner

    released = run_cli("unlock", lock.id)
    assert (released.returncode, released.stderr) == (0, "")
    assert (
        released.stdout == f"Released lock {lock.id} on sandbox-console (held by {owner}, run run\\x1b[2J).\n"
    )


def test_history_escapes_the_commit_the_actor_and_the_change(run_cli: RunCli, tmp_path: Path) -> None:
    assert _init(run_cli, tmp_path).returncode == 0
    desired = tmp_path / "desired\x1b[2J"  # a path on the command line, journaled, shown again later
    desired.mkdir()
    (desired / "focus.yaml").write_text(
        f"version: 1\nsubscriptions:\n  - id: {json.dumps(SUB)}\n    apps:\n      focus: {{site: acme}}\n",
        encoding="utf-8",
    )
    env = {"RECONCILER_SANDBOX_DELAY": "0", "GITHUB_SHA": "abc\x1b[2J"}
    applied = run_cli("apply", desired.name, "--auto-approve", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "\x1b" not in applied.stdout + applied.stderr

    listed = run_cli("history")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    # A commit variable that holds no commit id is never journaled: nothing of it can reach history.
    assert row.split("  ")[2:4] == [SHOWN_EVIL, "-"]
    assert row[header.index("COMMIT")] == "-"  # columns measured after escaping

    run_id = row.split()[0]
    one = run_cli("history", "--run", run_id)
    assert one.returncode == 0, one.stderr
    lines = one.stdout.splitlines()
    pid = lines[2].rpartition(" pid ")[2].rstrip(")")
    assert pid.isdigit()
    assert lines[2:6] == [
        f"  actor     {SHOWN_EVIL} ({user_name()}@{host_name()} pid {pid})",
        "  commit    -",
        "  provider  sandbox:.reconciler/sandbox.db",
        "  paths     desired\\x1b[2J",
    ]
    assert f"provision:{SHOWN_SUB}:focus" in lines[-1]
    assert "\x1b" not in one.stdout
