"""The closing words of an apply, on stdout: what happened, what did not, and where to read more."""

from __future__ import annotations

from reconciler.applying.executor import ExecutionReport
from reconciler.applying.outcomes import ChangeOutcome, describe
from reconciler.applying.verify import Verification
from reconciler.terminal import visible

_ORDER = (
    ChangeOutcome.SUCCEEDED,
    ChangeOutcome.FAILED,
    ChangeOutcome.SKIPPED,
    ChangeOutcome.INTERRUPTED,
    ChangeOutcome.NOT_STARTED,
)


def counts(report: ExecutionReport) -> str:
    return ", ".join(f"{report.count(o)} {o}" for o in _ORDER if report.count(o)) or "nothing done"


def headline(report: ExecutionReport) -> str:
    """`Applied 4 changes in 2.1s: 4 succeeded.`; when some did not, how many of them were applied."""
    total = len(report.results)
    succeeded = report.count(ChangeOutcome.SUCCEEDED)
    applied = f"{total}" if succeeded == total else f"{succeeded} of {total}"
    return f"Applied {applied} change{'' if total == 1 else 's'} in {report.seconds:.1f}s: {counts(report)}."


def render_summary(report: ExecutionReport, verification: Verification | None, run_id: str) -> str:
    lines = [headline(report)]
    unsuccessful = [r for r in report.results if r.outcome is not ChangeOutcome.SUCCEEDED]
    if unsuccessful:
        lines.append("Did not succeed:")
        lines += [
            f"  {describe(r.change)}: {r.outcome}" + (f": {r.error}" if r.error else "") for r in unsuccessful
        ]
    if verification is not None:
        if verification.not_converged:
            lines.append("Not converged (the console reported success, yet re-planning still plans them):")
            lines += [f"  {describe(c)}" for c in verification.not_converged]
        elif not unsuccessful:
            lines.append("Verified: re-planning finds every change done.")
        if verification.new_changes:
            lines.append(
                "Planned now but not part of this plan (the console or the files changed meanwhile):"
            )
            lines += [f"  {describe(c)}" for c in verification.new_changes]
    lines.append(f"Run {run_id}: 'reconciler history --run {run_id}' shows every attempt.")
    # Names from desired state, errors from the console: each line shown, never acted on.
    return "\n".join(visible(line) for line in lines) + "\n"


def interrupted_message(report: ExecutionReport, signal_name: str | None) -> str:
    cause = f"interrupted by {signal_name}" if signal_name else "interrupted"
    return (
        f"{cause}: {counts(report)}; in-flight changes are recorded in the journal and the lock is released"
    )
