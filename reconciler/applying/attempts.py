"""Making one change: send it, retry what is transient, poll until the console is done, journal it all.

Every try is journaled as `started` before the request goes out, so a crash at any point leaves
a record of what may have reached the console; every try carries the same idempotency key, so
the console applies the change at most once however many times it is sent.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import msgspec

from reconciler.applying.outcomes import ChangeOutcome, ChangeResult, idempotency_key, subject
from reconciler.applying.progress import Progress
from reconciler.bounds import Bounds, env_number
from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Change, Operation, OperationStatus
from reconciler.providers.base import Provider
from reconciler.retries import RetryNotice, retries_reported_to
from reconciler.secrets import scrub
from reconciler.store import AttemptOutcome, NewAttempt, StateStore, UnwrittenOutcomes

ENV_OPERATION_TIMEOUT = "RECONCILER_OPERATION_TIMEOUT"
DEFAULT_OPERATION_TIMEOUT = 600.0


#: A day: no console takes longer to provision an app, and a deadline past it is no deadline.
OPERATION_TIMEOUT_BOUNDS = Bounds("a number of seconds", 0, 86_400, "600", above_low=True)


def operation_timeout() -> float:
    return env_number(ENV_OPERATION_TIMEOUT, OPERATION_TIMEOUT_BOUNDS, DEFAULT_OPERATION_TIMEOUT)


class RetryPolicy(msgspec.Struct, frozen=True):
    """Exponential backoff with full jitter, bounded in tries; a console's Retry-After wins."""

    max_attempts: int = 5
    base: float = 0.25
    cap: float = 10.0
    #: the longest Retry-After honoured as is
    max_retry_after: float = 60.0

    def delay(self, number: int, retry_after: float | None, rng: random.Random) -> float:
        wait = rng.uniform(0, min(self.cap, self.base * 2 ** (number - 1)))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


class PollPolicy(msgspec.Struct, frozen=True):
    """Poll soon (a fast console answers in tens of ms), then less and less often."""

    first: float = 0.05
    factor: float = 1.5
    cap: float = 2.0
    timeout: float = DEFAULT_OPERATION_TIMEOUT
    #: say that a change is waiting on the console only once it has waited this long
    notice_after: float = 2.0


class _Stopped(Exception):
    """The run is stopping: leave this change where it is."""


class _JournalFailed(ReconcilerError):
    """The state store failed a journal write made while the change was under way (its disk is
    full...): told apart from what the provider raises, which is the console's failure."""

    def __init__(self, error: ReconcilerError) -> None:
        super().__init__(error.message, hint=error.hint, exit_code=error.exit_code)


@contextmanager
def _journaling() -> Iterator[None]:
    try:
        yield
    except ReconcilerError as error:
        raise _JournalFailed(error) from error


class _Tries(msgspec.Struct):
    """The journal's current attempt of one change; a provider's own retries start new ones."""

    number: int = 0
    attempt_id: int = 0
    #: the first attempt, when it was journaled ahead of the change's start
    ahead: int | None = None

    def begin(self, attempt_id: int) -> None:
        self.number += 1
        self.attempt_id = attempt_id

    def take_ahead(self) -> int | None:
        attempt_id, self.ahead = self.ahead, None
        return attempt_id


