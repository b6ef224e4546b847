"""`SandboxConsole`: the billing console's service layer over one SQLite file.

The in-process provider and the REST server both stand on this class. It checks every rule
itself (docs/rules.md), gives each write an idempotency key, completes asynchronous operations
lazily when the database is next touched, and moves its own clock only when asked.
Safe to share between threads (a connection per thread) and between processes (WAL, immediate
transactions, a generous busy timeout).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from msgspec.structs import replace

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Console, Operation, OperationStatus
from reconciler.sandbox import writes
from reconciler.sandbox.damage import ConsoleDamaged, ConsoleUnavailable, not_a_sandbox, stored_values
from reconciler.sandbox.database import (
    Connections,
    build,
    check_is_sandbox,
    check_layout,
    creation_lock,
    database_exists,
    generation,
    new_console_id,
    token_digest,
    transaction,
)
from reconciler.sandbox.lifecycle import Event, Lifecycle, moved_clock, transitions
from reconciler.sandbox.reading import read_console, read_meta
from reconciler.userpaths import shown

if TYPE_CHECKING:
    from reconciler.sandbox.seed import Seed

#: Overrides the seed's provisioning delay (seconds) for the process that sets it.
ENV_DELAY = "RECONCILER_SANDBOX_DELAY"

MAX_KEY_LENGTH = 255
#: the error code of a write to a console whose file cannot be written
READ_ONLY = "console-read-only"

Action = Callable[[sqlite3.Connection, writes.Clock], writes.Outcome]
T = TypeVar("T")


def delay_from_env() -> float | None:
    text = os.environ.get(ENV_DELAY)
    if text is None or text.strip() == "":
        return None
    from reconciler.sandbox.seed import MAX_PROVISIONING_DELAY

    try:
        delay = float(text)
    except ValueError:
        delay = -1.0
    if not 0 <= delay <= MAX_PROVISIONING_DELAY:  # NaN fails this too
        raise ReconcilerError(
            f"{ENV_DELAY}={text!r} is not a number of seconds from 0 to {MAX_PROVISIONING_DELAY:g}",
            hint=f"set {ENV_DELAY} to 0 or more, e.g. {ENV_DELAY}=0.05",
        )
    return delay


def _require_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProviderError(f"{what} must be a non-empty string", code="invalid-request")
    return value


def _read_operation(db: sqlite3.Connection, op_id: str, actor: str | None) -> Operation | None:
    """The operation, if `actor` may see it: it made it, or one of its requests was answered with it
    (a request the console already satisfied answers with the operation that satisfies it)."""
    row = db.execute(
        "SELECT id, status, error_code, error_detail FROM operations o WHERE id = ? AND (actor IS ?"
        " OR EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.operation = o.id AND k.actor = ?))",
        (op_id, actor, actor or ""),
    ).fetchone()
    with stored_values():
        return None if row is None else Operation(row[0], OperationStatus(row[1]), row[2], row[3])


class SandboxConsole:
    def __init__(self, path: Path) -> None:
        """Open an existing sandbox database."""
        self.path = Path(path)
        if not database_exists(self.path):
            raise ReconcilerError(
                f"the sandbox console {self.path} does not exist",
                hint="create it with 'reconciler sandbox init [--from FILE]'",
            )
        self._delay_override = delay_from_env()
        #: the last observation and the database generation it was read at
        self._observed: tuple[tuple[int, int], Console] | None = None
        #: every user's token digest, and the epoch of the file they were read from
        self._digests: tuple[int, list[tuple[str, bytes]]] | None = None
        #: this process's writers queue here: SQLite's busy handler would make each one that finds
        #: the write lock taken sleep 1, 2, 5, 10... ms, however soon the lock is free again
        self._writing = threading.Lock()
        self._reading = threading.Lock()
        self._connections = Connections(self.path)
        try:
            with self._connections.connection() as db:
                check_is_sandbox(db, self.path)
        except (sqlite3.DatabaseError, ConsoleDamaged) as error:
            # Opening a file that is not a console says so, with no SQLite words in between.
            self._connections.close()
            raise not_a_sandbox(self.path) from error
        except BaseException:
            self._connections.close()
            raise

    @classmethod
    def create(cls, path: Path, seed: Seed) -> SandboxConsole:
        """Create the database from a seed, replacing any database at `path`.

        Transitions already due at the seed's clock (a term that has ended, say) are applied.
        """
        path = Path(path)
        with _creating(path), creation_lock(path):
            build(path, seed, _age_to_clock)
        return cls(path)

    @classmethod
    def open_or_create(cls, path: Path, make_seed: Callable[[], Seed]) -> tuple[SandboxConsole, bool]:
        """Open the database at `path`, creating it from `make_seed()` first if there is none.

        Returns the console and whether it was created. The seed is only made when needed.
        """
        path = Path(path)
        if database_exists(path):
            return cls(path), False
        with _creating(path), creation_lock(path):
            if database_exists(path):
                return cls(path), False
            build(path, make_seed(), _age_to_clock)
        return cls(path), True

    def check_whole(self) -> None:
        """Every table, column and page of the file is a console's, and its values read: what a
        long-lived server checks before it serves the file (a command reads only what it needs)."""
        with self._connections.connection() as db:
            check_layout(db, self.path)
        self.observe(None)

    # --- who acts ----------------------------------------------------------------------------------

    def console_id(self) -> str:
        """This console's identity, the same through `sandbox:PATH` and `sandbox serve` over PATH.

        A database made before consoles had one gets it on first asking (INSERT OR IGNORE: two
        processes asking at once agree on the first one written).
        """
        with self._connections.connection() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'console_id'").fetchone()
            if row is None:
                with self._busy_is_transient():
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('console_id', ?)", (new_console_id(),))
                row = db.execute("SELECT value FROM meta WHERE key = 'console_id'").fetchone()
        return str(row[0])

    def default_actor(self) -> str | None:
        """The seed's first user."""
        return self._meta().get("default_actor")

    def actor_for_token(self, token: str) -> str | None:
        """The user whose token this is. Every token's digest is compared, in constant time."""
        found: str | None = None
        digest = token_digest(token).encode()
        for email, candidate in self._token_digests():
            if hmac.compare_digest(candidate, digest) and found is None:
                found = email
        return found

    def _token_digests(self) -> list[tuple[str, bytes]]:
        """Every user's token digest, read once per file: no write changes a console's users, and
        `init` replaces the whole file (a server then reads the new one's)."""
        epoch = self._connections.refresh()
        if self._digests is None or self._digests[0] != epoch:
            with self._connections.connection() as db:
                rows = db.execute(
                    "SELECT email, token_sha256 FROM users WHERE token_sha256 IS NOT NULL"
                ).fetchall()
                epoch = self._connections.epoch_of(db)
            self._digests = (epoch, [(str(email), str(digest).encode()) for email, digest in rows])
        return self._digests[1]

    def users(self) -> list[str]:
        """Every user's email, in seed order (the first is the default actor)."""
        with self._connections.connection() as db:
            return [email for (email,) in db.execute("SELECT email FROM users ORDER BY position")]

    # --- reading ---------------------------------------------------------------------------------

    def observe(self, actor: str | None) -> Console:
        """The whole console in one consistent read, as `actor` would see it."""
        with self._connections.connection() as db:
            self._complete_due(db)
            with transaction(db, write=False):
                # The generation of this file: a replaced file starts its count again.
                current = (self._connections.epoch_of(db), generation(db))
                cached = self._observed
                if cached is not None and cached[0] == current:
                    return replace(cached[1], actor=actor)
                # A client reads every collection at once: one of its requests reads the console,
                # the others wait for that read instead of each making the same one.
                with self._reading:
                    cached = self._observed
                    if cached is not None and cached[0] == current:
                        return replace(cached[1], actor=actor)
                    console = read_console(db, actor)
                    # Values are immutable: the next observer of the same generation shares them.
                    self._observed = (current, console)
        return console

    def operation(self, operation_id: str, actor: str | None) -> Operation:
        """An operation `actor` made (or was answered with); any other is not found, as if it never was."""
        with self._connections.connection() as db:
            self._complete_due(db)
            found = _read_operation(db, operation_id, actor)
        if found is None:
            raise ProviderError(f"operation {operation_id} does not exist", code="not-found")
        return found

    def today(self) -> dt.date:
        """The console's clock."""
        return self._meta_value("now", dt.date.fromisoformat)

    def provisioning_delay(self) -> float:
        """Seconds an asynchronous operation takes: the environment's override, else the seed's."""
        if self._delay_override is not None:
            return self._delay_override
        return self._meta_value("provisioning_delay_seconds", float)

    def pending_sites(self) -> dict[str, str]:
        """Sites whose creation has not completed yet: name -> org."""
        with self._connections.connection() as db:
            self._complete_due(db)
            rows = db.execute(
                "SELECT site, org FROM operations WHERE status = 'pending' AND kind = 'create-site'"
                " ORDER BY site"
            )
            return dict(rows.fetchall())

    def write_count(self) -> int:
        """How many write requests took effect (replays and no-ops do not count)."""
        return self._meta_value("writes", int)

    # --- writing ---------------------------------------------------------------------------------

    def create_site(self, actor: str | None, org: str, name: str, key: str) -> Operation:
        org, name = _require_text(org, "org"), _require_text(name, "site name")
        request = {"kind": "create-site", "org": org, "site": name}
        return self._write(
            actor, key, request, lambda db, clock: writes.create_site(db, actor, org, name, clock)
        )

    def provision(self, actor: str | None, subscription: str, app: str, site: str, key: str) -> Operation:
        for value, what in ((subscription, "subscription"), (app, "app"), (site, "site")):
            _require_text(value, what)
        request = {"kind": "provision", "subscription": subscription, "app": app, "site": site}
        return self._write(
            actor, key, request, lambda db, clock: writes.provision(db, actor, subscription, app, site, clock)
        )

    def cancel(self, actor: str | None, subscription: str, key: str) -> Operation:
        _require_text(subscription, "subscription")
        request = {"kind": "cancel", "subscription": subscription}
        return self._write(
            actor, key, request, lambda db, clock: writes.cancel(db, actor, subscription, clock)
        )

    def reactivate(self, actor: str | None, subscription: str, key: str) -> Operation:
        _require_text(subscription, "subscription")
        request = {"kind": "reactivate", "subscription": subscription}
        return self._write(
            actor, key, request, lambda db, clock: writes.reactivate(db, actor, subscription, clock)
        )

    def _write(self, actor: str | None, key: str, request: dict[str, str], action: Action) -> Operation:
        _require_text(key, "idempotency key")
        if len(key) > MAX_KEY_LENGTH:
            raise ProviderError(
                f"idempotency key is over {MAX_KEY_LENGTH} characters", code="invalid-request"
            )
        fingerprint = json.dumps(request, sort_keys=True)
        with (
            self._writing,
            self._busy_is_transient(),
            self._connections.connection() as db,
            transaction(db, write=True),
        ):
            wall = time.time()
            writes.complete_due(db, wall)

            def apply() -> writes.Outcome:
                return action(db, self._clock(db, wall))

            op_id, made = self._apply_once(db, actor or "", key, fingerprint, apply)
            if made is not None:  # made by this request, for this actor: no need to read it back
                return made
            found = _read_operation(db, op_id, actor)
            assert found is not None, "an idempotency key points at its operation"
            return found

    @staticmethod
    def _apply_once(
        db: sqlite3.Connection, actor: str, key: str, fingerprint: str, apply: Callable[[], writes.Outcome]
    ) -> tuple[str, Operation | None]:
        """The operation for this actor's `key`: the one recorded, or the outcome of the request now
        (with the operation itself when the request made it)."""
        known = db.execute(
            "SELECT request, operation FROM idempotency_keys WHERE actor = ? AND key = ?", (actor, key)
        ).fetchone()
        if known is not None:
            if known[0] != fingerprint:
                # Only ever the sender's own earlier request: keys are per user.
                raise ProviderError(
                    f"idempotency key {key!r} was already used for another request ({known[0]})",
                    code="idempotency-mismatch",
                )
            return str(known[1]), None
        outcome = apply()
        if outcome.effect:
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'writes'")
        db.execute(
            "INSERT INTO idempotency_keys VALUES (?, ?, ?, ?)", (actor, key, fingerprint, outcome.operation)
        )
        return outcome.operation, outcome.made

    # --- the clock ---------------------------------------------------------------------------------

    def advance(self, days: int) -> list[str]:
        """Move the clock `days` forward and apply every transition due, in date order."""
        if days < 0:
            raise ReconcilerError(f"the sandbox clock only moves forward ({days} days asked)")
        with (
            _end_of_calendar(days),
            self._writing,
            self._busy_is_transient(),
            self._connections.connection() as db,
            transaction(db, write=True),
        ):
            # The whole console read first: one whose values no console writes is damage, and is
            # never aged (a clock moved on a console no reader can read changes what it cannot show).
            read_console(db, None)
            writes.complete_due(db, time.time())
            events = _advance(db, days)
        return [event.line for event in events]

    # --- plumbing ----------------------------------------------------------------------------------

    def checkpoint(self) -> bool:
        """Copy the writes in the write-ahead log into the file, without waiting for or blocking
        anyone; True when every one was copied. A file that cannot be used is left to the next
        request to report."""
        try:
            with self._connections.connection() as db:
                busy, logged, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except (ReconcilerError, sqlite3.Error):
            return False
        return bool(busy == 0 and logged == copied)

    def close(self) -> None:
        self._connections.close()

    def __enter__(self) -> SandboxConsole:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _meta(self) -> dict[str, str]:
        with self._connections.connection() as db:
            return read_meta(db)

    def _meta_value(self, key: str, parse: Callable[[str], T]) -> T:
        """One value of `meta`, read as `parse` reads it; one it cannot read is damage."""
        with self._connections.connection() as db, stored_values():
            return parse(read_meta(db)[key])

    def _clock(self, db: sqlite3.Connection, wall: float) -> writes.Clock:
        """The clock of a write, from the `meta` its own transaction reads (one read, not two)."""
        with stored_values():
            meta = read_meta(db)
            today = dt.date.fromisoformat(meta["now"])
            delay = self._delay_override
            if delay is None:
                delay = float(meta["provisioning_delay_seconds"])
        return writes.Clock(wall=wall, today=today, delay=delay)

    def _complete_due(self, db: sqlite3.Connection) -> None:
        if writes.any_due(db, time.time()):
            with self._writing, self._busy_is_transient(), transaction(db, write=True):
                writes.complete_due(db, time.time())

    def _busy_is_transient(self) -> AbstractContextManager[None]:
        return _busy_is_transient(self.path)


