"""The closing summary and the verification that decides the exit code, on built values."""

from __future__ import annotations

from reconciler.applying.executor import ExecutionReport
from reconciler.applying.outcomes import ChangeOutcome, ChangeResult
from reconciler.applying.summary import interrupted_message, render_summary
from reconciler.applying.verify import verify
from reconciler.model import Action, Change, Plan


def provision(app: str, site: str = "acme", *depends_on: str) -> Change:
    return Change(
        f"provision:SUB-1:{app}", Action.PROVISION, "SUB-1", app, site, "acme-corp", depends_on, "why", None
    )


def plan_of(*changes: Change) -> Plan:
    return Plan(changes, (), (), (), (), "sha256:d", "sha256:o")


SITE = Change("create-site:new", Action.CREATE_SITE, None, None, "new", "acme-corp", (), "why", None)
FOCUS, TALENT = provision("focus"), provision("talent", "new", "create-site:new")


def test_a_change_reported_done_but_planned_again_did_not_converge() -> None:
    report = ExecutionReport((ChangeResult(FOCUS, ChangeOutcome.SUCCEEDED, 1, 0.4),), 0.5, stopped=False)
    verification = verify(report, plan_of(FOCUS, provision("jira-align")))
    assert not verification.converged
    assert verification.not_converged == (FOCUS,)
    assert [c.id for c in verification.new_changes] == ["provision:SUB-1:jira-align"]
    assert render_summary(report, verification, "RUN") == (
        "Applied 1 change in 0.5s: 1 succeeded.\n"
        "Not converged (the console reported success, yet re-planning still plans them):\n"
        "  provision SUB-1 focus -> acme\n"
        "Planned now but not part of this plan (the console or the files changed meanwhile):\n"
        "  provision SUB-1 jira-align -> acme\n"
        "Run RUN: 'reconciler history --run RUN' shows every attempt.\n"
    )


def test_failures_and_skips_are_listed_with_their_errors() -> None:
    report = ExecutionReport(
        (
            ChangeResult(SITE, ChangeOutcome.FAILED, 5, 2.0, "unavailable", "HTTP 503"),
            ChangeResult(
                TALENT, ChangeOutcome.SKIPPED, 0, 0.0, "dependency-failed", "create-site:new did not succeed"
            ),
            ChangeResult(FOCUS, ChangeOutcome.SUCCEEDED, 1, 0.3),
        ),
        2.1,
        stopped=False,
    )
    verification = verify(report, plan_of(SITE, TALENT))
    assert verification.converged  # nothing that succeeded is planned again; the failures are reported above
    assert render_summary(report, verification, "RUN") == (
        "Applied 3 changes in 2.1s: 1 succeeded, 1 failed, 1 skipped.\n"
        "Did not succeed:\n"
        "  create-site new (acme-corp): failed: [unavailable] HTTP 503\n"
        "  provision SUB-1 talent -> new: skipped: [dependency-failed] create-site:new did not succeed\n"
        "Run RUN: 'reconciler history --run RUN' shows every attempt.\n"
    )


def test_an_interrupted_run_counts_what_it_left() -> None:
    report = ExecutionReport(
        (
            ChangeResult(SITE, ChangeOutcome.INTERRUPTED, 1, 1.0),
            ChangeResult(TALENT, ChangeOutcome.NOT_STARTED, 0, 0.0),
            ChangeResult(FOCUS, ChangeOutcome.SUCCEEDED, 1, 0.3),
        ),
        1.2,
        stopped=True,
    )
    assert interrupted_message(report, "SIGINT") == (
        "interrupted by SIGINT: 1 succeeded, 1 interrupted, 1 not started; "
        "in-flight changes are recorded in the journal and the lock is released"
    )
