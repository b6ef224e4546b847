"""A value of megabytes from a pull request or a console is shown by its start and its length.

Text, Markdown and GitHub outputs show at most 200 characters of one value, then how many more
it has, and so do apply's progress, `history` and `locks`; the JSON outputs and the journal are
for programs and keep every value whole.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.store import open_store
from reconciler.store.identity import host_name
from tests.conftest import REPO_ROOT, RunCli
from tests.helpers import clean_env

LONG_NAME = "a" * 2_000_000
LONG_ID = "SUB-" + "9" * 200_000


def _estate(tmp_path: Path, old: str, new: str, file: str) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    path = tmp_path / "desired-state" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_site_name_of_two_megabytes_is_one_short_diagnostic(run_cli: RunCli, tmp_path: Path) -> None:
    _estate(tmp_path, "name: acme-align ", f"name: {LONG_NAME} ", "sites.yaml")
    # The quote that opens the value is one of the 200 characters shown.
    shown = "'" + "a" * 199 + "… (1,999,802 more characters)"
    message = f"site name {shown} is 2000000 characters long: at most 63 are allowed"
    text = run_cli("validate")
    assert (text.returncode, text.stdout) == (
        1,
        f"desired-state/sites.yaml:8:11: error[site-name]: {message}\n"
        "  hint: pick a shorter name\n"
        "1 error in 1 file\n",
    )
    github = run_cli("validate", "--format", "github")
    assert (github.returncode, github.stdout) == (
        1,
        f"::error file=desired-state/sites.yaml,line=8,col=11::[site-name] {message}"
        "%0Ahint: pick a shorter name\n1 error in 1 file\n",
    )
    machine = run_cli("validate", "--format", "json")
    [diagnostic] = json.loads(machine.stdout)["diagnostics"]
    assert (
        diagnostic["message"] == f"site name '{LONG_NAME}' is 2000000 characters long: at most 63 are allowed"
    )


def test_a_subscription_id_of_200000_characters_is_one_short_diagnostic(
    run_cli: RunCli, tmp_path: Path
) -> None:
    # An id has at most 128 characters: validate and plan refuse a longer one alike, before any console.
    _estate(tmp_path, "id: SUB-1001 ", f"id: {LONG_ID} ", "acme-corp.yaml")
    shown = "'" + LONG_ID[:199] + "… (199,806 more characters)"
    message = f"id {shown} is 200004 characters long: at most 128 are allowed"
    expected = (
        f"desired-state/acme-corp.yaml:4:9: error[id]: {message}\n"
        "  hint: write the id as the console shows it, e.g. SUB-1001\n"
        "1 error in 1 file\n"
    )
    validated = run_cli("validate")
    assert (validated.returncode, validated.stdout) == (1, expected)
    plan = run_cli("plan")
    assert (plan.returncode, plan.stdout) == (1, "")
    assert plan.stderr == (
        expected + "error: desired state is invalid: 1 error in 1 file\n"
        "hint: fix the files; `reconciler validate` checks them without contacting the console\n"
    )
    machine = run_cli("validate", "--format", "json")
    [diagnostic] = json.loads(machine.stdout)["diagnostics"]
    assert diagnostic["message"] == f"id '{LONG_ID}' is 200004 characters long: at most 128 are allowed"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("x" * 200, "x" * 200),
        ("x" * 201, "x" * 200 + "… (1 more characters)"),
        ("site " + "b" * 1_000 + " of org", "site " + "b" * 200 + "… (800 more characters) of org"),
        ("a b " * 1_000, ("a b " * 1_000)[:2_000] + "… (2,000 more characters)"),
        ("x" * 200 + "… (1 more characters) y", "x" * 200 + "… (1 more characters) y"),
        ("x" * 200 + "…" + "y" * 9, "x" * 200 + "… (10 more characters)"),
    ],
    ids=["200", "201", "inside", "spaced", "clipped-already", "ellipsis-inside"],
)
def test_clipped_keeps_200_characters_of_a_value(text: str, shown: str) -> None:
    from reconciler.terminal import clipped

    assert clipped(text) == shown


def _shown(value: str) -> str:
    return f"{value[:200]}… ({len(value) - 200:,} more characters)"


def test_apply_and_history_show_values_of_10000_characters_by_their_start(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """apply's progress lines and `history` clip as the plan does; the journal keeps every value whole.

    An id has at most 128 characters and a commit id 64 (longer ones are refused or not journaled),
    so those are shown whole; the actor carries the long value."""
    sub, actor, commit = "SUB-" + "9" * 124, "a" * 10_000 + "@acme.example", "c" * 64
    seed = {
        "now": "2026-11-21",
        "users": [{"email": actor}],
        "billing_accounts": [{"id": "AC-1", "billing_admins": [actor]}],
        "organizations": [{"id": "acme-corp", "admins": [actor]}],
        "sites": [{"name": "acme", "org": "acme-corp", "products": {"jira": "premium"}}],
        "subscriptions": [
            {
                "id": sub,
                "billing_account": "AC-1",
                "product": "focus",
                "status": "active",
                "start_date": "2026-10-01",
                "term_end": "2027-09-30",
                "apps": {"focus": None},
            }
        ],
    }
    (tmp_path / "console.yaml").write_text(json.dumps(seed), encoding="utf-8")
    assert run_cli("sandbox", "init", "--from", "console.yaml").returncode == 0
    (tmp_path / "desired-state").mkdir()
    (tmp_path / "desired-state" / "focus.yaml").write_text(
        f"version: 1\nsubscriptions:\n  - id: {sub}\n    apps:\n      focus: {{site: acme}}\n",
        encoding="utf-8",
    )
    env = {"RECONCILER_SANDBOX_DELAY": "0", "GITHUB_SHA": commit}
    applied = run_cli("apply", "--auto-approve", env=env)
    assert applied.returncode == 0, applied.stderr
    assert re.sub(r"\(\d+\.\ds\)", "(N.Ns)", applied.stderr) == (
        f"[1/1] provision {sub} focus -> acme: succeeded (N.Ns)\n"
    )

    listed = run_cli("history")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert row.split("  ")[2:4] == [_shown(actor), "cccccccccccc"]
    assert header.index("COMMIT") == row.index("cccccccccccc")

    run_id = row.split()[0]
    one = run_cli("history", "--run", run_id)
    assert one.returncode == 0, one.stderr
    lines = one.stdout.splitlines()
    assert lines[2].startswith(f"  actor     {_shown(actor)} (")
    assert lines[3] == f"  commit    {commit}"
    assert f"provision:{sub}:focus" in lines[-1]
    assert max(len(line) for line in lines) < 600
    store = open_store(f"sqlite:{tmp_path / '.reconciler' / 'state.db'}")
    try:
        assert store.runs(1)[0].commit == commit
    finally:
        store.close()


HOLD_A_LOCK = """
import sys
from reconciler.store import open_store
from reconciler.store.locking import acquire
acquire(open_store(sys.argv[1]), "sandbox-console", "r" * 10_000, timeout=5)
"""


def test_locks_show_a_holder_of_10000_characters_by_its_start(run_cli: RunCli, tmp_path: Path) -> None:
    user = "u" * 10_000
    env = clean_env(USER=user, LOGNAME=user, LNAME="", USERNAME="")
    state = "sqlite:.reconciler/state.db"
    subprocess.run([sys.executable, "-c", HOLD_A_LOCK, state], cwd=tmp_path, env=env, check=True, timeout=60)
    store = open_store(state.replace(".reconciler", str(tmp_path / ".reconciler")))
    try:
        (lock,) = store.locks()
    finally:
        store.close()
    owner = f"{_shown(f'{user}@{host_name()}')} pid {lock.pid}"
    run = _shown("r" * 10_000)

    listed = run_cli("locks")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[:2] == [
        f"{lock.id}  sandbox-console  (dead, its process is gone: the next apply takes it over)",
        f"  held by    {owner}, run {run}",
    ]
    assert json.loads(run_cli("locks", "--format", "json").stdout)["locks"][0]["owner"] == lock.owner

    released = run_cli("unlock", lock.id)
    assert (released.returncode, released.stderr) == (0, "")
    assert released.stdout == f"Released lock {lock.id} on sandbox-console (held by {owner}, run {run}).\n"
