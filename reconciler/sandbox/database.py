"""The sandbox console's SQLite file: its tables, its connections and its transactions.

Every write runs in a `BEGIN IMMEDIATE` transaction, so a rule check and the write it guards are
one atomic step even when several processes share the file (WAL lets readers carry on meanwhile).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError
from reconciler.model import Subscription
from reconciler.sandbox.damage import ConsoleUnavailable, damage_named, not_a_sandbox, stored_values
from reconciler.userpaths import check_creatable, lock_beside, shown

if TYPE_CHECKING:
    from reconciler.sandbox.seed import Seed

#: Written into `meta` so a sandbox database is recognised (and a future layout can be told apart).
#: 2: users keep the SHA-256 of their token, never the token itself.
#: 3: idempotency keys belong to the user who sent them.
FORMAT = "reconciler-sandbox/3"
FORMAT_FAMILY = "reconciler-sandbox/"

#: How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 30.0

DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE users (
    email TEXT PRIMARY KEY,
    token_sha256 TEXT UNIQUE,
    position INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;
CREATE TABLE billing_accounts (
    id TEXT PRIMARY KEY,
    managed_by TEXT NOT NULL CHECK (managed_by IN ('direct', 'partner')),
    partner TEXT
) WITHOUT ROWID;
CREATE TABLE billing_admins (
    account TEXT NOT NULL REFERENCES billing_accounts (id),
    email TEXT NOT NULL REFERENCES users (email),
    PRIMARY KEY (account, email)
) WITHOUT ROWID;
CREATE TABLE organizations (id TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE org_users (
    org TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL REFERENCES users (email),
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    PRIMARY KEY (org, email)
) WITHOUT ROWID;
CREATE TABLE sites (
    name TEXT PRIMARY KEY,
    org TEXT NOT NULL REFERENCES organizations (id),
    jira TEXT,
    sandbox INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX sites_by_org ON sites (org);
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    billing_account TEXT NOT NULL REFERENCES billing_accounts (id),
    product TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date TEXT,
    term_end TEXT,
    migration INTEGER NOT NULL DEFAULT 0,
    deactivated_on TEXT
) WITHOUT ROWID;
CREATE TABLE subscription_apps (
    subscription TEXT NOT NULL REFERENCES subscriptions (id),
    app TEXT NOT NULL,
    site TEXT REFERENCES sites (name),
    PRIMARY KEY (subscription, app)
) WITHOUT ROWID;
CREATE INDEX apps_by_site ON subscription_apps (site, app);
CREATE TABLE retired_site_names (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    actor TEXT,
    subscription TEXT,
    app TEXT,
    site TEXT,
    org TEXT,
    status TEXT NOT NULL,
    error_code TEXT,
    error_detail TEXT,
    due REAL NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX pending_operations ON operations (due) WHERE status = 'pending';
CREATE INDEX pending_sites ON operations (site) WHERE status = 'pending';
-- A key is the sender's own: another user's same key is another request, and never shows this one.
-- `actor` is '' when nobody acts (the in-process console used without a user).
CREATE TABLE idempotency_keys (
    actor TEXT NOT NULL,
    key TEXT NOT NULL,
    request TEXT NOT NULL,
    operation TEXT NOT NULL REFERENCES operations (id),
    PRIMARY KEY (actor, key)
) WITHOUT ROWID;
CREATE INDEX keys_by_operation ON idempotency_keys (operation, actor);
"""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are begun explicitly, never implicitly."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    db.execute("PRAGMA foreign_keys = ON")
    # WAL with synchronous=NORMAL survives a killed process; only a power cut may lose the last commit.
    db.execute("PRAGMA synchronous = NORMAL")
    return db


def create_file(path: Path) -> sqlite3.Connection:
    """A new, empty sandbox database at `path` (which must not exist), in WAL mode."""
    db = connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(DDL)
    return db