@dataclass
class ChangeRunner:
    """Makes changes of one plan in one run; shared by the executor's threads."""

    provider: Provider
    store: StateStore
    run_id: str
    plan_checksum: str
    stop: threading.Event
    progress: Progress
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollPolicy = field(default_factory=PollPolicy)
    #: the provider's credential: kept out of the journal even if a message quoted it
    secret: str | None = field(default=None, repr=False)
    _rng: random.Random = field(default_factory=random.Random)
    _in_flight: dict[str, int] = field(default_factory=dict)
    #: attempt id -> change id of the outcomes recorded without waiting for their commit
    _kept_back: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def journal_ahead(self, changes: Sequence[Change]) -> list[int]:
        """The first attempt of each change, journaled in one commit before any of them is sent
        (the executor does it while they wait for a worker): a worker then sends at once."""
        now = time.time()
        attempt_ids = self.store.start_attempts([self._new_attempt(change, 1, now) for change in changes])
        with self._lock:
            for change, attempt_id in zip(changes, attempt_ids, strict=True):
                self._in_flight[change.id] = attempt_id
        return attempt_ids

    def withdraw(self, changes: Sequence[Change]) -> None:
        """Changes journaled ahead and never sent (the run stopped first): their attempts go. If the
        journal cannot take that, they stay `started`, which only makes the next apply re-check them."""
        with self._lock:
            attempt_ids = [self._in_flight.pop(c.id) for c in changes if c.id in self._in_flight]
        with contextlib.suppress(ReconcilerError):
            self.store.withdraw_attempts(attempt_ids)

    def run(self, change: Change, journaled: int | None = None) -> ChangeResult:
        """Make the change; `journaled` is its first attempt when `journal_ahead` recorded it."""
        started = time.monotonic()
        key = idempotency_key(self.run_id, self.plan_checksum, change.id)
        tries = _Tries(ahead=journaled)
        rounds = 0
        while True:
            rounds += 1
            if self.stop.is_set():
                return self._record_stop(change, tries, started)
            outcome = self._attempt(change, key, tries, started)
            if isinstance(outcome, ChangeResult):
                return outcome
            if rounds >= self.retry.max_attempts:
                return self._result(change, ChangeOutcome.FAILED, tries.number, started, outcome)
            pause = self.retry.delay(rounds, outcome.retry_after, self._rng)
            self.progress.change_retrying(change, tries.number, f"[{outcome.code}] {outcome.message}", pause)
            if self.stop.wait(pause):
                return self._record_stop(change, tries, started)

    def _attempt(
        self, change: Change, key: str, tries: _Tries, started: float
    ) -> ChangeResult | ProviderError:
        """One try: the result when it is final, or the transient error to retry after."""
        tries.begin(self._this_try(change, tries))
        operation: Operation | None = None
        try:
            with retries_reported_to(lambda notice: self._sent_again(change, key, tries, notice)):
                operation = self.provider.execute(change, key)
            if not operation.done:
                # Recorded now, so a crash while waiting leaves the operation to look for in the journal.
                with _journaling():
                    self.store.set_attempt_operation(tries.attempt_id, operation.id)
                operation = self._wait(change, operation)
        except _Stopped:
            if operation is None:  # between two of the provider's own tries: the last is journaled
                return self._result(change, ChangeOutcome.INTERRUPTED, tries.number, started, None)
            detail = f"stopped while operation {operation.id} was pending; the console finishes it on its own"
            self._journal_finish(change, tries.attempt_id, AttemptOutcome.INTERRUPTED, "interrupted", detail)
            return self._result(change, ChangeOutcome.INTERRUPTED, tries.number, started, None, operation.id)
        except ProviderError as error:
            op_id = None if operation is None else operation.id
            self._journal_finish(
                change, tries.attempt_id, AttemptOutcome.FAILED, error.code, error.message, op_id
            )
            if error.transient:
                return error
            return self._result(change, ChangeOutcome.FAILED, tries.number, started, error, op_id)
        except _JournalFailed:  # the executor says so, as for a failure outside the request
            raise
        except Exception as error:  # a provider bug must not leave the journal without an outcome
            message = f"{type(error).__name__}: {error}"
            self._journal_finish(change, tries.attempt_id, AttemptOutcome.FAILED, "internal-error", message)
            failure = ProviderError(message, code="internal-error")
            return self._result(change, ChangeOutcome.FAILED, tries.number, started, failure)
        return self._finished(change, tries, started, operation)

    def _finished(self, change: Change, tries: _Tries, started: float, operation: Operation) -> ChangeResult:
        if operation.status is OperationStatus.SUCCEEDED:
            # Not waited for: the next commit on the journal carries it (flush_journal at the latest),
            # and until then a crash leaves the attempt `started`, which the next apply re-checks.
            with self._lock:
                self._kept_back[tries.attempt_id] = change.id
            self._journal_finish(
                change, tries.attempt_id, AttemptOutcome.SUCCEEDED, operation_id=operation.id, wait=False
            )
            return self._result(change, ChangeOutcome.SUCCEEDED, tries.number, started, None, operation.id)
        code = operation.error_code or "operation-failed"
        detail = operation.error_detail or f"operation {operation.id} failed"
        self._journal_finish(change, tries.attempt_id, AttemptOutcome.FAILED, code, detail, operation.id)
        refusal = ProviderError(detail, code=code)
        return self._result(change, ChangeOutcome.FAILED, tries.number, started, refusal, operation.id)

    def _sent_again(self, change: Change, key: str, tries: _Tries, notice: RetryNotice) -> None:
        """The provider is sending the request again itself: the try that failed is an attempt of its
        own in the journal, and the next one is journaled before it goes out."""
        with _journaling():
            self._journal_finish(change, tries.attempt_id, AttemptOutcome.FAILED, notice.code, notice.message)
        if self.stop.is_set():
            raise _Stopped
        with _journaling():
            tries.begin(self._journal_start(change, tries.number + 1))

    def _wait(self, change: Change, operation: Operation) -> Operation:
        """Poll a pending operation until it is done; transient read errors are polled through."""
        if operation.done:
            return operation
        since = time.monotonic()
        deadline = since + self.poll.timeout
        interval = self.poll.first
        announced = False
        while True:
            if not announced and time.monotonic() - since >= self.poll.notice_after:
                announced = True
                self.progress.change_pending(change, operation.id)
            if self.stop.wait(min(interval, max(0.0, deadline - time.monotonic()))):
                raise _Stopped
            try:
                operation = self.provider.operation(operation.id)
            except ProviderError as error:
                if not error.transient:
                    raise
            if operation.done:
                return operation
            if time.monotonic() >= deadline:
                raise ProviderError(
                    f"operation {operation.id} was still {operation.status} after {self.poll.timeout:g}s",
                    code="timeout",
                )
            interval = min(interval * self.poll.factor, self.poll.cap)

    def _new_attempt(self, change: Change, number: int, now: float) -> NewAttempt:
        return NewAttempt(
            run_id=self.run_id,
            change_id=change.id,
            action=str(change.action),
            subject=subject(change),
            number=number,
            idempotency_key=idempotency_key(self.run_id, self.plan_checksum, change.id),
            started=now,
        )

    def _this_try(self, change: Change, tries: _Tries) -> int:
        """The attempt of the next try: journaled ahead for the first, else now."""
        ahead = tries.take_ahead()
        return ahead if ahead is not None else self._journal_start(change, tries.number + 1)

    def _journal_start(self, change: Change, number: int) -> int:
        attempt_id = self.store.start_attempt(self._new_attempt(change, number, time.time()))
        with self._lock:
            self._in_flight[change.id] = attempt_id
        return attempt_id

    def _journal_finish(
        self,
        change: Change,
        attempt_id: int,
        outcome: AttemptOutcome,
        code: str | None = None,
        message: str | None = None,
        operation_id: str | None = None,
        *,
        wait: bool = True,
    ) -> None:
        if message is not None:
            message = scrub(message, self.secret)
        self.store.finish_attempt(attempt_id, outcome, time.time(), code, message, operation_id, wait=wait)
        with self._lock:
            self._in_flight.pop(change.id, None)

    def flush_journal(self) -> dict[str, str]:
        """Commit the outcomes not waited for: the changes whose outcome could not be, with why."""
        try:
            self.store.flush()
        except UnwrittenOutcomes as error:
            with self._lock:
                lost = [self._kept_back[i] for i in sorted(error.attempt_ids) if i in self._kept_back]
            return {change_id: error.message for change_id in lost}
        with self._lock:
            self._kept_back.clear()
        return {}

    def _record_stop(self, change: Change, tries: _Tries, started: float) -> ChangeResult:
        """The run stopped between tries of this change (or before its first, journaled ahead):
        say so in the journal."""
        number = tries.number
        attempt_id = self._this_try(change, tries)
        detail = "stopped before this try was sent"
        self._journal_finish(change, attempt_id, AttemptOutcome.INTERRUPTED, "interrupted", detail)
        return self._result(change, ChangeOutcome.INTERRUPTED, number, started, None)

    def may_have_been_sent(self, change_id: str) -> bool:
        """Whether the change has an attempt journaled as started and not finished: its request
        may have gone out (an attempt is journaled before its request, its outcome after)."""
        with self._lock:
            return change_id in self._in_flight

    def record_skip(self, change: Change, reason: str) -> ChangeResult:
        attempt_id = self._journal_start(change, 1)
        self._journal_finish(change, attempt_id, AttemptOutcome.SKIPPED, "dependency-failed", reason)
        failure = ProviderError(reason, code="dependency-failed")
        return ChangeResult(change, ChangeOutcome.SKIPPED, 0, 0.0, failure.code, failure.message)

    def abandon(self, change: Change, started: float) -> ChangeResult:
        """A change still running when the grace after a stop ran out: journal it as interrupted."""
        with self._lock:
            attempt_id = self._in_flight.pop(change.id, None)
        if attempt_id is not None:
            detail = "still waiting for the console when the run stopped; the next apply re-checks it"
            self.store.finish_attempt(
                attempt_id, AttemptOutcome.INTERRUPTED, time.time(), "interrupted", detail
            )
        return ChangeResult(change, ChangeOutcome.INTERRUPTED, 1, time.monotonic() - started)

    def _result(
        self,
        change: Change,
        outcome: ChangeOutcome,
        attempts: int,
        started: float,
        error: ProviderError | None,
        operation_id: str | None = None,
    ) -> ChangeResult:
        return ChangeResult(
            change=change,
            outcome=outcome,
            attempts=attempts,
            seconds=time.monotonic() - started,
            error_code=None if error is None else error.code,
            error_message=None if error is None else error.message,
            operation_id=operation_id,
        )
