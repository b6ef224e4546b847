"""The team state store: PostgreSQL (`postgresql://USER@HOST:PORT/DB`, also `postgres://`).

Every CI runner of a team points at one database: one lock per console for all of them, one
journal that `history` reads from anywhere. psycopg 3 is imported only here, so a user of the
SQLite store never loads it. The password comes from the URL, PGPASSWORD or ~/.pgpass (libpq
reads both) and is never shown: `description` drops it and every error message is scrubbed.

PostgreSQL commits durably by default (synchronous_commit=on): an attempt row is on disk before
its request goes out. An outcome or a heartbeat commits with synchronous_commit=off, as on
SQLite: a crash of the database may lose it, which leaves the attempt `started` for the next
apply to re-check, and it saves a WAL flush per change.

One connection per store, shared by the executor's threads behind a lock. A connection lost (a
restarted server) fails the call in hand with a clear error, and the next call connects again,
so the heartbeat rides out a short restart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from reconciler.errors import ReconcilerError
from reconciler.secrets import scrub_all
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
)
from reconciler.store.failures import postgres_failure
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

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION = 1
CONNECT_TIMEOUT = 10
#: pg_advisory_xact_lock key that serialises creating and migrating the tables between runners
SCHEMA_LOCK_KEY = 0x7265636F6E  # "recon"
TABLES = ("reconciler_schema", "reconciler_runs", "reconciler_attempts", "reconciler_locks")

_SCHEMA = (
    "CREATE TABLE reconciler_schema (version INTEGER NOT NULL)",
    """CREATE TABLE reconciler_runs (
        id TEXT PRIMARY KEY,
        started DOUBLE PRECISION NOT NULL,
        finished DOUBLE PRECISION,
        actor TEXT,
        run_user TEXT NOT NULL,
        provider TEXT NOT NULL,
        lock_name TEXT NOT NULL,
        git_commit TEXT,
        paths TEXT NOT NULL,
        plan_checksum TEXT,
        outcome TEXT NOT NULL,
        message TEXT
    )""",
    "CREATE INDEX reconciler_runs_by_start ON reconciler_runs (started)",
    """CREATE TABLE reconciler_attempts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES reconciler_runs (id),
        change_id TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        number INTEGER NOT NULL,
        idempotency_key TEXT NOT NULL,
        started DOUBLE PRECISION NOT NULL,
        finished DOUBLE PRECISION,
        outcome TEXT NOT NULL,
        operation_id TEXT,
        error_code TEXT,
        error_message TEXT
    )""",
    "CREATE INDEX reconciler_attempts_by_run ON reconciler_attempts (run_id, id)",
    """CREATE TABLE reconciler_locks (
        name TEXT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        acquired DOUBLE PRECISION NOT NULL,
        heartbeat DOUBLE PRECISION NOT NULL,
        expires DOUBLE PRECISION NOT NULL,
        namespace TEXT NOT NULL
    )""",
)

#: from version N to N + 1, run in one transaction under the schema lock
_MIGRATIONS: dict[int, tuple[str, ...]] = {}

_RUNS = RUN_COLUMNS.format(user="run_user")
_INSERT_ATTEMPT = (
    "INSERT INTO reconciler_attempts (run_id, change_id, action, subject, number, idempotency_key, "
    "started, outcome) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)


def public_url(url: str) -> str:
    """`url` without its password (in the authority or in a `password=` parameter)."""
    parts = urlsplit(url)
    user = f"{unquote(parts.username)}@" if parts.username else ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    # Any other parameter may be a secret too (sslpassword, or one libpq does not know): its name
    # is shown, its value only when it is one of these.
    query = [
        f"{k}={v if k.lower() in _SHOWN_PARAMETERS else '***'}"
        for k, v in parse_qsl(parts.query)
        if k.lower() != "password"
    ]
    tail = f"?{'&'.join(query)}" if query else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}{tail}"


#: connection parameters whose values are no secret, shown in the store's name
_SHOWN_PARAMETERS = frozenset({"sslmode", "connect_timeout", "target_session_attrs", "application_name"})


def url_secrets(url: str) -> list[str]:
    """Every text of `url` an error of libpq's may quote that is, or is part of, a password: the
    password decoded and as written (libpq quotes a bad percent escape as written), each piece
    of one holding `@` (libpq cuts the authority at its first `@`, the URL at its last), and
    every query value but the harmless ones."""
    parts = urlsplit(url)
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        written = userinfo.partition(":")[2]
        found += [written, unquote(written), *written.split("@")]
    for name, value in parse_qsl(parts.query):
        if name.lower() not in _SHOWN_PARAMETERS:
            found += [value, quote(value, safe="")]
    for raw in parts.query.split("&"):
        name, _, value = raw.partition("=")
        if name.lower() not in _SHOWN_PARAMETERS and value:
            found.append(value)
    # Longest first: a piece is masked only where the whole was not.
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


class PostgresStore:
    """`StateStore` over tables `reconciler_*` in one PostgreSQL database."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self._url = url
        self._description = public_url(url)
        self._secrets = url_secrets(url)
        #: held for the whole of each write: psycopg serialises a connection's statements, not its
        #: transactions, and a statement sent during another thread's transaction would join it
        self._mutex = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        #: False when `create` was False and the database holds no store yet
        self.exists = True
        try:
            with self._mutex, self._guard():
                self.exists = self._prepare(self._connection(), create=create)
        except BaseException:
            self.close()
            raise

    @classmethod
    def existing(cls, url: str) -> PostgresStore | None:
        """The store, or None when the database holds none yet (creating nothing)."""
        store = cls(url, create=False)
        if store.exists:
            return store
        store.close()
        return None

    @property
    def description(self) -> str:
        return self._description

    # --- connection -------------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            import psycopg

            self._conn = psycopg.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name="reconciler"
            )
        return self._conn

    @contextmanager
    def _guard(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            if self._conn is not None and (self._conn.closed or self._conn.broken):
                self._conn = None  # the next call connects again
            raise postgres_failure(self._description, self._scrub(_reason(exc))) from None

    def _scrub(self, text: str) -> str:
        text = text.replace(self._url, self._description)
        return scrub_all(text, self._secrets)

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._mutex, self._guard():
            db = self._connection()
            with db.transaction():
                yield db

    def _execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._mutex, self._guard():
            cursor = self._connection().execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []

    def _relaxed(self, sql: str, params: Sequence[object]) -> int:
        """A write whose loss in a crash of the database costs nothing: no wait for the WAL flush."""
        with self._mutex, self._guard():
            db = self._connection()
            with db.transaction():
                db.execute("SET LOCAL synchronous_commit = off")
                return db.execute(sql, params).rowcount

    def _prepare(self, db: psycopg.Connection[Any], *, create: bool) -> bool:
        """Create or migrate the tables; False when there are none and `create` is False."""
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            present = {
                str(row[0])
                for row in db.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename = ANY(%s)",
                    (list(TABLES),),
                )
            }
            if not present:
                if not create:
                    return False
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("INSERT INTO reconciler_schema VALUES (%s)", (SCHEMA_VERSION,))
                return True
            if "reconciler_schema" not in present:
                raise self._damaged("the table reconciler_schema is missing")
            row = db.execute("SELECT max(version) FROM reconciler_schema").fetchone()
            version = int(row[0]) if row is not None and row[0] is not None else 0
            if version > SCHEMA_VERSION:
                raise ReconcilerError(
                    f"the state store {self._description} was written by a newer reconciler "
                    f"(schema {version}; this one knows up to {SCHEMA_VERSION})",
                    hint="upgrade reconciler on every runner that shares this database",
                )
            missing = [name for name in TABLES if name not in present]
            if missing or version < 1:
                raise self._damaged(f"the table {missing[0]} is missing" if missing else "no schema version")
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    db.execute(statement)
            db.execute("UPDATE reconciler_schema SET version = %s", (SCHEMA_VERSION,))
        return True

    def _damaged(self, reason: str) -> ReconcilerError:
        return ReconcilerError(
            f"the state store {self._description} is damaged: {reason}",
            hint="restore the reconciler_* tables from a backup, or point --state at another database "
            "(a new one is set up on first use)",
        )

    def clock(self) -> float:
        rows = self._execute("SELECT extract(epoch FROM clock_timestamp())::float8")
        return float(rows[0][0])

    # --- runs -------------------------------------------------------------------------------------

    def start_run(self, run: NewRun) -> None:
        self._execute(
            f"INSERT INTO reconciler_runs ({_RUNS}) "
            "VALUES (%s, %s, NULL, %s, %s, %s, %s, %s, %s, NULL, %s, NULL)",
            new_run_row(run),
        )

    def record_plan(self, run_id: str, checksum: str, actor: str | None) -> None:
        self._execute(
            "UPDATE reconciler_runs SET plan_checksum = %s, actor = coalesce(%s, actor) WHERE id = %s",
            (checksum, actor, run_id),
        )

    def finish_run(self, run_id: str, outcome: RunOutcome, finished: float, message: str | None) -> None:
        self._execute(
            "UPDATE reconciler_runs SET outcome = %s, finished = %s, message = %s WHERE id = %s",
            (outcome.value, finished, message, run_id),
        )

    def runs(self, limit: int) -> list[RunRecord]:
        rows = self._execute(
            f"SELECT {_RUNS} FROM reconciler_runs ORDER BY started DESC, id DESC LIMIT %s", (limit,)
        )
        return self._runs_from_rows(rows)

    def run(self, run_id: str) -> RunRecord | None:
        found = self._runs_from_rows(
            self._execute(f"SELECT {_RUNS} FROM reconciler_runs WHERE id = %s", (run_id,))
        )
        return found[0] if found else None

    def _runs_from_rows(self, rows: list[Row]) -> list[RunRecord]:
        if not rows:
            return []
        ids = [str(row[0]) for row in rows]
        counts: dict[str, dict[str, int]] = {run_id: {} for run_id in ids}
        for run_id, outcome, count in self._execute(
            "SELECT a.run_id, a.outcome, COUNT(*) FROM reconciler_attempts a JOIN ("
            "  SELECT MAX(id) AS id FROM reconciler_attempts WHERE run_id = ANY(%s)"
            "  GROUP BY run_id, change_id"
            ") last ON a.id = last.id GROUP BY a.run_id, a.outcome",
            (ids,),
        ):
            counts[str(run_id)][str(outcome)] = int(count)
        holders = {lock.run_id: lock for lock in self.locks()}
        now = self.clock()
        return [run_record(row, counts[str(row[0])], holders, now) for row in rows]

    # --- the journal ------------------------------------------------------------------------------

    def start_attempt(self, attempt: NewAttempt) -> int:
        rows = self._execute(_INSERT_ATTEMPT, attempt_row(attempt))
        return int(rows[0][0])

    def start_attempts(self, attempts: Sequence[NewAttempt]) -> list[int]:
        """One transaction, one durable commit, for all of them."""
        with self._transaction() as db:
            return [int(db.execute(_INSERT_ATTEMPT, attempt_row(a)).fetchall()[0][0]) for a in attempts]

    def withdraw_attempts(self, attempt_ids: Sequence[int]) -> None:
        if attempt_ids:
            self._relaxed(
                "DELETE FROM reconciler_attempts WHERE id = ANY(%s) AND outcome = %s",
                (list(attempt_ids), AttemptOutcome.STARTED.value),
            )

    def set_attempt_operation(self, attempt_id: int, operation_id: str) -> None:
        self._relaxed(
            "UPDATE reconciler_attempts SET operation_id = %s WHERE id = %s", (operation_id, attempt_id)
        )

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
        # Written at once either way: without a wait for the WAL flush, it is one round trip.
        self._relaxed(
            "UPDATE reconciler_attempts SET outcome = %s, finished = %s, error_code = %s, "
            "error_message = %s, operation_id = coalesce(%s, operation_id) WHERE id = %s",
            (outcome.value, finished, error_code, error_message, operation_id, attempt_id),
        )

    def flush(self) -> None:
        """Nothing is kept back: every outcome is written when it is recorded."""

    def attempts(self, run_id: str) -> list[AttemptRecord]:
        rows = self._execute(
            f"SELECT {ATTEMPT_COLUMNS} FROM reconciler_attempts WHERE run_id = %s ORDER BY id", (run_id,)
        )
        return [attempt_record(row) for row in rows]

    # --- locks ------------------------------------------------------------------------------------

    def acquire_lock(self, request: LockRequest) -> LockRecord:
        with self._transaction() as db:
            # Takers of one name queue here, so a takeover is decided by one of them at a time.
            db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("reconciler-lock:" + request.name,))
            row = db.execute(
                f"SELECT {LOCK_COLUMNS} FROM reconciler_locks WHERE name = %s", (request.name,)
            ).fetchone()
            if row is not None:
                holder = lock_record(row)
                if holder_state(holder, request.now, (request.host, request.namespace)) is HolderState.LIVE:
                    return holder
                db.execute("DELETE FROM reconciler_locks WHERE name = %s", (request.name,))
            taken = held_by(request)
            marks = ", ".join(["%s"] * 10)
            db.execute(f"INSERT INTO reconciler_locks ({LOCK_COLUMNS}) VALUES ({marks})", lock_row(taken))
            db.execute(
                "UPDATE reconciler_runs SET outcome = %s, message = %s "
                "WHERE lock_name = %s AND outcome = %s AND id != %s",
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
        updated = self._relaxed(
            "UPDATE reconciler_locks SET heartbeat = %s, expires = %s WHERE id = %s",
            (now, now + ttl, lock_id),
        )
        return updated == 1

    def release_lock(self, lock_id: str) -> LockRecord | None:
        rows = self._execute(
            f"DELETE FROM reconciler_locks WHERE id = %s RETURNING {LOCK_COLUMNS}", (lock_id,)
        )
        return lock_record(rows[0]) if rows else None

    def locks(self) -> list[LockRecord]:
        rows = self._execute(f"SELECT {LOCK_COLUMNS} FROM reconciler_locks ORDER BY name")
        return [lock_record(row) for row in rows]

    def mark(self) -> None:
        """None: PostgreSQL has no counter of other sessions' commits to one database, so apply
        observes the console only once it holds the lock."""
        return None

    def written_since(self, mark: StoreMark) -> bool:
        return True

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _reason(exc: Exception) -> str:
    """psycopg's message on one line (libpq's own may span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__
