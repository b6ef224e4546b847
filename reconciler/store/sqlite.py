"""The built-in state store: one SQLite file (`sqlite:PATH`).

WAL lets `history` read while an apply writes; `busy_timeout` makes concurrent writers queue
instead of failing; every write is one short transaction. `synchronous = FULL` fsyncs the WAL at
the commit of an attempt recorded before its request goes out, so that record survives a power
cut too, not only a killed process. Every other write (an outcome, a heartbeat) commits with
synchronous=NORMAL: a power cut may lose it, which leaves the attempt `started`, exactly what the
next apply re-checks; the next durable commit syncs it along (the WAL is one sequential file).
That is one fsync per change instead of two (bench/state_speed.py measures both), and fewer when
the executor's threads record attempts at once: the rows waiting share one commit and one fsync
(groupcommit.py), each thread going on only once its own row is on disk. One connection per
store, shared by the executor's threads behind a lock. The outcomes that wait for it meanwhile are
written by the next transaction to hold it, in one commit, before any of their writers goes on;
an outcome recorded with `wait=False` (a success) is only queued for that next transaction, or for
`flush()`, which `close()` calls too.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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
    StoreMark,
    UnwrittenOutcomes,
)
from reconciler.store.failures import sqlite_failure
from reconciler.store.groupcommit import GroupCommit, Riders
from reconciler.store.liveness import HolderState, holder_state
from reconciler.store.records import (
    ATTEMPT_COLUMNS,
    LOCK_COLUMNS,
    RUN_COLUMNS,
    Row,
    attempt_record,
    attempt_row,
    held_by,
    lock_record,
    lock_row,
    new_run_row,
    run_record,
    taken_over_message,
)
from reconciler.userpaths import check_creatable, lock_beside

#: 2: a lock records its holder's boot and PID namespace
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 15_000
_CREATE_HINT = "point --state / RECONCILER_STATE at a file in a directory you can write to"
TABLES = ("runs", "attempts", "locks")

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
    expires REAL NOT NULL,
    namespace TEXT NOT NULL DEFAULT ''
);
"""

#: from version N to N + 1
_MIGRATIONS = {1: ("ALTER TABLE locks ADD COLUMN namespace TEXT NOT NULL DEFAULT ''",)}

