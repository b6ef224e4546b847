"""The executor against a scripted console: retries, backoff, polling, skips, parallelism, stopping.

The console here is a small provider that answers from a script, so each failure mode can be
produced on demand; the journal is the real SQLite store.
"""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.applying.attempts import ChangeRunner, PollPolicy, RetryPolicy
from reconciler.applying.executor import execute
from reconciler.applying.outcomes import ChangeOutcome, ChangeResult, idempotency_key
from reconciler.applying.progress import PlainProgress
from reconciler.errors import ProviderError
from reconciler.model import Action, Change, Console, Operation, OperationStatus
from reconciler.providers.base import WRITES
from reconciler.store import NewAttempt, NewRun, StateStore, open_store

PENDING, SUCCEEDED = OperationStatus.PENDING, OperationStatus.SUCCEEDED
Answer = ProviderError | Operation | Exception


class ScriptedConsole:
    """Answers `execute` for each change from a list (the last answer repeats), and polls likewise."""

    description = "scripted"
    capabilities = WRITES

    def __init__(
        self, answers: dict[str, list[Answer]], polls: dict[str, list[Operation]] | None = None
    ) -> None:
        self.answers = answers
        self.polls = polls or {}
        self.sent: list[tuple[str, str]] = []
        self.polled: list[str] = []
        self.busy = 0
        self.most_busy = 0
        self.hold = 0.0
        self._lock = threading.Lock()

    def observe(self) -> Console:
        raise NotImplementedError

    def execute(self, change: Change, idempotency_key: str) -> Operation:
        with self._lock:
            self.sent.append((change.id, idempotency_key))
            self.busy += 1
            self.most_busy = max(self.most_busy, self.busy)
            script = self.answers.get(change.id, [Operation(f"op-{change.id}", SUCCEEDED)])
            answer = script.pop(0) if len(script) > 1 else script[0]
        time.sleep(self.hold)
        with self._lock:
            self.busy -= 1
        if isinstance(answer, Exception):
            raise answer
        return answer

    def operation(self, operation_id: str) -> Operation:
        self.polled.append(operation_id)
        script = self.polls[operation_id]
        return script.pop(0) if len(script) > 1 else script[0]

    def close(self) -> None:
        """Nothing to close."""


