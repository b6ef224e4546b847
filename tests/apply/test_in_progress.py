"""Work the console has in progress: shown by plan, waited for by apply, never asked for twice."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from reconciler.store import AttemptOutcome
from tests.apply.conftest import Estate, normalise, wait_for
from tests.helpers import assert_golden

GOLDEN = Path(__file__).parent / "golden" / "in-progress"
ALICE = "alice@acme.example"


def mask(text: str) -> str:
    """Operation ids and the time the console accepted them change from run to run."""
    text = re.sub(r"op-[0-9a-f]{32}", "op-" + "0" * 32, text)
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "YYYY-MM-DDTHH:MM:SSZ", text)


def start_by_hand(estate: Estate, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """What a crashed apply leaves behind: the site and focus requested, neither finished yet."""
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", str(seconds))
    console = estate.console()
    console.create_site(ALICE, "acme-corp", "acme-align", "earlier-site")
    console.provision(ALICE, "SUB-1001", "focus", "acme", "earlier-focus")
    console.close()


def test_plan_shows_work_in_progress_and_plans_only_the_rest(
    estate: Estate, monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    start_by_hand(estate, monkeypatch, 600)
    for fmt, name in (("text", "plan.txt"), ("markdown", "plan.md"), ("json", "plan.json")):
        planned = estate.cli("plan", "--format", fmt)
        assert planned.returncode == 0, planned.stderr
        assert_golden(GOLDEN / name, mask(planned.stdout), update_golden)

    data = json.loads(estate.cli("plan", "--format", "json").stdout)
    assert [c["id"] for c in data["changes"]] == [
        "provision:SUB-1001:talent",
        "provision:SUB-1001:jira-align",
    ]
    # jira-align still waits for its site: apply waits for the creation under way, then provisions.
    assert data["changes"][1]["depends_on"] == ["create-site:acme-align"]
    assert [(w["action"], w["site"], w["subscription"]) for w in data["in_progress"]] == [
        ("create-site", "acme-align", None),
        ("provision", "acme", "SUB-1001"),
    ]


def finish_now(estate: Estate) -> None:
    """The console is done with what it had in progress (its operations come due at once)."""
    with sqlite3.connect(estate.root / ".reconciler" / "sandbox.db") as db:
        db.execute("UPDATE operations SET due = 0 WHERE status = 'pending'")
    db.close()


def waiting_on(estate: Estate, change_id: str) -> bool:
    runs = estate.runs() if (estate.root / ".reconciler" / "state.db").exists() else []
    return bool(runs) and any(a.change_id == change_id for a in estate.attempts(runs[0].id))


def test_apply_waits_for_work_in_progress_instead_of_asking_again(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_by_hand(estate, monkeypatch, 600)
    applying = estate.start(
        "apply", "--auto-approve", "--parallelism", "1", env={"RECONCILER_OPERATION_TIMEOUT": "60"}
    )
    wait_for(lambda: waiting_on(estate, "create-site:acme-align"), what="apply to wait for the site")
    finish_now(estate)
    _, stderr = applying.communicate(timeout=60)
    assert applying.returncode == 0, stderr
    assert normalise(stderr) == (
        "waiting for 2 operations the console already has in progress "
        "(started earlier, not asked for again)\n"
        "      create-site acme-align (acme-corp): done on the console (N.Ns)\n"
        "      provision SUB-1001 focus -> acme: done on the console (N.Ns)\n"
        "[1/2] provision SUB-1001 talent -> acme: succeeded (N.Ns)\n"
        "[2/2] provision SUB-1001 jira-align -> acme-align: succeeded (N.Ns)\n"
    )
    assert estate.writes() == 4  # the two made by hand, and the two apply made
    assert estate.cli("plan", "--detailed-exitcode").returncode == 0
    (run,) = estate.runs()
    attempts = {a.change_id: a for a in estate.attempts(run.id)}
    waited = attempts["create-site:acme-align"]
    assert (waited.outcome, waited.idempotency_key, waited.error_message) == (
        AttemptOutcome.SUCCEEDED,
        "",
        f"waited for operation {waited.operation_id}, started earlier",
    )


def test_a_site_pending_at_plan_time_and_done_before_apply_is_not_created_again(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_by_hand(estate, monkeypatch, 600)
    assert estate.cli("plan", "--out", "plan.json").returncode == 0
    finish_now(estate)

    applied = estate.cli("apply", "--plan", "plan.json")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith("Desired state: desired-state\n")
    assert "site-name" not in applied.stderr
    assert estate.writes() == 4
    assert estate.cli("plan", "--detailed-exitcode").returncode == 0


def test_work_still_in_progress_is_not_a_change_for_detailed_exitcode(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only focus and talent of SUB-1001 on acme are declared, and the console is provisioning both.
    estate.write_desired(
        {
            "acme-corp.yaml": "version: 1\nsubscriptions:\n  - id: SUB-1001\n"
            "    apps:\n      focus: {site: acme}\n      talent: {site: acme}\n"
        }
    )
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", "600")
    console = estate.console()
    console.provision(ALICE, "SUB-1001", "focus", "acme", "earlier-focus")
    console.provision(ALICE, "SUB-1001", "talent", "acme", "earlier-talent")
    console.close()

    planned = estate.cli("plan", "--detailed-exitcode")
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines()[-1] == (
        "No changes. The console will match desired state once its work in progress is done "
        "(2 in progress, 3 unmanaged)."
    )
    assert [
        work["app"] for work in json.loads(estate.cli("plan", "--format", "json").stdout)["in_progress"]
    ] == [
        "focus",
        "talent",
    ]
