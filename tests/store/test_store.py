"""The state store protocol on both backends (a SQLite file, a real PostgreSQL): runs, journal, locks."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from msgspec.structs import replace

from reconciler.store import (
    AttemptOutcome,
    LockRequest,
    NewAttempt,
    NewRun,
    RunOutcome,
    StateStore,
    format_time,
)
from reconciler.store.identity import ci_commit, host_name, pid_namespace


def new_run(run_id: str, started: float = 1000.0, lock_name: str = "sandbox:console.db") -> NewRun:
    return NewRun(
        id=run_id,
        started=started,
        actor="alice@acme.example",
        user="alice@host pid 1",
        provider="sandbox:console.db",
        lock_name=lock_name,
        commit="abc123",
        paths=("desired-state",),
    )


def attempt(run_id: str, change_id: str, number: int = 1) -> NewAttempt:
    return NewAttempt(
        run_id=run_id,
        change_id=change_id,
        action="provision",
        subject=change_id,
        number=number,
        idempotency_key="k-" + change_id,
        started=1001.0,
    )


def lock_request(lock_id: str, run_id: str, *, now: float, host: str = "ci-2", pid: int = 1) -> LockRequest:
    return LockRequest(
        id=lock_id,
        name="sandbox:console.db",
        owner=f"bob@{host} pid {pid}",
        host=host,
        pid=pid,
        run_id=run_id,
        now=now,
        ttl=30.0,
    )


def test_a_run_and_its_attempts_round_trip(store: StateStore) -> None:
    store.start_run(new_run("r1"))
    store.record_plan("r1", "sha256:feed", "dana@acme.example")
    first = store.start_attempt(attempt("r1", "provision:SUB-1:focus"))
    store.finish_attempt(first, AttemptOutcome.FAILED, 1002.0, "unavailable", "503 from the console")
    second = store.start_attempt(attempt("r1", "provision:SUB-1:focus", number=2))
    store.set_attempt_operation(second, "op-7")
    store.finish_attempt(second, AttemptOutcome.SUCCEEDED, 1003.0)
    third = store.start_attempt(attempt("r1", "provision:SUB-1:talent"))
    store.finish_attempt(third, AttemptOutcome.SKIPPED, 1003.5, "dependency-failed", "create-site failed")
    store.start_attempt(attempt("r1", "provision:SUB-2:talent"))
    store.finish_run("r1", RunOutcome.FAILED, 1004.0, "1 change did not succeed")

    run = store.run("r1")
    assert run is not None
    assert (run.outcome, run.finished, run.message) == (RunOutcome.FAILED, 1004.0, "1 change did not succeed")
    assert (run.plan_checksum, run.commit, run.paths) == ("sha256:feed", "abc123", ("desired-state",))
    assert run.actor == "dana@acme.example"
    # Counted by each change's last attempt: the failed first try of focus does not count.
    assert (run.succeeded, run.failed, run.skipped, run.unfinished) == (1, 0, 1, 1)

    attempts = store.attempts("r1")
    assert [(a.change_id, a.number, a.outcome) for a in attempts] == [
        ("provision:SUB-1:focus", 1, AttemptOutcome.FAILED),
        ("provision:SUB-1:focus", 2, AttemptOutcome.SUCCEEDED),
        ("provision:SUB-1:talent", 1, AttemptOutcome.SKIPPED),
        ("provision:SUB-2:talent", 1, AttemptOutcome.STARTED),
    ]
    assert (attempts[0].error_code, attempts[0].error_message) == ("unavailable", "503 from the console")
    assert attempts[1].operation_id == "op-7"
    assert attempts[3].finished is None


def test_runs_are_listed_newest_first_with_a_limit(store: StateStore) -> None:
    for index in range(5):
        store.start_run(new_run(f"r{index}", started=1000.0 + index))
        store.finish_run(f"r{index}", RunOutcome.CONVERGED, 1000.5 + index, None)
    assert [run.id for run in store.runs(3)] == ["r4", "r3", "r2"]
    assert store.run("missing") is None


def test_a_running_run_without_its_lock_shows_as_abandoned(store: StateStore) -> None:
    store.start_run(new_run("r1"))
    held = store.acquire_lock(lock_request("lk-1", "r1", now=time.time()))
    assert held.id == "lk-1"
    assert store.runs(5)[0].outcome is RunOutcome.RUNNING
    store.release_lock("lk-1")
    record = store.runs(5)[0]
    assert record.outcome is RunOutcome.ABANDONED
    assert record.message == "its process ended without finishing and no longer holds the lock"


def test_a_free_lock_is_taken_and_a_live_one_is_not(store: StateStore) -> None:
    now = time.time()
    first = store.acquire_lock(lock_request("lk-1", "r1", now=now))
    second = store.acquire_lock(lock_request("lk-2", "r2", now=now + 1))
    assert first.id == second.id == "lk-1"
    assert (second.owner, second.run_id, second.expires) == ("bob@ci-2 pid 1", "r1", now + 30.0)
    assert [lock.id for lock in store.locks()] == ["lk-1"]


def test_an_expired_lock_is_taken_over_and_its_run_marked_abandoned(store: StateStore) -> None:
    store.start_run(new_run("r1"))
    store.acquire_lock(lock_request("lk-1", "r1", now=1000.0))
    taken = store.acquire_lock(lock_request("lk-2", "r2", now=1030.0))
    assert taken.id == "lk-2"
    run = store.run("r1")
    assert run is not None
    assert run.outcome is RunOutcome.ABANDONED
    assert run.message == "its process ended without finishing; run r2 took the lock"


def test_renewing_pushes_the_expiry_and_fails_once_released(store: StateStore) -> None:
    store.acquire_lock(lock_request("lk-1", "r1", now=1000.0))
    assert store.renew_lock("lk-1", 1020.0, 30.0)
    assert store.locks()[0].expires == 1050.0
    assert store.acquire_lock(lock_request("lk-2", "r2", now=1040.0)).id == "lk-1"
    released = store.release_lock("lk-1")
    assert released is not None and released.id == "lk-1"
    assert not store.renew_lock("lk-1", 1041.0, 30.0)
    assert store.release_lock("lk-1") is None
    assert store.locks() == []


def test_many_threads_write_the_journal_without_losing_a_record(store: StateStore) -> None:
    store.start_run(new_run("r1"))

    def work(thread: int) -> None:
        for index in range(50):
            attempt_id = store.start_attempt(attempt("r1", f"c{thread}-{index}"))
            store.finish_attempt(attempt_id, AttemptOutcome.SUCCEEDED, 1002.0)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run = store.run("r1")
    assert run is not None and run.succeeded == 400
    assert len(store.attempts("r1")) == 400


GH, BK, JENKINS = "a1" * 20, "b2" * 32, "c3" * 20


def test_the_commit_comes_from_the_first_ci_variable_set() -> None:
    assert ci_commit({}) is None
    assert ci_commit({"GIT_COMMIT": JENKINS, "GITHUB_SHA": GH}) == GH
    assert ci_commit({"CI_COMMIT_SHA": "  ", "BUILDKITE_COMMIT": BK}) == BK
    assert ci_commit({"GITHUB_SHA": f" {GH}\n"}) == GH


@pytest.mark.parametrize(
    "malformed", ["main", "gh1", GH.upper(), GH[:39], GH + "0", f"{GH}\nsecond line", f"{GH[:20]} {GH[20:]}"]
)
def test_a_ci_variable_that_holds_no_commit_id_is_passed_over(malformed: str, tmp_path: Path) -> None:
    """The journal only records the commit: what is no commit id is left out, never an error."""
    assert ci_commit({"GITHUB_SHA": malformed}) is None
    assert ci_commit({"GITHUB_SHA": malformed, "GIT_COMMIT": JENKINS}) == JENKINS
    assert ci_commit({"CI_COMMIT_SHA": malformed}, checkout=tmp_path) is None  # no work tree there


def test_times_are_shown_in_utc_to_the_second() -> None:
    assert format_time(0.0) == "1970-01-01T00:00:00Z"
    assert format_time(1795262403.9) == "2026-11-21T12:00:03Z"


def test_a_running_run_whose_heartbeat_lapsed_shows_as_abandoned(store: StateStore) -> None:
    now = store.clock()
    store.start_run(new_run("r1", started=now - 100))
    store.acquire_lock(lock_request("lk-1", "r1", now=now - 100))
    record = store.runs(5)[0]
    assert (record.outcome, record.message) == (
        RunOutcome.ABANDONED,
        "its holder stopped renewing the lock (heartbeat lapsed past the TTL)",
    )


def test_a_dead_holder_is_taken_over_at_once_only_from_its_own_pid_namespace(store: StateStore) -> None:
    gone = 2**22 + 12345  # above pid_max: no process has it
    now = store.clock()
    here = replace(lock_request("lk-1", "r1", now=now), host=host_name(), pid=gone, namespace=pid_namespace())
    store.acquire_lock(here)
    # Same hostname, another container: its pid says nothing, the lock is waited out.
    other_container = replace(here, id="lk-2", run_id="r2", namespace="boot/pid:[4026532999]")
    assert store.acquire_lock(other_container).id == "lk-1"
    same_namespace = replace(here, id="lk-3", run_id="r3", pid=os.getpid())
    assert store.acquire_lock(same_namespace).id == "lk-3"


def test_the_store_clock_is_the_time_now(store: StateStore) -> None:
    assert abs(store.clock() - time.time()) < 5


def test_attempts_journaled_together_keep_their_order_and_only_unsent_ones_can_be_withdrawn(
    store: StateStore,
) -> None:
    store.start_run(new_run("r1"))
    ids = store.start_attempts([attempt("r1", "c1"), attempt("r1", "c2"), attempt("r1", "c3")])
    assert len(set(ids)) == 3
    assert [(a.id, a.change_id, a.outcome) for a in store.attempts("r1")] == [
        (ids[0], "c1", AttemptOutcome.STARTED),
        (ids[1], "c2", AttemptOutcome.STARTED),
        (ids[2], "c3", AttemptOutcome.STARTED),
    ]
    store.finish_attempt(ids[0], AttemptOutcome.SUCCEEDED, 1002.0)
    store.withdraw_attempts([ids[0], ids[2]])  # c1 was sent and ended: it stays
    assert [(a.change_id, a.outcome) for a in store.attempts("r1")] == [
        ("c1", AttemptOutcome.SUCCEEDED),
        ("c2", AttemptOutcome.STARTED),
    ]
    store.withdraw_attempts([])


def test_an_outcome_not_waited_for_is_in_the_journal_once_flushed(state_url: str) -> None:
    from reconciler.store import open_existing_store, open_store

    store = open_store(state_url)
    store.start_run(new_run("r1"))
    (first,) = store.start_attempts([attempt("r1", "c1")])
    store.finish_attempt(first, AttemptOutcome.SUCCEEDED, 1002.0, operation_id="op-1", wait=False)
    store.flush()
    other = open_existing_store(state_url)  # another runner's view
    assert other is not None
    try:
        (seen,) = other.attempts("r1")
        assert (seen.outcome, seen.finished, seen.operation_id) == (AttemptOutcome.SUCCEEDED, 1002.0, "op-1")
    finally:
        other.close()
        store.close()