@contextmanager
def _busy_is_transient(path: Path) -> Iterator[None]:
    """A database still locked after the busy timeout is a transient failure, worth a retry."""
    try:
        yield
    except sqlite3.OperationalError as error:
        raise _unavailable(path, error) from error


def _unavailable(path: Path, error: sqlite3.OperationalError) -> ConsoleUnavailable:
    if "readonly" in str(error):
        return ConsoleUnavailable(
            f"the sandbox console {shown(path)} cannot be written: {error}",
            public="the sandbox console's database cannot be written (it is read-only); writes fail "
            "until the console's operator makes it writable",
            code=READ_ONLY,
            transient=False,
            hint="make the file, and the folder it is in, writable by whoever runs the console",
        )
    if "locked" in str(error) or "busy" in str(error):
        return ConsoleUnavailable(
            f"the sandbox console {shown(path)} stayed busy: {error}",
            public="the sandbox console's database stayed locked by another writer; retry later",
            code="unavailable",
            transient=True,
            hint="another process holds the database's write lock; retry once it lets go",
        )
    return ConsoleUnavailable(
        f"the sandbox console {shown(path)} failed: {error}",
        public="the sandbox console's database failed; retry later",
        code="unavailable",
        transient=False,
        hint="check the disk the file is on (space, errors), or restore the file",
    )