def change(change_id: str, *depends_on: str) -> Change:
    return Change(
        change_id, Action.PROVISION, "SUB-1", change_id, "acme", "acme-corp", depends_on, "why", None
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    opened = open_store(f"sqlite:{tmp_path / 'state.db'}")
    opened.start_run(
        NewRun("run-1", time.time(), "alice", "alice@host pid 1", "scripted", "scripted", None, ())
    )
    yield opened
    opened.close()


QUICK_POLLS = PollPolicy(first=0.001, cap=0.01)


def runner_for(
    console: ScriptedConsole, store: StateStore, poll: PollPolicy = QUICK_POLLS, secret: str | None = None
) -> ChangeRunner:
    return ChangeRunner(
        provider=console,
        store=store,
        run_id="run-1",
        plan_checksum="sha256:plan",
        stop=threading.Event(),
        progress=PlainProgress(io.StringIO()),
        retry=RetryPolicy(base=0.001, cap=0.01),
        poll=poll,
        secret=secret,
    )


def journal(store: StateStore) -> list[tuple[str, int, str, str | None]]:
    return [(a.change_id, a.number, str(a.outcome), a.error_code) for a in store.attempts("run-1")]


def transient(code: str = "unavailable", retry_after: float | None = None) -> ProviderError:
    return ProviderError("the console is busy", code=code, transient=True, retry_after=retry_after)


def test_transient_failures_are_retried_with_the_same_key(store: StateStore) -> None:
    console = ScriptedConsole({"a": [transient(), transient(), Operation("op-a", SUCCEEDED)]})
    report = execute((change("a"),), runner_for(console, store), parallelism=4)
    assert [(r.outcome, r.attempts) for r in report.results] == [(ChangeOutcome.SUCCEEDED, 3)]
    assert console.sent == [("a", idempotency_key("run-1", "sha256:plan", "a"))] * 3
    assert journal(store) == [
        ("a", 1, "failed", "unavailable"),
        ("a", 2, "failed", "unavailable"),
        ("a", 3, "succeeded", None),
    ]


def test_retry_after_is_honoured(store: StateStore) -> None:
    console = ScriptedConsole(
        {"a": [transient("rate-limited", retry_after=0.3), Operation("op-a", SUCCEEDED)]}
    )
    report = execute((change("a"),), runner_for(console, store), parallelism=1)
    assert report.all_succeeded
    first, second = store.attempts("run-1")
    assert second.started - first.started >= 0.3


def test_retries_are_bounded_and_what_depends_on_a_failure_is_skipped(store: StateStore) -> None:
    console = ScriptedConsole({"site": [transient()]})
    changes = (change("site"), change("app", "site"), change("other", "app"), change("free"))
    report = execute(changes, runner_for(console, store), parallelism=2)
    assert [(r.change.id, r.outcome) for r in report.results] == [
        ("site", ChangeOutcome.FAILED),
        ("app", ChangeOutcome.SKIPPED),
        ("other", ChangeOutcome.SKIPPED),
        ("free", ChangeOutcome.SUCCEEDED),
    ]
    assert [c for c, _ in console.sent].count("site") == 5
    assert ("app", "site did not succeed") in {
        (a.change_id, a.error_message) for a in store.attempts("run-1")
    }
    assert ("other", "app did not succeed") in {
        (a.change_id, a.error_message) for a in store.attempts("run-1")
    }


def test_a_refusal_is_not_retried(store: StateStore) -> None:
    refusal = ProviderError("focus needs Jira Premium", code="premium-site")
    report = execute((change("a"),), runner_for(ScriptedConsole({"a": [refusal]}), store), parallelism=1)
    (result,) = report.results
    assert (result.outcome, result.attempts, result.error) == (
        ChangeOutcome.FAILED,
        1,
        "[premium-site] focus needs Jira Premium",
    )
    assert journal(store) == [("a", 1, "failed", "premium-site")]


def test_a_pending_operation_is_polled_until_done(store: StateStore) -> None:
    console = ScriptedConsole(
        {"a": [Operation("op-a", PENDING)]},
        {"op-a": [Operation("op-a", OperationStatus.RUNNING), Operation("op-a", SUCCEEDED)]},
    )
    report = execute((change("a"),), runner_for(console, store), parallelism=1)
    assert report.all_succeeded
    assert console.polled == ["op-a", "op-a"]
    assert store.attempts("run-1")[0].operation_id == "op-a"


def test_an_operation_already_done_needs_no_poll(store: StateStore) -> None:
    console = ScriptedConsole({})
    assert execute((change("a"), change("b")), runner_for(console, store), parallelism=2).all_succeeded
    assert console.polled == []


def test_an_operation_that_fails_on_the_console_fails_the_change(store: StateStore) -> None:
    failed = Operation("op-a", OperationStatus.FAILED, "one-per-org", "acme-corp already has focus")
    console = ScriptedConsole({"a": [Operation("op-a", PENDING)]}, {"op-a": [failed]})
    (result,) = execute((change("a"),), runner_for(console, store), parallelism=1).results
    assert (result.outcome, result.error) == (
        ChangeOutcome.FAILED,
        "[one-per-org] acme-corp already has focus",
    )


def test_polling_gives_up_after_the_operation_timeout(store: StateStore) -> None:
    console = ScriptedConsole({"a": [Operation("op-a", PENDING)]}, {"op-a": [Operation("op-a", PENDING)]})
    runner = runner_for(console, store, poll=PollPolicy(first=0.01, cap=0.05, timeout=0.2))
    (result,) = execute((change("a"),), runner, parallelism=1).results
    assert (result.outcome, result.error) == (
        ChangeOutcome.FAILED,
        "[timeout] operation op-a was still pending after 0.2s",
    )


def test_a_provider_crash_is_journaled_as_a_failed_attempt(store: StateStore) -> None:
    console = ScriptedConsole({"a": [RuntimeError("socket closed")]})
    (result,) = execute((change("a"),), runner_for(console, store), parallelism=1).results
    assert result.outcome is ChangeOutcome.FAILED
    assert journal(store) == [("a", 1, "failed", "internal-error")]
    assert store.attempts("run-1")[0].error_message == "RuntimeError: socket closed"


def test_no_more_than_parallelism_changes_run_at_once(store: StateStore) -> None:
    console = ScriptedConsole({})
    console.hold = 0.05
    changes = tuple(change(f"c{n}") for n in range(9))
    started = time.monotonic()
    assert execute(changes, runner_for(console, store), parallelism=3).all_succeeded
    assert console.most_busy == 3
    assert time.monotonic() - started >= 0.15  # three waves of 50 ms


def test_a_stop_interrupts_polling_and_starts_nothing_new(store: StateStore) -> None:
    console = ScriptedConsole({"a": [Operation("op-a", PENDING)]}, {"op-a": [Operation("op-a", PENDING)]})
    runner = runner_for(console, store)
    threading.Timer(0.2, runner.stop.set).start()
    report = execute((change("a"), change("b", "a")), runner, parallelism=1)
    assert report.stopped
    assert [(r.change.id, r.outcome) for r in report.results] == [
        ("a", ChangeOutcome.INTERRUPTED),
        ("b", ChangeOutcome.NOT_STARTED),
    ]
    assert journal(store) == [("a", 1, "interrupted", "interrupted")]
    assert store.attempts("run-1")[0].error_message == (
        "stopped while operation op-a was pending; the console finishes it on its own"
    )


def test_a_change_queued_behind_a_busy_worker_is_not_started_when_the_run_stops(store: StateStore) -> None:
    console = ScriptedConsole({"a": [Operation("op-a", PENDING)]}, {"op-a": [Operation("op-a", PENDING)]})
    runner = runner_for(console, store)
    threading.Timer(0.2, runner.stop.set).start()
    report = execute((change("a"), change("b")), runner, parallelism=1)  # b waits in the queue
    assert [(r.change.id, r.outcome) for r in report.results] == [
        ("a", ChangeOutcome.INTERRUPTED),
        ("b", ChangeOutcome.NOT_STARTED),
    ]
    assert [sent for sent, _ in console.sent] == ["a"]
    assert journal(store) == [("a", 1, "interrupted", "interrupted")]


class SlowToSettle(PlainProgress):
    """Settling a result (on the executor's main thread) waits until the next change was sent."""

    def __init__(self, console: ScriptedConsole) -> None:
        super().__init__(io.StringIO())
        self.console = console
        self.sent_while_settling: list[str] = []

    def change_finished(self, result: ChangeResult) -> None:
        if result.change.id == "a":
            deadline = time.monotonic() + 5
            while len(self.console.sent) < 2 and time.monotonic() < deadline:
                time.sleep(0.005)
            self.sent_while_settling = [sent for sent, _ in self.console.sent[1:]]
        super().change_finished(result)


def test_a_worker_takes_its_next_change_without_waiting_for_the_last_to_be_settled(
    store: StateStore,
) -> None:
    console = ScriptedConsole({})
    runner = runner_for(console, store)
    progress = SlowToSettle(console)
    runner.progress = progress
    assert execute((change("a"), change("b")), runner, parallelism=1).all_succeeded
    assert progress.sent_while_settling == ["b"]


def test_changes_queued_together_are_journaled_in_one_commit_before_any_is_sent(
    store: StateStore, tmp_path: Path
) -> None:
    on_disk_when_sent: list[bool] = []

    class Checking(ScriptedConsole):
        def execute(self, change: Change, idempotency_key: str) -> Operation:
            with sqlite3.connect(tmp_path / "state.db") as reader:  # another process's view
                rows = reader.execute("SELECT 1 FROM attempts WHERE change_id = ?", (change.id,)).fetchall()
            on_disk_when_sent.append(bool(rows))
            return super().execute(change, idempotency_key)

    batches: list[list[str]] = []
    original = store.start_attempts

    def recorded(attempts: list[NewAttempt]) -> list[int]:
        batches.append([a.change_id for a in attempts])
        return original(attempts)

    store.start_attempts = recorded  # type: ignore[method-assign]
    changes = tuple(change(name) for name in "abcdef")
    assert execute(changes, runner_for(Checking({}), store), parallelism=2).all_succeeded
    assert on_disk_when_sent == [True] * 6
    assert batches[0] == ["a", "b", "c", "d"]  # two per worker: one running, one waiting
    assert sorted(name for batch in batches for name in batch) == list("abcdef")
    assert [str(a.outcome) for a in store.attempts("run-1")] == ["succeeded"] * 6


def test_a_full_queue_is_topped_up_many_changes_to_a_commit(store: StateStore) -> None:
    """At parallelism 16 the queue is refilled once 4 of its places are free, and every result
    already back is settled first: not one commit (one fsync) per finished change."""
    batches: list[int] = []
    original = store.start_attempts

    def recorded(attempts: list[NewAttempt]) -> list[int]:
        batches.append(len(attempts))
        return original(attempts)

    store.start_attempts = recorded  # type: ignore[method-assign]
    console = ScriptedConsole({})
    console.hold = 0.005
    changes = tuple(change(f"c{n:03d}") for n in range(200))
    assert execute(changes, runner_for(console, store), parallelism=16).all_succeeded
    assert batches[0] == 32  # two per worker: one running, one waiting
    assert sum(batches) == 200
    # One commit per change after the first batch would be 169 commits.
    assert len(batches) <= 1 + (200 - 32) // 4 + 2, batches


def test_a_worker_goes_on_without_waiting_for_its_success_to_be_committed(store: StateStore) -> None:
    db = store._db  # type: ignore[attr-defined]
    outcome_writers: list[str] = []
    db.set_trace_callback(
        lambda sql: (
            outcome_writers.append(threading.current_thread().name)
            if sql.startswith("UPDATE attempts SET outcome")
            else None
        )
    )
    changes = tuple(change(name) for name in "abc")
    assert execute(changes, runner_for(ScriptedConsole({}), store), parallelism=3).all_succeeded
    db.set_trace_callback(None)
    # Written by the executor's own thread (with the next attempts or at the end), never by a worker.
    assert outcome_writers and set(outcome_writers) == {threading.main_thread().name}
    assert [str(a.outcome) for a in store.attempts("run-1")] == ["succeeded"] * 3


def test_a_credential_quoted_in_an_error_never_reaches_the_journal(store: StateStore) -> None:
    leaky = ProviderError("rejected token s3cr3t-token for alice", code="unauthorized")
    runner = runner_for(ScriptedConsole({"a": [leaky]}), store, secret="s3cr3t-token")
    execute((change("a"),), runner, parallelism=1)
    assert store.attempts("run-1")[0].error_message == "rejected token *** for alice"


def _locked_out(store: StateStore) -> sqlite3.Connection:
    """Another process's transaction holds the store's write lock, and the store waits no more for
    it: each of its writes from now on fails, as SQLite fails it. The caller closes the connection."""
    store._db.execute("PRAGMA busy_timeout = 0")  # type: ignore[attr-defined]
    path = store.path  # type: ignore[attr-defined]
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


LOCKED = "the state store {} stayed locked by another process: database is locked"


def test_a_change_the_journal_cannot_record_is_not_sent_and_says_why(store: StateStore) -> None:
    other = _locked_out(store)
    console = ScriptedConsole({})
    (result,) = execute((change("a"),), runner_for(console, store), parallelism=1).results
    other.close()
    assert console.sent == []  # durable before sent: no journal, no request
    assert (result.outcome, result.error_code) == (ChangeOutcome.FAILED, "journal")
    assert result.error_message == (
        f"not sent: the journal could not record the attempt: {LOCKED.format(store.description)}"
    )


def test_an_outcome_the_journal_cannot_record_says_the_request_went_out(store: StateStore) -> None:
    console = ScriptedConsole({"a": [Operation("op-a", PENDING)]}, {"op-a": [Operation("op-a", SUCCEEDED)]})
    original, held = console.operation, []

    def poll_once_locked_out(operation_id: str) -> Operation:
        held.append(_locked_out(store))  # between the journaled attempt and its outcome
        return original(operation_id)

    console.operation = poll_once_locked_out  # type: ignore[method-assign]
    (result,) = execute((change("a"),), runner_for(console, store), parallelism=1).results
    for other in held:
        other.close()
    assert [sent for sent, _ in console.sent] == ["a"]
    assert (result.outcome, result.error_code) == (ChangeOutcome.FAILED, "journal")
    assert result.error_message == (
        "its request was sent, but the journal could not record the outcome: "
        f"{LOCKED.format(store.description)} (the next plan shows whether it took effect)"
    )


def test_a_pending_operation_the_journal_cannot_record_is_a_journal_failure(store: StateStore) -> None:
    console = ScriptedConsole({"a": [Operation("op-a", PENDING)]}, {"op-a": [Operation("op-a", SUCCEEDED)]})
    original = store.set_attempt_operation

    def locked_out_once(attempt_id: int, operation_id: str) -> None:
        other = _locked_out(store)  # for this write only: the outcome after it is recorded
        try:
            original(attempt_id, operation_id)
        finally:
            other.close()

    store.set_attempt_operation = locked_out_once  # type: ignore[method-assign]
    (result,) = execute((change("a"),), runner_for(console, store), parallelism=1).results
    assert (result.outcome, result.error_code) == (ChangeOutcome.FAILED, "journal")
    assert result.error_message == (
        "its request was sent, but the journal could not record the outcome: "
        f"{LOCKED.format(store.description)} (the next plan shows whether it took effect)"
    )
