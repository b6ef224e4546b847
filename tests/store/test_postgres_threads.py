"""apply's threads share one PostgreSQL connection: each journal write stays a transaction of its own.

psycopg 3 serialises the statements of one connection, not its transactions: a statement sent by
one thread while another thread's transaction is open runs inside that transaction. A durable
attempt row would then commit with another write's `synchronous_commit = off`, or vanish with its
rollback. PostgreSQL's `xmin` names the transaction that wrote each row's current version, so
rows that shared a transaction show it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from reconciler.store import open_store
from reconciler.store.base import AttemptOutcome, StateStore
from tests.helpers import postgres_schema
from tests.store.test_store import attempt, lock_request, new_run

THREADS = 8
CHANGES = 40  # per thread


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_schema() as made:
        yield made


def writers_of(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as db:
        return db.execute(sql).fetchall()  # type: ignore[arg-type]


def journal_from_threads(store: StateStore, stage: str) -> list[BaseException]:
    """Every thread journals its changes up to `stage` (started, operation or finished) at once."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + 1)

    def work(thread: int) -> None:
        try:
            start.wait()
            for index in range(CHANGES):
                change = f"c{thread}-{index}"
                if stage == "started":
                    store.start_attempt(attempt("r1", change))
                elif stage == "operation":
                    store.set_attempt_operation(ids[change], f"op-{change}")
                else:
                    store.finish_attempt(ids[change], AttemptOutcome.SUCCEEDED, 1002.0)
        except BaseException as error:
            errors.append(error)

    ids = {a.change_id: a.id for a in store.attempts("r1")}
    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    beating = threading.Event()

    def heartbeat() -> None:  # as the lock's heartbeat does, in a thread of its own
        while not beating.is_set():
            store.renew_lock("lk-1", store.clock(), 30)

    beat = threading.Thread(target=heartbeat)
    beat.start()
    start.wait()
    for thread in threads:
        thread.join()
    beating.set()
    beat.join()
    return errors


@pytest.mark.parametrize("stage", ["started", "operation", "finished"])
def test_concurrent_journal_writes_each_commit_in_a_transaction_of_their_own(url: str, stage: str) -> None:
    store = open_store(url)
    try:
        store.start_run(new_run("r1"))
        store.acquire_lock(lock_request("lk-1", "r1", now=store.clock()))
        for earlier in ("started", "operation"):
            if earlier == stage:
                break
            assert journal_from_threads(store, earlier) == []
        assert journal_from_threads(store, stage) == []
        attempts = store.attempts("r1")
    finally:
        store.close()
    rows = writers_of(url, "SELECT xmin::text, change_id FROM reconciler_attempts")
    assert len(rows) == THREADS * CHANGES
    assert len({writer for writer, _ in rows}) == len(rows), "two journal writes shared a transaction"
    assert len({a.change_id for a in attempts}) == THREADS * CHANGES
    if stage != "started":
        assert {a.operation_id for a in attempts} == {f"op-{a.change_id}" for a in attempts}
    if stage == "finished":
        assert {a.outcome for a in attempts} == {AttemptOutcome.SUCCEEDED}
