"""Apply by runbook: for a provider that cannot write, a person makes each change; apply verifies it.

On a terminal, each step (dependency order) is shown, then the console is observed again and again
until the step's changes are no longer planned: observed done. The journal records, per change,
when the step was shown, when it was observed done, and who confirmed it. Without a person (CI, a
pipe), the runbook is written to a file and to stdout and the run ends "waiting on a person"
(exit 3), never as a success: nothing was changed.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from reconciler.applying.outcomes import idempotency_key, subject
from reconciler.applying.progress import WaitingLine, waiting_line_for
from reconciler.bounds import Bounds, env_number
from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Console, DesiredState, Plan
from reconciler.overwrite import overwrite_problem
from reconciler.planning import plan_changes
from reconciler.providers.base import Provider
from reconciler.rendering.runbook import MARKER, Step, render_runbook, runbook_steps, step_text
from reconciler.store import AttemptOutcome, NewAttempt, RunOutcome, StateStore, format_time
from reconciler.terminal import is_tty, plural, visible
from reconciler.userpaths import check_creatable, check_path, shown

ENV_RUNBOOK = "RECONCILER_RUNBOOK"
ENV_STEP_TIMEOUT = "RECONCILER_STEP_TIMEOUT"
ENV_POLL_INTERVAL = "RECONCILER_POLL_INTERVAL"
DEFAULT_RUNBOOK = ".reconciler/runbook.md"
DEFAULT_STEP_TIMEOUT = 3600.0
DEFAULT_POLL_INTERVAL = 10.0
_WRITABLE_HINT = f"set {ENV_RUNBOOK} to a file in a directory you can write to"
_REFUSAL_HINT = (
    f"set {ENV_RUNBOOK} to another path: the runbook is written only to a new file, an empty one, "
    "or over a runbook written before"
)
_READ_HINT = (
    f"set {ENV_RUNBOOK} to a path outside the desired state and the billing facts "
    f"(the default is {DEFAULT_RUNBOOK})"
)
#: Every runbook reconciler writes begins with the marker line.
_RUNBOOK_START = re.compile(re.escape(MARKER.encode()) + rb"\r?\n")


def check_runbook_place(path: str, read: Sequence[tuple[str, str]]) -> None:
    """Refuse a runbook inside (or at) a path plan reads, `read` being (path, what it is read as).

    Refused even where no file is yet: a runbook at desired-state/new.yaml would
    be read as desired state by the next plan, and any file there is the estate's, not the runbook's.
    """
    target = _resolved(path)
    for given, read_as in read:
        folder = _resolved(given)
        if target == folder:
            why = f"plan reads it as {read_as}"
        elif target.is_relative_to(folder):
            why = f"it is in {shown(given)}, where plan reads the {read_as}"
        else:
            continue
        raise ReconcilerError(
            f"refusing to write the runbook ({ENV_RUNBOOK}) to {shown(path)}: {why}", hint=_READ_HINT
        )


def _resolved(path: str) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # a loop of links: check_runbook_target refuses a link
        return Path(path).absolute()


def check_runbook_target(path: str) -> None:
    """Refuse, naming the path and what it is, unless the runbook may replace what is there."""
    problem = overwrite_problem(Path(path), _RUNBOOK_START, "a runbook", "a runbook", f"the line {MARKER}")
    if problem is not None:
        raise ReconcilerError(
            f"refusing to write the runbook ({ENV_RUNBOOK}) to {shown(path)}: it is {problem}",
            hint=_REFUSAL_HINT,
        )


#: A week for a person to do one step; a poll at least once a day.
STEP_TIMEOUT_BOUNDS = Bounds("a number of seconds", 0, 604_800, "3600", above_low=True)
POLL_INTERVAL_BOUNDS = Bounds("a number of seconds", 0, 86_400, "10", above_low=True)


@dataclass(frozen=True)
class RunbookSettings:
    runbook_path: str
    step_timeout: float
    poll_interval: float

    @classmethod
    def from_env(cls, read: Sequence[tuple[str, str]] = ()) -> RunbookSettings:
        """The settings, the runbook's path checked: read before the plan is shown, so a path that
        could not be written is one error, not a plan and then an error. `read`: the paths plan
        reads YAML from, and as what (check_runbook_place)."""
        path = os.environ.get(ENV_RUNBOOK) or DEFAULT_RUNBOOK
        check_path(path, f"the runbook ({ENV_RUNBOOK})")
        check_runbook_place(path, read)
        check_runbook_target(path)
        check_creatable(path, f"the runbook ({ENV_RUNBOOK})", _WRITABLE_HINT)
        return cls(
            runbook_path=path,
            step_timeout=env_number(ENV_STEP_TIMEOUT, STEP_TIMEOUT_BOUNDS, DEFAULT_STEP_TIMEOUT),
            poll_interval=env_number(ENV_POLL_INTERVAL, POLL_INTERVAL_BOUNDS, DEFAULT_POLL_INTERVAL),
        )


def a_person_is_here() -> bool:
    """A person can follow the steps: stdin and stdout are a terminal."""
    return is_tty(sys.stdin) and is_tty(sys.stdout)


@dataclass
class RunbookApply:
    plan: Plan
    desired: DesiredState
    console: Console
    provider: Provider
    store: StateStore
    run_id: str
    stop: threading.Event
    #: who confirms the steps, for the journal: the acting user, else the account running apply
    confirmer: str
    settings: RunbookSettings
    out: TextIO = sys.stdout
    err: TextIO = sys.stderr
    interactive: Callable[[], bool] = a_person_is_here

    def run(self) -> tuple[RunOutcome, str]:
        steps = runbook_steps(self.plan, self.console)
        if not self.interactive():
            return self._leave_for_a_person(steps, done=0)
        for index, step in enumerate(steps):
            result = self._walk(step, len(steps))
            if result is not None:
                return (
                    result if result[0] is not RunOutcome.WAITING else self._leave_for_a_person(steps, index)
                )
        return self._verify(len(steps))

    # --- without a person -----------------------------------------------------------------------------

    def _leave_for_a_person(self, steps: list[Step], done: int) -> tuple[RunOutcome, str]:
        remaining = steps[done:]
        text = render_runbook(self.plan, self.console)
        path = Path(self.settings.runbook_path)
        check_runbook_target(self.settings.runbook_path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ReconcilerError(
                f"cannot write the runbook to {shown(path)}: {exc.strerror or exc}", hint=_WRITABLE_HINT
            ) from None
        self.out.write(text)
        count = f"{len(remaining)} step" + ("" if len(remaining) == 1 else "s")
        message = (
            f"waiting on a person: {count} to take in admin.atlassian.com; the runbook is in {shown(path)}. "
            "Run apply again on a terminal to walk it, or follow it and run apply again to verify"
        )
        self.err.write(message + ".\n")
        return RunOutcome.WAITING, message

    # --- with a person ---------------------------------------------------------------------------------

    def _walk(self, step: Step, total: int) -> tuple[RunOutcome, str] | None:
        """Show one step and wait until it is observed done; an outcome when the run must end here."""
        self.out.write("\n" + step_text(step, total))
        self.out.flush()
        attempts = {c.id: self._journal_start(c.id, step) for c in step.changes}
        waiting = waiting_line_for(self.err, f"  waiting for step {step.number} to be observed done")
        try:
            return self._wait(step, attempts, waiting)
        finally:
            waiting.end()

    def _wait(
        self, step: Step, attempts: dict[str, int], waiting: WaitingLine
    ) -> tuple[RunOutcome, str] | None:
        shown = time.monotonic()
        checks = 0
        while True:
            if self.stop.wait(self.settings.poll_interval if checks else 0):
                self._finish(attempts, AttemptOutcome.INTERRUPTED, "interrupted", "stopped while waiting")
                return RunOutcome.INTERRUPTED, f"interrupted while waiting for step {step.number}"
            checks += 1
            waited = time.monotonic() - shown
            left = self._still_planned(step)
            if left is not None and not left:
                who = f"runbook step {step.number}, confirmed by {self.confirmer}"
                self._finish(attempts, AttemptOutcome.SUCCEEDED, operation=who)
                waiting.end()
                confirmed = visible(who)  # the confirmer is --actor or USER
                self.out.write(
                    f"  Observed done after {waited:.0f}s ({format_time(time.time())}), {confirmed}.\n"
                )
                return None
            if waited >= self.settings.step_timeout:
                detail = f"not observed done within {self.settings.step_timeout:g}s"
                self._finish(attempts, AttemptOutcome.FAILED, "timeout", detail)
                return RunOutcome.WAITING, detail
            waiting.update(f"{waited:.0f}s, " + (f"{checks} check" if checks == 1 else f"{checks} checks"))

    def _still_planned(self, step: Step) -> set[str] | None:
        """The step's changes the console does not show done yet; None when it could not be read now."""
        try:
            after = plan_changes(self.desired, self.provider.observe(), fingerprint=False)
        except ProviderError as error:
            if not error.transient:
                raise
            return None
        return {c.id for c in after.changes} & set(step.change_ids)

    def _verify(self, total: int) -> tuple[RunOutcome, str]:
        after = plan_changes(self.desired, self.provider.observe(), fingerprint=False)
        if after.changes:
            left = ", ".join(c.id for c in after.changes)
            self.out.write(f"\nNot converged: still planned: {left}.\n")
            return RunOutcome.FAILED, f"after the runbook, still planned: {left}"
        self.out.write(
            f"\nApplied {plural(len(self.plan.changes), 'change')} by runbook in {plural(total, 'step')}, "
            "each observed done.\n"
            "Verified: re-planning finds every change done.\n"
            f"Run {self.run_id}: 'reconciler history --run {self.run_id}' shows who confirmed each step.\n"
        )
        return RunOutcome.CONVERGED, f"runbook of {total} steps, each observed done"

    # --- the journal and the display ---------------------------------------------------------------------

    def _journal_start(self, change_id: str, step: Step) -> int:
        change = next(c for c in step.changes if c.id == change_id)
        return self.store.start_attempt(
            NewAttempt(
                run_id=self.run_id,
                change_id=change_id,
                action=str(change.action),
                subject=subject(change),
                number=1,
                idempotency_key=idempotency_key(self.run_id, self.plan.checksum, change_id),
                started=time.time(),
            )
        )

    def _finish(
        self,
        attempts: dict[str, int],
        outcome: AttemptOutcome,
        code: str | None = None,
        message: str | None = None,
        operation: str | None = None,
    ) -> None:
        for attempt in attempts.values():
            self.store.finish_attempt(attempt, outcome, time.time(), code, message, operation)
