"""Waiting for work the console already has in progress, instead of asking for it again.

A crashed or interrupted run leaves operations the console accepted and is still carrying out (a
site being created, an app being provisioned). The next apply sees them in its observation, polls
each until it is done, journals what it waited for, and then plans again: what finished is no
longer planned, what failed is planned (and made) once more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import msgspec

from reconciler.applying.attempts import PollPolicy
from reconciler.errors import Interrupted, ProviderError, ReconcilerError
from reconciler.model import Action, InProgress, Operation, OperationStatus
from reconciler.providers.base import Provider
from reconciler.store import AttemptOutcome, NewAttempt, StateStore
from reconciler.terminal import clipped, printable


def in_progress_subject(work: InProgress) -> str:
    """Named as apply names the change: `acme-align (acme-corp)`, `SUB-1001 focus -> acme`."""
    if work.action == Action.CREATE_SITE:
        return printable(f"{work.site} ({work.org})")
    return printable(f"{work.subscription} {work.app} -> {work.site}")


class InProgressWait(msgspec.Struct):
    """Polls the console's operations in progress until each is done; journals each as an attempt."""

    provider: Provider
    store: StateStore
    run_id: str
    poll: PollPolicy
    stop: threading.Event
    say: Callable[[str], None]

    def wait(self, work: tuple[InProgress, ...]) -> None:
        count = len(work)
        self.say(
            f"waiting for {count} operation{'' if count == 1 else 's'} the console already has in progress "
            "(started earlier, not asked for again)"
        )
        started = time.monotonic()
        attempts = {w.operation: self._journal_start(w) for w in work}
        pending = {w.operation: w for w in work}
        interval = self.poll.first
        try:
            while pending:
                if time.monotonic() - started >= self.poll.timeout:
                    self._time_out(pending, attempts)
                self.stop.wait(interval)
                if self.stop.is_set():
                    raise Interrupted("interrupted while waiting for work in progress on the console")
                for operation_id, item in list(pending.items()):
                    done = self._poll(operation_id)
                    if done is not None:
                        self._journal_done(item, attempts.pop(operation_id), done, started)
                        del pending[operation_id]
                interval = min(interval * self.poll.factor, self.poll.cap)
        except BaseException:
            for attempt_id in attempts.values():
                self.store.finish_attempt(
                    attempt_id,
                    AttemptOutcome.INTERRUPTED,
                    time.time(),
                    "interrupted",
                    "stopped while waiting; the console finishes it on its own",
                )
            raise

    def _poll(self, operation_id: str) -> Operation | None:
        """The operation once it is done; None while it is not (or cannot be read just now)."""
        try:
            operation = self.provider.operation(operation_id)
        except ProviderError as error:
            if error.transient:
                return None
            if error.code == "not-found":
                # The console no longer knows it: planning again tells whether its effect is there.
                return Operation(operation_id, OperationStatus.SUCCEEDED)
            raise
        return operation if operation.done else None

    def _journal_start(self, work: InProgress) -> int:
        attempt_id = self.store.start_attempt(
            NewAttempt(
                run_id=self.run_id,
                change_id=work.change_id,
                action=str(work.action),
                subject=in_progress_subject(work),
                number=1,
                idempotency_key="",  # nothing is sent: the console already has the request
                started=time.time(),
            )
        )
        self.store.set_attempt_operation(attempt_id, work.operation)
        return attempt_id

    def _journal_done(self, work: InProgress, attempt_id: int, operation: Operation, started: float) -> None:
        seconds = time.monotonic() - started
        what = f"{work.action} {in_progress_subject(work)}"
        if operation.status is OperationStatus.SUCCEEDED:
            self.store.finish_attempt(
                attempt_id,
                AttemptOutcome.SUCCEEDED,
                time.time(),
                None,
                f"waited for operation {work.operation}, started earlier",
                work.operation,
            )
            self.say(clipped(f"      {what}: done on the console ({seconds:.1f}s)"))
            return
        code = operation.error_code or "operation-failed"
        detail = operation.error_detail or f"operation {work.operation} failed"
        self.store.finish_attempt(
            attempt_id, AttemptOutcome.FAILED, time.time(), code, detail, work.operation
        )
        self.say(
            clipped(f"      {what}: failed on the console: [{code}] {printable(detail)}; planning it again")
        )

    def _time_out(self, pending: dict[str, InProgress], attempts: dict[str, int]) -> None:
        names = ", ".join(f"{w.action} {in_progress_subject(w)}" for w in pending.values())
        for operation_id in pending:
            self.store.finish_attempt(
                attempts.pop(operation_id),
                AttemptOutcome.FAILED,
                time.time(),
                "timeout",
                f"still in progress after {self.poll.timeout:g}s",
                operation_id,
            )
        raise ReconcilerError(
            f"the console still has work in progress after {self.poll.timeout:g}s: {names}; "
            "nothing was applied",
            hint="apply again later (RECONCILER_OPERATION_TIMEOUT sets how long to wait)",
        )
