"""After executing: re-plan, and hold every change that still shows up as not converged."""

from __future__ import annotations

import msgspec

from reconciler.applying.executor import ExecutionReport
from reconciler.applying.outcomes import ChangeOutcome
from reconciler.model import Change, Plan


class Verification(msgspec.Struct, frozen=True):
    #: reported succeeded by the console, yet planned again: the console does not show it done
    not_converged: tuple[Change, ...]
    #: planned now and not part of what was applied: the console or the files moved meanwhile
    new_changes: tuple[Change, ...]

    @property
    def converged(self) -> bool:
        return not self.not_converged


def verify(report: ExecutionReport, after: Plan) -> Verification:
    applied = {r.change.id for r in report.results}
    succeeded = {r.change.id for r in report.results if r.outcome is ChangeOutcome.SUCCEEDED}
    return Verification(
        not_converged=tuple(c for c in after.changes if c.id in succeeded),
        new_changes=tuple(c for c in after.changes if c.id not in applied),
    )