@contextmanager
def _creating(path: Path) -> Iterator[None]:
    try:
        yield
    except (OSError, sqlite3.Error) as error:
        # strerror alone: the OSError's text would name the temporary file being built.
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise ReconcilerError(
            f"cannot create the sandbox console {shown(path)}: {reason}",
            hint="check that its directory is writable, or pick another file with --provider sandbox:PATH",
        ) from error


def _advance(db: sqlite3.Connection, days: int) -> list[Event]:
    """Move the stored clock `days` on, applying every transition due; the events in date order."""
    with stored_values():
        now = dt.date.fromisoformat(read_meta(db)["now"])
    until = moved_clock(now, days)
    events = _age(db, until)
    db.execute("UPDATE meta SET value = ? WHERE key = 'now'", (until.isoformat(),))
    events.sort(key=lambda e: (e.day, e.subscription))
    return events


def _age_to_clock(db: sqlite3.Connection) -> None:
    """A new console's transitions already due at its clock (a term that has ended, say)."""
    with transaction(db, write=True):
        _advance(db, 0)


@contextmanager
def _end_of_calendar(days: int) -> Iterator[None]:
    """Dates past the year 9999 do not exist: a clock or a term pushed there is a user error."""
    try:
        yield
    except (OverflowError, ValueError) as error:
        raise ReconcilerError(
            f"the sandbox clock cannot move {days} days on: a date would pass the end of the calendar "
            f"(year 9999; {error})",
            hint="move it fewer days, or re-create the console with 'reconciler sandbox init'",
        ) from None


