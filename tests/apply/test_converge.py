"""Apply on the example estate: it converges, a second apply writes nothing, the journal tells the story."""

from __future__ import annotations

import json

from tests.apply.conftest import Estate, normalise

FOUR_CHANGES = (
    "Applied 4 changes in N.Ns: 4 succeeded.\n"
    "Verified: re-planning finds every change done.\n"
    "Run RUN: 'reconciler history --run RUN' shows every attempt.\n"
)


def test_a_saved_plan_applied_then_planned_again_has_no_changes(estate: Estate) -> None:
    planned = estate.cli("plan", "--out", "plan.json")
    assert planned.returncode == 0
    applied = estate.cli("apply", "--plan", "plan.json")
    assert applied.returncode == 0, applied.stderr
    # The log shows the very plan that was reviewed, then what happened.
    assert normalise(applied.stdout) == normalise(planned.stdout) + "\n" + FOUR_CHANGES
    assert estate.cli("plan", "--detailed-exitcode").returncode == 0
    assert estate.writes() == 4


def test_a_second_apply_makes_zero_writes(estate: Estate) -> None:
    assert estate.cli("apply", "--auto-approve").returncode == 0
    writes = estate.writes()
    again = estate.cli("apply", "--auto-approve")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "No changes: the console already matches desired state; nothing was applied.\n"
    assert estate.writes() == writes == 4
    first, second = reversed(estate.runs())
    assert (str(first.outcome), first.succeeded) == ("converged", 4)
    assert (str(second.outcome), second.message, estate.attempts(second.id)) == (
        "converged",
        "no changes",
        [],
    )


def test_progress_is_one_line_per_event_without_a_terminal(estate: Estate) -> None:
    applied = estate.cli("apply", "--auto-approve", "--parallelism", "1")
    assert applied.returncode == 0
    assert normalise(applied.stderr) == (
        "[1/4] create-site acme-align (acme-corp): succeeded (N.Ns)\n"
        "[2/4] provision SUB-1001 focus -> acme: succeeded (N.Ns)\n"
        "[3/4] provision SUB-1001 talent -> acme: succeeded (N.Ns)\n"
        "[4/4] provision SUB-1001 jira-align -> acme-align: succeeded (N.Ns)\n"
    )


def test_a_site_is_created_before_what_goes_on_it_and_the_rest_runs_alongside(estate: Estate) -> None:
    applied = estate.cli("apply", "--auto-approve", env={"RECONCILER_SANDBOX_DELAY": "0.3"})
    assert applied.returncode == 0, applied.stderr
    (run,) = estate.runs()
    attempts = {a.change_id: a for a in estate.attempts(run.id)}
    site = attempts["create-site:acme-align"]
    focus, talent = attempts["provision:SUB-1001:focus"], attempts["provision:SUB-1001:talent"]
    align = attempts["provision:SUB-1001:jira-align"]
    assert site.finished is not None and align.started >= site.finished
    # Independent changes overlap: focus and talent started before the site was done.
    assert focus.started < site.finished and talent.started < site.finished


def test_history_says_what_was_applied_when_by_whom_from_which_commit(estate: Estate) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert estate.cli("apply", "--auto-approve", env={"GITHUB_SHA": sha}).returncode == 0
    listed = estate.cli("history", "--format", "json")
    assert listed.returncode == 0
    (run,) = json.loads(listed.stdout)["runs"]
    assert (run["commit"], run["actor"], run["outcome"]) == (sha, "alice@acme.example", "converged")
    assert run["changes"] == {"succeeded": 4, "failed": 0, "skipped": 0, "interrupted": 0, "unfinished": 0}
    assert run["provider"] == "sandbox:.reconciler/sandbox.db"

    text = estate.cli("history").stdout.splitlines()
    assert text[0].split() == ["RUN", "STARTED", "ACTOR", "COMMIT", "OUTCOME", "CHANGES"]
    assert text[1].split()[2:] == ["alice@acme.example", sha[:12], "converged", "4", "ok"]

    detail = json.loads(estate.cli("history", "--run", run["id"], "--format", "json").stdout)
    assert sorted((a["change"], a["attempt"], a["outcome"]) for a in detail["attempts"]) == [
        ("create-site:acme-align", 1, "succeeded"),
        ("provision:SUB-1001:focus", 1, "succeeded"),
        ("provision:SUB-1001:jira-align", 1, "succeeded"),
        ("provision:SUB-1001:talent", 1, "succeeded"),
    ]
    assert len({a["idempotency_key"] for a in detail["attempts"]}) == 4


def test_history_of_an_unknown_run_fails(estate: Estate) -> None:
    result = estate.cli("history", "--run", "nope")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: no run with id 'nope'\nhint: 'reconciler history' lists the runs\n"


def test_history_and_locks_before_anything_was_recorded(estate: Estate) -> None:
    history = estate.cli("history")
    assert (history.returncode, history.stdout) == (
        0,
        "No runs recorded yet in sqlite:.reconciler/state.db.\n",
    )
    locks = estate.cli("locks")
    assert (locks.returncode, locks.stdout) == (0, "No locks held.\n")
    assert not (estate.root / ".reconciler" / "state.db").exists()


def test_the_same_change_made_again_in_a_later_run_takes_effect(estate: Estate) -> None:
    # Drift corrected twice: the second cancel must not be answered with the first one's operation.
    def declare(status: str) -> None:
        estate.write_desired(
            {"acme.yaml": f"version: 1\nsubscriptions:\n  - id: SUB-1001\n    status: {status}\n"}
        )

    for status, flags in [
        ("cancelled", ["--allow-cancel"]),
        ("active", []),
        ("cancelled", ["--allow-cancel"]),
    ]:
        declare(status)
        applied = estate.cli("apply", "--auto-approve", *flags)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        with estate.console() as console:
            assert console.observe(None).subscriptions["SUB-1001"].status == status
    assert estate.writes() == 3
