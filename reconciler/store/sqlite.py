"""The built-in state store: one SQLite file (`sqlite:PATH`).

WAL lets `history` read while an apply writes; `busy_timeout` makes concurrent writers queue
instead of failing; every write is one short transaction, so a `kill -9` loses at most the
write in flight, never a record already committed. One connection per store, shared by the
executor's threads behind a lock: each statement takes microseconds, so they never wait long.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
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
from reconciler.store.identity import pid_alive

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 15_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    actor TEXT,
    user TEXT NOT NULL,
    provider TEXT NOT NULL,
    lock_name TEXT NOT NULL,
    git_commit TEXT,
    paths TEXT NOT NULL,
    plan_checksum TEXT,
    outcome TEXT NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    change_id TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    number INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    outcome TEXT NOT NULL,
    operation_id TEXT,
    error_code TEXT,
    error_message TEXT
);
CREATE INDEX IF NOT EXISTS attempts_by_run ON attempts (run_id, id);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    acquired REAL NOT NULL,
    heartbeat REAL NOT NULL,
    expires REAL NOT NULL
);
"""

_RUN_COLUMNS = (
    "id, started, finished, actor, user, provider, lock_name, git_commit, paths, plan_checksum, "
    "outcome, message"
)
_ATTEMPT_COLUMNS = (
    "id, run_id, change_id, action, subject, number, idempotency_key, started, finished, outcome, "
    "operation_id, error_code, error_message"
)
Row = tuple[Any, ...]

_LOCK_COLUMNS = "id, name, owner, host, pid, run_id, acquired, heartbeat, expires"