def _age(db: sqlite3.Connection, until: dt.date) -> list[Event]:
    """Apply every lifecycle transition due by `until`; return them."""
    rows = db.execute(
        "SELECT id, status, start_date, term_end, deactivated_on FROM subscriptions WHERE status != 'deleted'"
    ).fetchall()
    with stored_values():
        lifecycles = [
            Lifecycle(sub_id, status, _day(start), _day(term_end), _day(deactivated_on))
            for sub_id, status, start, term_end, deactivated_on in rows
        ]
    events: list[Event] = []
    for lifecycle in lifecycles:
        happened = transitions(lifecycle, until)
        if happened:
            _store_lifecycle(db, happened[-1].after)
            events.extend(happened)
    return events


def _day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _store_lifecycle(db: sqlite3.Connection, state: Lifecycle) -> None:
    db.execute(
        "UPDATE subscriptions SET status = ?, term_end = ?, deactivated_on = ? WHERE id = ?",
        (
            state.status,
            None if state.term_end is None else state.term_end.isoformat(),
            None if state.deactivated_on is None else state.deactivated_on.isoformat(),
            state.subscription,
        ),
    )
    if state.status == "deleted":
        db.execute("UPDATE subscription_apps SET site = NULL WHERE subscription = ?", (state.subscription,))
