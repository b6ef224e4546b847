"""Executing a plan's changes: dependency order, independent changes in parallel, stoppable.

The scheduler runs on the calling (main) thread, so signals reach it; changes run on a pool of
`parallelism` daemon threads. Daemon threads matter: after a stop, a request stuck in the
network must not keep the process alive past its grace period.
"""

from __future__ import annotations

import heapq
import queue
import time
from collections.abc import Callable

import msgspec

from reconciler.applying.attempts import ChangeRunner
from reconciler.applying.outcomes import ChangeOutcome, ChangeResult
from reconciler.errors import ReconcilerError
from reconciler.model import Change
from reconciler.threads import start_daemon

#: How long in-flight changes get to return after a stop, before they are journaled as interrupted.
#: Short: a signal must have the process out within 2 s, journal and lock included.
STOP_GRACE = 1.0


class ExecutionReport(msgspec.Struct, frozen=True):
    results: tuple[ChangeResult, ...]  # in plan order
    seconds: float
    stopped: bool

    def count(self, outcome: ChangeOutcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def all_succeeded(self) -> bool:
        return all(r.outcome is ChangeOutcome.SUCCEEDED for r in self.results)


class _Schedule:
    """Which changes may start: those whose dependencies (within the plan) all succeeded."""

    def __init__(self, changes: tuple[Change, ...]) -> None:
        self.order = {c.id: index for index, c in enumerate(changes)}
        self.changes = {c.id: c for c in changes}
        self.waiting_on = {c.id: {d for d in c.depends_on if d in self.order} for c in changes}
        self.dependents: dict[str, list[str]] = {c.id: [] for c in changes}
        for change in changes:
            for dependency in self.waiting_on[change.id]:
                self.dependents[dependency].append(change.id)
        #: (plan position, id): changes start in plan order as soon as they may
        self.ready = [(self.order[c.id], c.id) for c in changes if not self.waiting_on[c.id]]
        self.unscheduled = {c.id for c in changes if self.waiting_on[c.id]}

    def next_ready(self) -> Change | None:
        if not self.ready:
            return None
        return self.changes[heapq.heappop(self.ready)[1]]

    def succeeded(self, change_id: str) -> None:
        for dependent in self.dependents[change_id]:
            waiting = self.waiting_on[dependent]
            waiting.discard(change_id)
            if not waiting and dependent in self.unscheduled:
                self.unscheduled.discard(dependent)
                heapq.heappush(self.ready, (self.order[dependent], dependent))

    def did_not_succeed(self, change_id: str) -> list[tuple[Change, str]]:
        """Everything that (transitively) depends on it, with the failed change it waited for."""
        skipped: list[tuple[Change, str]] = []
        stack = [change_id]
        while stack:
            current = stack.pop()
            for dependent in self.dependents[current]:
                if dependent in self.unscheduled:
                    self.unscheduled.discard(dependent)
                    skipped.append((self.changes[dependent], current))
                    stack.append(dependent)
        return sorted(skipped, key=lambda item: self.order[item[0].id])


class _Workers:
    """`size` daemon threads taking changes from a queue: no thread start per change."""

    def __init__(self, runner: ChangeRunner, size: int) -> None:
        #: a change and its first attempt, journaled ahead; None: stop working
        self.jobs: queue.Queue[tuple[Change, int] | None] = queue.Queue()
        self.done: queue.Queue[ChangeResult] = queue.Queue()
        self.size = size
        for _ in range(size):  # started without a wait for each (reconciler/threads.py)
            start_daemon(self._work, runner)

    def _work(self, runner: ChangeRunner) -> None:
        while (job := self.jobs.get()) is not None:
            change, journaled = job
            if runner.stop.is_set():  # queued before the stop, taken after it: never began
                self.done.put(ChangeResult(change, ChangeOutcome.NOT_STARTED, 0, 0.0))
                continue
            runner.progress.change_started(change)
            try:
                result = runner.run(change, journaled)
            except ReconcilerError as error:  # the journal could not be written: its disk is full...
                result = _journal_failed(runner, change, error)
            except Exception as error:  # a bug: report it, never hang the run
                message = f"{type(error).__name__}: {error}"
                result = ChangeResult(change, ChangeOutcome.FAILED, 1, 0.0, "internal-error", message)
            self.done.put(result)

    def unqueue(self) -> list[Change]:
        """Take back the changes queued that no worker has taken yet."""
        taken: list[Change] = []
        while True:
            try:
                change = self.jobs.get_nowait()
            except queue.Empty:
                return taken
            if change is not None:
                taken.append(change[0])

    def close(self) -> None:
        for _ in range(self.size):
            self.jobs.put(None)


def _journal_failed(runner: ChangeRunner, change: Change, error: ReconcilerError) -> ChangeResult:
    """A change the journal failed on, said as the store says it (never as a crash), and whether
    its request went out: an attempt is journaled before its request and its outcome after."""
    if runner.may_have_been_sent(change.id):
        return ChangeResult(change, ChangeOutcome.FAILED, 1, 0.0, "journal", _unrecorded(error.message))
    return _not_sent(change, error)


def _not_sent(change: Change, error: ReconcilerError) -> ChangeResult:
    message = f"not sent: the journal could not record the attempt: {error.message}"
    return ChangeResult(change, ChangeOutcome.FAILED, 1, 0.0, "journal", message)


def _unrecorded(reason: str) -> str:
    return (
        f"its request was sent, but the journal could not record the outcome: {reason} "
        "(the next plan shows whether it took effect)"
    )


def _outcome_unrecorded(result: ChangeResult, reason: str) -> ChangeResult:
    """A success whose outcome, recorded without waiting, the journal then failed to commit."""
    return msgspec.structs.replace(
        result, outcome=ChangeOutcome.FAILED, error_code="journal", error_message=_unrecorded(reason)
    )


def _queue(
    ready: list[Change],
    runner: ChangeRunner,
    workers: _Workers,
    running: dict[str, float],
    settle: Callable[[ChangeResult], None],
) -> None:
    """Journal the first attempts of `ready` in one commit, then hand them to the workers; if the
    journal fails, none is sent and each fails saying so."""
    try:
        attempt_ids = runner.journal_ahead(ready)
    except ReconcilerError as error:
        for change in ready:
            settle(_not_sent(change, error))
        return
    now = time.monotonic()
    for change, attempt_id in zip(ready, attempt_ids, strict=True):
        running[change.id] = now
        workers.jobs.put((change, attempt_id))


def execute(changes: tuple[Change, ...], runner: ChangeRunner, parallelism: int) -> ExecutionReport:
    started = time.monotonic()
    runner.progress.begin(len(changes))
    schedule = _Schedule(changes)
    results: dict[str, ChangeResult] = {}
    running: dict[str, float] = {}
    workers = _Workers(runner, max(1, min(parallelism, len(changes))))

    never_sent: list[Change] = []

    def settle(result: ChangeResult) -> None:
        running.pop(result.change.id, None)
        if result.outcome is ChangeOutcome.NOT_STARTED:
            never_sent.append(result.change)
            return  # what depends on it stays unscheduled; the report says it never started
        results[result.change.id] = result
        runner.progress.change_finished(result)
        if result.outcome is ChangeOutcome.SUCCEEDED:
            schedule.succeeded(result.change.id)
            return
        if result.outcome is ChangeOutcome.INTERRUPTED:
            return  # dependents stay unscheduled: they were never reached
        for dependent, cause in schedule.did_not_succeed(result.change.id):
            settle(runner.record_skip(dependent, f"{cause} did not succeed"))

    # A worker that finishes takes its next change from the queue at once, not after the main
    # thread has settled its result: up to one more change per worker waits there, ready, its
    # first attempt already journaled (the changes queued together share one commit). The queue
    # is topped up once a quarter of those places are free, or when it may run dry: at
    # parallelism 64 a commit (one fsync) journals 16 changes while at least 48 wait queued.
    queued_at_most = 2 * workers.size
    top_up = max(1, workers.size // 4)
    while not runner.stop.is_set():
        ready: list[Change] = []
        free = queued_at_most - len(running)
        if free >= top_up or len(running) <= workers.size:
            while len(ready) < free and (change := schedule.next_ready()) is not None:
                ready.append(change)
        if ready:
            _queue(ready, runner, workers, running, settle)
        if not running:
            break
        try:
            settle(workers.done.get(timeout=0.1))
        except queue.Empty:
            continue
        # Every other result already back is settled too: results can come faster than one
        # fsync per change would keep up with.
        while True:
            try:
                settle(workers.done.get_nowait())
            except queue.Empty:
                break

    stopped = runner.stop.is_set()
    for change in workers.unqueue():  # never started: left as not started
        running.pop(change.id, None)
        never_sent.append(change)
    workers.close()
    if stopped:
        _drain(workers.done, running, settle)
        for change_id, since in list(running.items()):
            settle(runner.abandon(schedule.changes[change_id], since))
    runner.withdraw(never_sent)
    for change_id, reason in runner.flush_journal().items():
        results[change_id] = _outcome_unrecorded(results[change_id], reason)
    for change in changes:
        if change.id not in results:
            results[change.id] = ChangeResult(change, ChangeOutcome.NOT_STARTED, 0, 0.0)
    runner.progress.end()
    ordered = tuple(results[c.id] for c in changes)
    return ExecutionReport(ordered, time.monotonic() - started, stopped)


def _drain(
    done: queue.Queue[ChangeResult], running: dict[str, float], settle: Callable[[ChangeResult], None]
) -> None:
    """Give in-flight changes a short grace to come back and record how they ended."""
    deadline = time.monotonic() + STOP_GRACE
    while running and (left := deadline - time.monotonic()) > 0:
        try:
            settle(done.get(timeout=left))
        except queue.Empty:
            break