def remove_database(path: Path) -> None:
    """Delete a database file and the WAL and shared-memory files beside it."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def check_is_sandbox(db: sqlite3.Connection, path: Path) -> None:
    try:
        rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('format', 'generation')"))
    except sqlite3.DatabaseError:
        rows = {}
    # Without a generation a reader's cache could never be invalidated: treat it as foreign.
    found = rows.get("format", "")
    if found.startswith(FORMAT_FAMILY) and found != FORMAT:
        raise ReconcilerError(
            f"{shown(path)} is a sandbox console of another layout ({found}; this reconciler reads {FORMAT})",
            hint="re-create it with 'reconciler sandbox init [--from FILE]'",
        )
    if found != FORMAT or "generation" not in rows:
        raise not_a_sandbox(path)


def check_layout(db: sqlite3.Connection, path: Path) -> None:
    """Every table and column the console uses is there: a server checks this once at start, so a
    console with one dropped is refused then, not found out by the first request that needs it."""
    for table, columns in _expected_layout().items():
        found = {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")}
        if not found:
            raise not_a_sandbox(path, f"no such table: {table}")
        missing = sorted(set(columns) - found)
        if missing:
            raise not_a_sandbox(path, f"the table {table} has no column {missing[0]}")
    # Reads every page of the file: a truncated or garbled one is found here, not mid-request.
    problems = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise not_a_sandbox(path, f"malformed: {problems[0]}")


def _expected_layout() -> dict[str, list[str]]:
    """The tables and columns DDL makes, read from an empty database built with it."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(DDL)
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: [str(row[1]) for row in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        db.close()


def new_console_id() -> str:
    """A console's stable identity: the lock apply takes is named by it, however the console is reached."""
    return "sbx-" + secrets.token_hex(8)


def token_digest(token: str) -> str:
    """What the database keeps of a bearer token: a copy of the file gives no one the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Connections:
    """A pool of connections to one database file, shared by every thread of a process.

    A sqlite3 connection must not be used by two threads at once, so each call checks one out
    for its duration. Pooling (rather than a connection per thread) keeps the number of open
    connections bounded when a server runs each request on a new thread.

    The pool follows its path: `sandbox init` renames a new console over the file a long-lived
    server has open, and an operator may copy another file over it in place (`cp`, same inode).
    Each checkout compares the file's state (one stat) with the one its connections were opened
    on; when the file was replaced or written since, the old connections are dropped (one
    checked out then is closed when given back) and `epoch` moves on, so what a reader cached
    from the old content (the sqlite3 page cache too, which a write in place leaves as it was) is
    never taken for the new one's.
    """

    #: idle connections kept open; more are opened under load and closed when returned
    KEEP_IDLE = 8

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._identity = _identity(path)
        #: how many times the file was replaced or rewritten since the pool was made
        self.epoch = 0
        self._epochs: dict[int, int] = {}  # id of each open connection -> the epoch it was opened in

    def refresh(self) -> int:
        """The epoch of the file at the path now (the old connections dropped if it was replaced)."""
        identity = _identity(self.path)
        with self._lock:
            if self._closed:
                raise ReconcilerError(f"the sandbox console {self.path} is closed")
            stale: list[sqlite3.Connection] = []
            if identity != self._identity:
                stale, self._idle = self._idle, []
                self._identity, self.epoch = identity, self.epoch + 1
            epoch = self.epoch
        for old in stale:
            self._forget(old)
        if identity is None:
            # sqlite3 would create an empty database in its place, and every request fail on it.
            raise ConsoleUnavailable(
                f"the sandbox console {shown(self.path)} no longer exists",
                public="the sandbox console's database no longer exists; retry once the console's "
                "operator has put it back or re-created it with 'reconciler sandbox init'",
                code="unavailable",
                transient=True,
                hint="create it again with 'reconciler sandbox init', or put the file back",
            )
        return epoch

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        self.refresh()
        with self._lock:
            db = self._idle.pop() if self._idle else None
        if db is None:
            # Opening reads the file's header: a file that is not SQLite fails here, as damage.
            with damage_named(self.path):
                db = connect(self.path)
            with self._lock:
                self._epochs[id(db)] = self.epoch
        try:
            with damage_named(self.path):
                yield db
        finally:
            self._give_back(db)

    def epoch_of(self, db: sqlite3.Connection) -> int:
        """The epoch `db` was opened in: values read through it belong to that file."""
        with self._lock:
            return self._epochs.get(id(db), -1)

    def _give_back(self, db: sqlite3.Connection) -> None:
        if db.in_transaction:  # interrupted half-way: never hand on an open transaction
            self._forget(db)
            return
        with self._lock:
            current = self._epochs.get(id(db)) == self.epoch
            if current and not self._closed and len(self._idle) < self.KEEP_IDLE:
                self._idle.append(db)
                return
        self._forget(db)

    def _forget(self, db: sqlite3.Connection) -> None:
        with self._lock:
            self._epochs.pop(id(db), None)
        db.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            self._forget(db)


def _identity(path: Path) -> tuple[int, ...] | None:
    """Which file `path` is now and when its content last changed, None when there is none.

    Device and inode tell a file renamed over it; size, mtime and ctime tell one written in place
    (ctime too, as `cp -p` or `touch -r` can put an old mtime back). A checkpoint writes the file
    as well: the pool is then reopened for nothing, which costs a few connections, and is rare.
    """
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


@contextmanager
def transaction(db: sqlite3.Connection, *, write: bool) -> Iterator[sqlite3.Connection]:
    """One transaction: IMMEDIATE for a write (takes the write lock up front), DEFERRED for a read."""
    db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield db
        if write:
            # Every committed write moves the generation on: a reader's cache is valid while it stays.
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def generation(db: sqlite3.Connection) -> int:
    """How many write transactions the database has committed (moves on with every one)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    with stored_values():
        return int(row[0])


def database_exists(path: Path) -> bool:
    return path.is_file() and os.path.getsize(path) > 0


@contextmanager
def creation_lock(path: Path) -> Iterator[None]:
    """Serialise creating or replacing the database at `path` between processes.

    Two first runs at once must not both build the example console and rename it into place.
    """
    check_creatable(path, "the sandbox console", "pick another file with --provider sandbox:PATH")
    path.parent.mkdir(parents=True, exist_ok=True)
    with lock_beside(path):
        yield


def check_replaceable(path: Path) -> None:
    """Refuse to put a console where a file that is not one would be lost: a text file, a device.

    An empty file holds nothing to lose; a sandbox console of any layout is what `init` replaces.
    A directory is left to the rename, which fails on it without touching it.
    """
    try:
        found = path.stat()
    except FileNotFoundError:
        return
    except OSError:
        return  # e.g. a path through a file: creating it fails with the reason
    if stat.S_ISDIR(found.st_mode) or (stat.S_ISREG(found.st_mode) and found.st_size == 0):
        return
    hint = "remove it yourself if it is no longer needed, or pick another file with --provider sandbox:PATH"
    if not stat.S_ISREG(found.st_mode):
        raise ReconcilerError(f"refusing to replace {shown(path)}: it is not a regular file", hint=hint)
    if not _holds_a_sandbox(path):
        raise ReconcilerError(
            f"refusing to replace {shown(path)}: it is not a sandbox console database", hint=hint
        )


def _holds_a_sandbox(path: Path) -> bool:
    try:
        # Read-write so that closing it cleans up the WAL files of a console; a read writes nothing.
        db = sqlite3.connect(path, isolation_level=None)
    except (sqlite3.Error, OSError):
        return False
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.Error:
        return False
    finally:
        db.close()
    return row is not None and str(row[0]).startswith(FORMAT_FAMILY)


def build(path: Path, seed: Seed, finish: Callable[[sqlite3.Connection], None] | None = None) -> None:
    """Build a database from a seed beside `path`, then rename it over `path` in one step.

    `finish` runs on the new database before the rename: a step that fails (the clock's first
    transitions, say) leaves the old console as it was. No reader ever sees a half-built console.
    Hold `creation_lock(path)` around this.
    """
    check_replaceable(path)
    building = path.with_name(f".{path.name}.{os.getpid()}.building")
    remove_database(building)
    db = create_file(building)
    try:
        populate(db, seed)
        if finish is not None:
            finish(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except BaseException:
        db.close()
        remove_database(building)
        raise
    db.close()
    try:
        # The old file's WAL must never be replayed into the new file.
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(building, path)
    except BaseException:
        remove_database(building)  # e.g. the target is a directory: leave nothing behind
        raise


def populate(db: sqlite3.Connection, seed: Seed) -> None:
    """Fill a new database's tables from a seed, in one transaction."""
    with transaction(db, write=True):
        meta = {
            "format": FORMAT,
            "now": seed.now.isoformat(),
            "provisioning_delay_seconds": repr(float(seed.provisioning_delay)),
            "writes": "0",
            "generation": "0",
            "console_id": new_console_id(),
        }
        if seed.default_actor is not None:
            meta["default_actor"] = seed.default_actor
        db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        db.executemany(
            "INSERT INTO users VALUES (?, ?, ?)",
            (
                (u.email, None if u.token is None else token_digest(u.token), i)
                for i, u in enumerate(seed.users)
            ),
        )
        _populate_accounts_and_orgs(db, seed)
        db.executemany(
            "INSERT INTO sites VALUES (?, ?, ?, ?)",
            ((s.name, s.org, s.jira, int(s.sandbox)) for s in seed.sites),
        )
        db.executemany(
            "INSERT INTO subscriptions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (_subscription_row(s) for s in seed.subscriptions),
        )
        db.executemany(
            "INSERT INTO subscription_apps VALUES (?, ?, ?)",
            ((s.id, app, site) for s in seed.subscriptions for app, site in s.apps.items()),
        )
        db.executemany("INSERT INTO retired_site_names VALUES (?)", ((n,) for n in seed.retired_site_names))


def _populate_accounts_and_orgs(db: sqlite3.Connection, seed: Seed) -> None:
    db.executemany(
        "INSERT INTO billing_accounts VALUES (?, ?, ?)",
        ((a.id, a.managed_by, a.partner) for a in seed.billing_accounts),
    )
    db.executemany(
        "INSERT INTO billing_admins VALUES (?, ?)",
        ((a.id, email) for a in seed.billing_accounts for email in sorted(a.billing_admins)),
    )
    db.executemany("INSERT INTO organizations VALUES (?, ?)", ((o.id, o.name) for o in seed.organizations))
    db.executemany(
        "INSERT INTO org_users VALUES (?, ?, ?)",
        (
            (o.id, email, "admin" if email in o.admins else "member")
            for o in seed.organizations
            for email in sorted(o.admins | o.members)
        ),
    )


def _subscription_row(s: Subscription) -> tuple[object, ...]:
    start, term_end, deactivated_on = _iso(s.start_date), _iso(s.term_end), _iso(s.deactivated_on)
    return (s.id, s.billing_account, s.product, s.status, start, term_end, int(s.migration), deactivated_on)


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()
