"""The closing summary and the verification that decides the exit code, on built values."""

from __future__ import annotations

import io

from reconciler.applying.executor import ExecutionReport
from reconciler.applying.outcomes import ChangeOutcome, ChangeResult
from reconciler.applying.progress import PlainProgress
from reconciler.applying.summary import interrupted_message, render_summary
from reconciler.applying.verify import verify
from reconciler.commands.apply import _outcome
from reconciler.model import Action, Change, Plan
from reconciler.store import RunOutcome


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
        "Applied 1 of 3 changes in 2.1s: 1 succeeded, 1 failed, 1 skipped.\n"
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
    assert render_summary(report, None, "RUN").splitlines()[0] == (
        "Applied 1 of 3 changes in 1.2s: 1 succeeded, 1 interrupted, 1 not started."
    )


def test_a_run_that_applied_nothing_never_says_it_applied_them() -> None:
    report = ExecutionReport(
        (
            ChangeResult(SITE, ChangeOutcome.INTERRUPTED, 1, 1.0),
            ChangeResult(TALENT, ChangeOutcome.NOT_STARTED, 0, 0.0),
            ChangeResult(FOCUS, ChangeOutcome.NOT_STARTED, 0, 0.0),
        ),
        2.0,
        stopped=True,
    )
    assert render_summary(report, None, "RUN").splitlines()[0] == (
        "Applied 0 of 3 changes in 2.0s: 1 interrupted, 2 not started."
    )


def test_the_run_outcome_of_one_failed_change_counts_it_in_the_singular() -> None:
    report = ExecutionReport((ChangeResult(SITE, ChangeOutcome.FAILED, 1, 1.0, "boom", "no"),), 1.0, False)
    assert _outcome(report, verify(report, plan_of(SITE))) == (
        RunOutcome.FAILED,
        "1 of 1 change did not succeed",
    )


HOSTILE = Change(
    "provision:SUB-1\x1b[2J:focus",
    Action.PROVISION,
    "SUB-1\x1b[2J",
    "focus",
    "acme\u202e",
    "acme-corp",
    (),
    "why",
    None,
)


def test_names_and_console_errors_never_reach_the_terminal_raw() -> None:
    failed = ChangeResult(
        HOSTILE,
        ChangeOutcome.FAILED,
        1,
        0.25,
        error_code="site-name\x1b",
        error_message="refused\r\x1b[32mok\x07",
    )
    report = ExecutionReport((failed,), 0.5, stopped=False)
    assert render_summary(report, None, "RUN") == (
        "Applied 0 of 1 change in 0.5s: 1 failed.\n"
        "Did not succeed:\n"
        "  provision SUB-1\\x1b[2J focus -> acme\\u202e: failed: "
        "[site-name\\x1b] refused\\r\\x1b[32mok\\x07\n"
        "Run RUN: 'reconciler history --run RUN' shows every attempt.\n"
    )


def test_progress_lines_show_escapes_instead_of_acting_on_them() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream)
    progress.begin(1)
    progress.change_pending(HOSTILE, "op-1\x1b]0;t\x07")
    progress.change_retrying(HOSTILE, 1, "reset\u2028by peer", 0.5)
    progress.change_finished(
        ChangeResult(HOSTILE, ChangeOutcome.FAILED, 2, 1.0, error_code="x", error_message="no\x85way")
    )
    assert stream.getvalue() == (
        "      provision SUB-1\\x1b[2J focus -> acme\\u202e: pending (operation op-1\\x1b]0;t\\x07), "
        "waiting for the console\n"
        "      provision SUB-1\\x1b[2J focus -> acme\\u202e: try 1 failed: reset\\u2028by peer; "
        "retrying in 0.5s\n"
        "[1/1] provision SUB-1\\x1b[2J focus -> acme\\u202e: failed (1.0s): [x] no\\x85way\n"
    )