class SqliteStore:
    """`StateStore` over one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mutex = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            self._prepare()
        except (OSError, sqlite3.Error) as exc:
            raise ReconcilerError(
                f"cannot open the state store {path}: {exc}",
                hint="set --state / RECONCILER_STATE to sqlite:PATH of a writable file",
            ) from exc

    @property
    def description(self) -> str:
        return f"sqlite:{self.path}"

    def _prepare(self) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode survives a killed process (the WAL is in the OS cache); only a power
        # cut can lose the last commits, and it costs an fsync per checkpoint instead of per write.
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ReconcilerError(
                    f"the state store {self.path} was written by a newer reconciler (schema {version})",
                    hint="upgrade reconciler, or point --state at another file",
                )
            if version == 0:
                foreign = db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT IN ('runs', 'attempts', 'locks', 'sqlite_sequence')"
                ).fetchall()
                if foreign:
                    raise ReconcilerError(
                        f"{self.path} is an SQLite database but not a reconciler state store",
                        hint="point --state / RECONCILER_STATE at another file",
                    )
                # Statement by statement: executescript() would commit the open transaction first.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: writers queue on busy_timeout instead of deadlocking."""
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _write(self, sql: str, params: Sequence[object]) -> sqlite3.Cursor:
        with self._mutex:
            return self._db.execute(sql, params)

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._mutex:
            return self._db.execute(sql, params).fetchall()

    # --- runs ---------------------------------------------------------------------------------------

    def start_run(self, run: NewRun) -> None:
        self._write(
            f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, NULL, ?, NULL)",
            (
                run.id,
                run.started,
                run.actor,
                run.user,
                run.provider,
                run.lock_name,
                run.commit,
                json.dumps(list(run.paths)),
                RunOutcome.RUNNING.value,
            ),
        )

    def record_plan(self, run_id: str, checksum: str, actor: str | None) -> None:
        """The re-plan is made once the lock is held: only then are its checksum and actor known."""
        self._write(
            "UPDATE runs SET plan_checksum = ?, actor = coalesce(?, actor) WHERE id = ?",
            (checksum, actor, run_id),
        )

    def finish_run(self, run_id: str, outcome: RunOutcome, finished: float, message: str | None) -> None:
        self._write(
            "UPDATE runs SET outcome = ?, finished = ?, message = ? WHERE id = ?",
            (outcome.value, finished, message, run_id),
        )

    def runs(self, limit: int) -> list[RunRecord]:
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY started DESC, id DESC LIMIT ?", (limit,))
        return self._runs_from_rows(rows)

    def run(self, run_id: str) -> RunRecord | None:
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        found = self._runs_from_rows(rows)
        return found[0] if found else None

    def _runs_from_rows(self, rows: list[Row]) -> list[RunRecord]:
        if not rows:
            return []
        ids = [str(row[0]) for row in rows]
        marks = ", ".join("?" for _ in ids)
        counts: dict[str, dict[str, int]] = {run_id: {} for run_id in ids}
        # The final outcome of a change is the outcome of its last attempt.
        for run_id, outcome, count in self._read(
            f"SELECT a.run_id, a.outcome, COUNT(*) FROM attempts a JOIN ("
            f"  SELECT MAX(id) AS id FROM attempts WHERE run_id IN ({marks}) GROUP BY run_id, change_id"
            f") last ON a.id = last.id GROUP BY a.run_id, a.outcome",
            ids,
        ):
            counts[str(run_id)][str(outcome)] = int(count)
        held = {str(row[0]) for row in self._read("SELECT run_id FROM locks")}
        return [_run_record(row, counts[str(row[0])], held) for row in rows]

    # --- the journal --------------------------------------------------------------------------------

    def start_attempt(self, attempt: NewAttempt) -> int:
        cursor = self._write(
            "INSERT INTO attempts (run_id, change_id, action, subject, number, idempotency_key, started, "
            "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                attempt.run_id,
                attempt.change_id,
                attempt.action,
                attempt.subject,
                attempt.number,
                attempt.idempotency_key,
                attempt.started,
                AttemptOutcome.STARTED.value,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def set_attempt_operation(self, attempt_id: int, operation_id: str) -> None:
        self._write("UPDATE attempts SET operation_id = ? WHERE id = ?", (operation_id, attempt_id))

    def finish_attempt(
        self,
        attempt_id: int,
        outcome: AttemptOutcome,
        finished: float,
        error_code: str | None = None,
        error_message: str | None = None,
        operation_id: str | None = None,
    ) -> None:
        self._write(
            "UPDATE attempts SET outcome = ?, finished = ?, error_code = ?, error_message = ?, "
            "operation_id = coalesce(?, operation_id) WHERE id = ?",
            (outcome.value, finished, error_code, error_message, operation_id, attempt_id),
        )

    def attempts(self, run_id: str) -> list[AttemptRecord]:
        rows = self._read(f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE run_id = ? ORDER BY id", (run_id,))
        return [_attempt_record(row) for row in rows]

    # --- locks --------------------------------------------------------------------------------------

    def acquire_lock(self, request: LockRequest) -> LockRecord:
        with self._transaction() as db:
            row = db.execute(f"SELECT {_LOCK_COLUMNS} FROM locks WHERE name = ?", (request.name,)).fetchone()
            if row is not None:
                holder = _lock_record(row)
                dead = holder.host == request.host and not pid_alive(holder.pid)
                if not (dead or holder.expired(request.now)):
                    return holder
                db.execute("DELETE FROM locks WHERE name = ?", (request.name,))
            db.execute(
                f"INSERT INTO locks ({_LOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.id,
                    request.name,
                    request.owner,
                    request.host,
                    request.pid,
                    request.run_id,
                    request.now,
                    request.now,
                    request.now + request.ttl,
                ),
            )
            # Whoever held this lock before is gone: its runs still marked running never finished.
            db.execute(
                "UPDATE runs SET outcome = ?, message = ? WHERE lock_name = ? AND outcome = ? AND id != ?",
                (
                    RunOutcome.ABANDONED.value,
                    f"its process ended without finishing; run {request.run_id} took the lock",
                    request.name,
                    RunOutcome.RUNNING.value,
                    request.run_id,
                ),
            )
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
            )

    def renew_lock(self, lock_id: str, now: float, ttl: float) -> bool:
        cursor = self._write(
            "UPDATE locks SET heartbeat = ?, expires = ? WHERE id = ?", (now, now + ttl, lock_id)
        )
        return cursor.rowcount == 1

    def release_lock(self, lock_id: str) -> LockRecord | None:
        with self._transaction() as db:
            row = db.execute(f"SELECT {_LOCK_COLUMNS} FROM locks WHERE id = ?", (lock_id,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM locks WHERE id = ?", (lock_id,))
            return _lock_record(row)

    def locks(self) -> list[LockRecord]:
        return [_lock_record(row) for row in self._read(f"SELECT {_LOCK_COLUMNS} FROM locks ORDER BY name")]

    def close(self) -> None:
        with self._mutex:
            self._db.close()


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _run_record(row: Row, counts: dict[str, int], held: set[str]) -> RunRecord:
    outcome = RunOutcome(str(row[10]))
    message = _optional_str(row[11])
    if outcome is RunOutcome.RUNNING and str(row[0]) not in held:
        # Its lock is gone (expired and taken, or unlocked by hand): no process is driving it any more.
        outcome = RunOutcome.ABANDONED
        message = message or "its process ended without finishing and no longer holds the lock"
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


def _attempt_record(row: Row) -> AttemptRecord:
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


def _lock_record(row: Row) -> LockRecord:
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
    )
