"""Rows to records, alike for every SQL store: the columns, and what a run's outcome really is."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.store.base import (
    AttemptOutcome,
    AttemptRecord,
    LockRecord,
    LockRequest,
    NewAttempt,
    NewRun,
    RunOutcome,
    RunRecord,
)
from reconciler.store.liveness import HolderState, holder_state

RUN_COLUMNS = (
    "id, started, finished, actor, {user}, provider, lock_name, git_commit, paths, plan_checksum, outcome, "
    "message"
)
ATTEMPT_COLUMNS = (
    "id, run_id, change_id, action, subject, number, idempotency_key, started, finished, outcome, "
    "operation_id, error_code, error_message"
)
LOCK_COLUMNS = "id, name, owner, host, pid, run_id, acquired, heartbeat, expires, namespace"

Row = tuple[Any, ...]

_GONE = {
    HolderState.EXPIRED: "its holder stopped renewing the lock (heartbeat lapsed past the TTL)",
    HolderState.DEAD: "its process ended without finishing",
}


def taken_over_message(taker_run: str) -> str:
    return f"its process ended without finishing; run {taker_run} took the lock"


def run_record(
    row: Row, counts: Mapping[str, int], holders: Mapping[str, LockRecord], now: float
) -> RunRecord:
    """A run as it really stands: `running` only while a live holder keeps its lock."""
    outcome = RunOutcome(str(row[10]))
    message = _optional_str(row[11])
    if outcome is RunOutcome.RUNNING:
        lock = holders.get(str(row[0]))
        if lock is None:
            # Its lock is gone (taken over, or unlocked by hand): no process is driving it any more.
            outcome = RunOutcome.ABANDONED
            message = message or "its process ended without finishing and no longer holds the lock"
        elif (state := holder_state(lock, now)) is not HolderState.LIVE:
            outcome, message = RunOutcome.ABANDONED, _GONE[state]
    return RunRecord(
        id=str(row[0]),
        started=float(row[1]),
        finished=_optional_float(row[2]),
        actor=_optional_str(row[3]),
        user=str(row[4]),
        provider=str(row[5]),
        lock_name=str(row[6]),
        commit=_optional_str(row[7]),
        paths=tuple(json.loads(str(row[8]))),
        plan_checksum=_optional_str(row[9]),
        outcome=outcome,
        message=message,
        succeeded=counts.get(AttemptOutcome.SUCCEEDED, 0),
        failed=counts.get(AttemptOutcome.FAILED, 0),
        skipped=counts.get(AttemptOutcome.SKIPPED, 0),
        interrupted=counts.get(AttemptOutcome.INTERRUPTED, 0),
        unfinished=counts.get(AttemptOutcome.STARTED, 0),
    )


def attempt_record(row: Row) -> AttemptRecord:
    return AttemptRecord(
        id=int(row[0]),
        run_id=str(row[1]),
        change_id=str(row[2]),
        action=str(row[3]),
        subject=str(row[4]),
        number=int(row[5]),
        idempotency_key=str(row[6]),
        started=float(row[7]),
        finished=_optional_float(row[8]),
        outcome=AttemptOutcome(str(row[9])),
        operation_id=_optional_str(row[10]),
        error_code=_optional_str(row[11]),
        error_message=_optional_str(row[12]),
    )


def lock_record(row: Row) -> LockRecord:
    return LockRecord(
        id=str(row[0]),
        name=str(row[1]),
        owner=str(row[2]),
        host=str(row[3]),
        pid=int(row[4]),
        run_id=str(row[5]),
        acquired=float(row[6]),
        heartbeat=float(row[7]),
        expires=float(row[8]),
        namespace=str(row[9]),
    )


def held_by(request: LockRequest) -> LockRecord:
    """The lock as `request` takes it."""
    return LockRecord(
        id=request.id,
        name=request.name,
        owner=request.owner,
        host=request.host,
        pid=request.pid,
        run_id=request.run_id,
        acquired=request.now,
        heartbeat=request.now,
        expires=request.now + request.ttl,
        namespace=request.namespace,
    )


def attempt_row(attempt: NewAttempt) -> tuple[object, ...]:
    """A new attempt, `started`, in the order the stores insert it."""
    return (
        attempt.run_id,
        attempt.change_id,
        attempt.action,
        attempt.subject,
        attempt.number,
        attempt.idempotency_key,
        attempt.started,
        AttemptOutcome.STARTED.value,
    )


def lock_row(lock: LockRecord) -> tuple[object, ...]:
    """In LOCK_COLUMNS order."""
    return (
        lock.id,
        lock.name,
        lock.owner,
        lock.host,
        lock.pid,
        lock.run_id,
        lock.acquired,
        lock.heartbeat,
        lock.expires,
        lock.namespace,
    )


def new_run_row(run: NewRun) -> tuple[object, ...]:
    """The values of a run's INSERT, in the order both backends' statements name them."""
    return (
        run.id,
        run.started,
        run.actor,
        run.user,
        run.provider,
        run.lock_name,
        run.commit,
        paths_json(run.paths),
        RunOutcome.RUNNING.value,
    )


def paths_json(paths: tuple[str, ...]) -> str:
    return json.dumps(list(paths))


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