_RUNS = RUN_COLUMNS.format(user="user")
_FINISH_ATTEMPT = (
    "UPDATE attempts SET outcome = ?, finished = ?, error_code = ?, error_message = ?, "
    "operation_id = coalesce(?, operation_id) WHERE id = ?"
)
_INSERT_ATTEMPT = (
    "INSERT INTO attempts (run_id, change_id, action, subject, number, idempotency_key, started, outcome) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqliteStore:
    """`StateStore` over one SQLite file."""

    #: SQLite's `synchronous` for every write, and for the commits that record attempts (which
    #: must be on disk before their request goes out); bench/state_speed.py compares other settings
    synchronous = "NORMAL"
    attempt_synchronous = "FULL"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mutex = threading.Lock()
        self._attempts: GroupCommit[Sequence[object], int] = GroupCommit(self._insert_attempts)
        self._outcomes: Riders[Sequence[object]] = Riders()
        missing = _missing_parts(path)
        if path in missing:  # a new store: a path through a file is named, not SQLite's "File exists"
            check_creatable(path, "the state store (--state)", _CREATE_HINT)
        with _creating(path, self.description, missing) if missing else contextlib.nullcontext():
            self._open(path)

    def _open(self, path: Path) -> None:
        created = _missing_parts(path)  # again under the creation lock: another runner's by now
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            _remove(created)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise sqlite_failure(self.description, reason) from exc
        try:
            with self._guard():
                self._prepare()
        except BaseException:
            self._db.close()
            _remove(created)  # a store that could not be made leaves no file behind
            raise

    @property
    def description(self) -> str:
        return f"sqlite:{self.path}"

    def clock(self) -> float:
        return time.time()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise sqlite_failure(self.description, str(exc)) from exc

    def _prepare(self) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(f"PRAGMA synchronous = {self.synchronous}")
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if version > SCHEMA_VERSION:
                raise ReconcilerError(
                    f"the state store {self.description} was written by a newer reconciler "
                    f"(schema {version}; this one knows up to {SCHEMA_VERSION})",
                    hint="upgrade reconciler, or point --state at another file",
                )
            if version == 0:
                self._create(db, tables)
                return
            missing = [name for name in TABLES if name not in tables]
            if missing:
                raise sqlite_failure(self.description, f"no such table: {missing[0]}")
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _create(self, db: sqlite3.Connection, tables: set[str]) -> None:
        if tables - {*TABLES, "sqlite_sequence"}:
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
        with self._mutex, self._guard():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _write(self, sql: str, params: Sequence[object]) -> sqlite3.Cursor:
        with self._mutex, self._guard():
            return self._db.execute(sql, params)

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._mutex, self._guard():
            return self._db.execute(sql, params).fetchall()

    # --- runs ---------------------------------------------------------------------------------------

    def start_run(self, run: NewRun) -> None:
        self._write(
            f"INSERT INTO runs ({_RUNS}) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, NULL, ?, NULL)",
            new_run_row(run),
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
        rows = self._read(f"SELECT {_RUNS} FROM runs ORDER BY started DESC, id DESC LIMIT ?", (limit,))
        return self._runs_from_rows(rows)

    def run(self, run_id: str) -> RunRecord | None:
        found = self._runs_from_rows(self._read(f"SELECT {_RUNS} FROM runs WHERE id = ?", (run_id,)))
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
        holders = {lock.run_id: lock for lock in self.locks()}
        now = self.clock()
        return [run_record(row, counts[str(row[0])], holders, now) for row in rows]

    # --- the journal --------------------------------------------------------------------------------

    def start_attempt(self, attempt: NewAttempt) -> int:
        return self._attempts.submit(attempt_row(attempt))

    def start_attempts(self, attempts: Sequence[NewAttempt]) -> list[int]:
        return self._attempts.submit_all([attempt_row(attempt) for attempt in attempts])

    def withdraw_attempts(self, attempt_ids: Sequence[int]) -> None:
        if attempt_ids:
            marks = ", ".join("?" * len(attempt_ids))
            self._write(
                f"DELETE FROM attempts WHERE id IN ({marks}) AND outcome = ?",
                (*attempt_ids, AttemptOutcome.STARTED.value),
            )

    def _insert_attempts(self, rows: Sequence[Sequence[object]]) -> list[int]:
        """Attempts on disk when this returns, power cut or not, in one transaction: one fsync for
        all the threads recording one at that moment (and every write before them). The outcomes
        waiting for the connection meanwhile ride along in the same transaction."""
        with self._mutex, self._guard():
            self._db.execute(f"PRAGMA synchronous = {self.attempt_synchronous}")
            try:
                with self._begun() as db, self._outcomes.carried() as outcomes:
                    ids = [db.execute(_INSERT_ATTEMPT, row).lastrowid for row in rows]
                    db.executemany(_FINISH_ATTEMPT, outcomes)
                    db.execute("COMMIT")
            finally:
                self._db.execute(f"PRAGMA synchronous = {self.synchronous}")
        return [row_id for row_id in ids if row_id is not None]

    @contextmanager
    def _begun(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE, for a block that ends with its COMMIT; if it fails, nothing is left open."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

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
        *,
        wait: bool = True,
    ) -> None:
        mine = self._outcomes.join(
            (outcome.value, finished, error_code, error_message, operation_id, attempt_id)
        )
        if not wait:
            return  # committed by the next transaction on this connection, or by flush()
        with self._mutex, self._guard():
            if mine.done:
                return  # a transaction that held the connection meanwhile committed it
            with self._outcomes.carried(mine) as outcomes:
                if len(outcomes) == 1:
                    self._db.execute(_FINISH_ATTEMPT, outcomes[0])
                    return
                with self._begun() as db:
                    db.executemany(_FINISH_ATTEMPT, outcomes)
                    db.execute("COMMIT")

    def flush(self) -> None:
        try:
            with self._mutex, self._guard(), self._outcomes.carried() as outcomes:
                if outcomes:
                    with self._begun() as db:
                        db.executemany(_FINISH_ATTEMPT, outcomes)
                        db.execute("COMMIT")
        except ReconcilerError as error:
            unwritten = frozenset(int(row[-1]) for row in self._outcomes.queued())  # type: ignore[call-overload]
            raise UnwrittenOutcomes(error, unwritten) from error

    def attempts(self, run_id: str) -> list[AttemptRecord]:
        self.flush()  # this run's own outcomes kept back are part of what it reads
        rows = self._read(f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE run_id = ? ORDER BY id", (run_id,))
        return [attempt_record(row) for row in rows]

    # --- locks --------------------------------------------------------------------------------------

    def acquire_lock(self, request: LockRequest) -> LockRecord:
        with self._transaction() as db:
            row = db.execute(f"SELECT {LOCK_COLUMNS} FROM locks WHERE name = ?", (request.name,)).fetchone()
            if row is not None:
                holder = lock_record(row)
                if holder_state(holder, request.now, (request.host, request.namespace)) is HolderState.LIVE:
                    return holder
                db.execute("DELETE FROM locks WHERE name = ?", (request.name,))
            taken = held_by(request)
            db.execute(
                f"INSERT INTO locks ({LOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", lock_row(taken)
            )
            # Whoever held this lock before is gone: its runs still marked running never finished.
            db.execute(
                "UPDATE runs SET outcome = ?, message = ? WHERE lock_name = ? AND outcome = ? AND id != ?",
                (
                    RunOutcome.ABANDONED.value,
                    taken_over_message(request.run_id),
                    request.name,
                    RunOutcome.RUNNING.value,
                    request.run_id,
                ),
            )
            return taken

    def renew_lock(self, lock_id: str, now: float, ttl: float) -> bool:
        cursor = self._write(
            "UPDATE locks SET heartbeat = ?, expires = ? WHERE id = ?", (now, now + ttl, lock_id)
        )
        return cursor.rowcount == 1

    def release_lock(self, lock_id: str) -> LockRecord | None:
        with self._transaction() as db:
            row = db.execute(f"SELECT {LOCK_COLUMNS} FROM locks WHERE id = ?", (lock_id,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM locks WHERE id = ?", (lock_id,))
            return lock_record(row)

    def locks(self) -> list[LockRecord]:
        return [lock_record(row) for row in self._read(f"SELECT {LOCK_COLUMNS} FROM locks ORDER BY name")]

    def mark(self) -> StoreMark:
        with self._mutex, self._guard():
            counter = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            held = frozenset(str(row[0]) for row in self._db.execute("SELECT name FROM locks"))
        return StoreMark(counter, held)

    def written_since(self, mark: StoreMark) -> bool:
        # data_version moves when another connection commits; never for this connection's own writes.
        with self._mutex, self._guard():
            return int(self._db.execute("PRAGMA data_version").fetchone()[0]) != mark.counter

    def close(self) -> None:
        # Outcomes kept back are committed first; if that fails, their attempts stay `started`,
        # which is what the next apply re-checks.
        with contextlib.suppress(ReconcilerError):
            self.flush()
        with self._mutex:
            self._db.close()


@contextmanager
def _creating(path: Path, description: str, missing: list[Path]) -> Iterator[None]:
    """Runners that make the same new store at once take turns: the first makes it, the others
    find it made. Made side by side, one's switch to WAL failed at once as locked and the files it
    then took away were the other's (a disk I/O error for both)."""
    with contextlib.ExitStack() as stack:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = stack.enter_context(lock_beside(path))
        except OSError as exc:
            raise sqlite_failure(description, exc.strerror or str(exc)) from exc
        try:
            yield
        finally:
            if not path.exists():  # not made: it leaves nothing behind, its lock and folders neither
                lock.unlink(missing_ok=True)
                for part in missing:
                    with contextlib.suppress(OSError):
                        if part.is_dir():
                            part.rmdir()


def _missing_parts(path: Path) -> list[Path]:
    """The file, its -wal and -shm, and the directories above it that do not exist yet, deepest first."""
    missing = [side for side in (Path(f"{path}-wal"), Path(f"{path}-shm")) if not side.exists()]
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            break
        missing.append(candidate)
    return missing


def _remove(created: list[Path]) -> None:
    """Undo a failed open. A -wal with content is another process's by now: it is never removed."""
    wal = created[0] if created and created[0].name.endswith("-wal") else None
    if wal is not None and wal.exists() and wal.stat().st_size > 0:
        return
    for part in created:
        try:
            if part.is_dir():
                part.rmdir()
            else:
                part.unlink(missing_ok=True)
                Path(f"{part}-journal").unlink(missing_ok=True)
        except OSError:
            return  # something else was put there meanwhile: leave it
