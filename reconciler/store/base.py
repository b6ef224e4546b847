"""What the state store keeps, and the protocol any store implements.

The store is the memory of `apply`: one row per run, one row per attempt at a change (the
journal), and one lock per console. SQLite (one machine) and PostgreSQL (a team whose CI runners
share one database) implement `StateStore`; nothing else knows which one is in use.
Times are POSIX seconds (UTC); nothing here ever holds a credential.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

import msgspec

from reconciler.errors import ReconcilerError


class RunOutcome(StrEnum):
    RUNNING = "running"
    CONVERGED = "converged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    REFUSED = "refused"
    #: left `running` by a process that died; marked when the next holder takes the lock
    ABANDONED = "abandoned"
    #: stopped at runbook steps a person has to take (a provider that cannot write); exit 3
    WAITING = "waiting"


class AttemptOutcome(StrEnum):
    #: written before the request goes out, so a crash leaves a trace of what may have been sent
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


class NewRun(msgspec.Struct, frozen=True):
    """What is known about a run when it starts."""

    id: str
    started: float
    actor: str | None  # the console identity that acts
    user: str  # who ran the command: user@host pid N
    provider: str  # the provider's description (no credential)
    lock_name: str
    commit: str | None  # from the CI environment, when present
    paths: tuple[str, ...]


class RunRecord(msgspec.Struct, frozen=True):
    id: str
    started: float
    finished: float | None
    actor: str | None
    user: str
    provider: str
    lock_name: str
    commit: str | None
    paths: tuple[str, ...]
    plan_checksum: str | None
    outcome: RunOutcome
    message: str | None  # why a run was refused or failed, in one line
    #: change counts by final outcome (the last attempt of each change)
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: int = 0
    unfinished: int = 0  # changes whose last attempt never recorded an outcome


class NewAttempt(msgspec.Struct, frozen=True):
    run_id: str
    change_id: str
    action: str
    subject: str  # e.g. "SUB-1001 focus -> acme", for people reading the journal
    number: int  # 1 for the first try of this change in this run
    idempotency_key: str
    started: float


class AttemptRecord(msgspec.Struct, frozen=True):
    id: int
    run_id: str
    change_id: str
    action: str
    subject: str
    number: int
    idempotency_key: str
    started: float
    finished: float | None
    outcome: AttemptOutcome
    operation_id: str | None
    error_code: str | None
    error_message: str | None


class LockRequest(msgspec.Struct, frozen=True):
    """Who wants a lock, for how long."""

    id: str  # the holder's random token, fresh per acquisition: `unlock` of an old id frees no newer holder
    name: str
    owner: str  # user@host pid N
    host: str
    pid: int
    run_id: str
    now: float  # by the store's clock (`StateStore.clock`), so runners with skewed clocks agree
    ttl: float
    #: boot and PID namespace of the holder: only a taker in the same one can prove the pid dead
    namespace: str = ""


class LockRecord(msgspec.Struct, frozen=True):
    id: str
    name: str
    owner: str
    host: str
    pid: int
    run_id: str
    acquired: float
    heartbeat: float
    expires: float
    namespace: str = ""

    def expired(self, now: float) -> bool:
        return self.expires <= now


class UnwrittenOutcomes(ReconcilerError):
    """Outcomes kept back (`finish_attempt(wait=False)`) that the store then failed to commit."""

    def __init__(self, error: ReconcilerError, attempt_ids: frozenset[int]) -> None:
        super().__init__(error.message, hint=error.hint, exit_code=error.exit_code)
        self.attempt_ids = attempt_ids


class StoreMark(msgspec.Struct, frozen=True):
    """The store as one read saw it, for `StateStore.written_since`: its change counter, and the
    names of the locks it held then (live or not)."""

    counter: int
    held: frozenset[str]


class StateStore(Protocol):
    """Runs, the journal of attempts, and locks. Safe to call from several threads and processes."""

    @property
    def description(self) -> str:
        """Where the store is, for messages: never with a password."""
        ...

    def clock(self) -> float:
        """Now, by the store's clock: what lock expiries are measured against."""
        ...

    # --- runs
    def start_run(self, run: NewRun) -> None: ...
    def record_plan(self, run_id: str, checksum: str, actor: str | None) -> None: ...
    def finish_run(self, run_id: str, outcome: RunOutcome, finished: float, message: str | None) -> None: ...
    def runs(self, limit: int) -> list[RunRecord]: ...
    def run(self, run_id: str) -> RunRecord | None: ...

    # --- the journal
    def start_attempt(self, attempt: NewAttempt) -> int: ...
    def start_attempts(self, attempts: Sequence[NewAttempt]) -> list[int]:
        """Several attempts on disk together (one commit where the store can), their ids in order."""
        ...

    def withdraw_attempts(self, attempt_ids: Sequence[int]) -> None:
        """Remove attempts journaled ahead whose request was never sent (still `started`)."""
        ...

    def set_attempt_operation(self, attempt_id: int, operation_id: str) -> None: ...
    def finish_attempt(
        self,
        attempt_id: int,
        outcome: AttemptOutcome,
        finished: float,
        error_code: str | None = None,
        error_message: str | None = None,
        operation_id: str | None = None,
        *,
        wait: bool = True,
    ) -> None:
        """Record how an attempt ended. With `wait=False` the store may keep the row back and commit
        it with its next write, or at `flush()`: until then a crash leaves the attempt `started`."""
        ...

    def flush(self) -> None:
        """Commit every outcome kept back; `UnwrittenOutcomes` names those that could not be."""
        ...

    def attempts(self, run_id: str) -> list[AttemptRecord]: ...

    # --- locks
    def acquire_lock(self, request: LockRequest) -> LockRecord:
        """Take the lock if it is free, expired, or held by a provably dead process (`liveness`).

        Returns the holder afterwards: `request.id` when it was taken, else the current holder.
        Taking it marks the runs that held it before and are still `running` as abandoned.
        """
        ...

    def renew_lock(self, lock_id: str, now: float, ttl: float) -> bool:
        """Move the expiry on; False when the lock is no longer held under this id."""
        ...

    def release_lock(self, lock_id: str) -> LockRecord | None: ...
    def locks(self) -> list[LockRecord]: ...

    def mark(self) -> StoreMark | None:
        """A mark of the store now, or None when this store cannot tell later whether anyone wrote."""
        ...

    def written_since(self, mark: StoreMark) -> bool:
        """Whether any other connection (another runner, process or thread) committed since `mark`;
        this connection's own writes do not count."""
        ...

    def close(self) -> None: ...


def format_time(seconds: float) -> str:
    """`2026-11-21T12:00:03Z`: UTC, to the second, the way history and messages show times."""
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
