"""A sandbox database that is damaged (a table dropped, a date that is no date) is one user error.

A console file is a user's file: it can be edited by hand, truncated, or be another program's
database. Whatever a read of it finds that the console never writes ends as the one message
"damaged or not a sandbox console database", never as a traceback. The reads themselves stay as
fast as they were: nothing is checked row by row, the failure is caught around the read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.userpaths import shown

#: SQLite's words for a file whose layout is not a console's: another file, or tables changed by
#: hand. A locked, full or read-only database is not damaged, and keeps its own error.
_DAMAGE = ("not a database", "malformed", "no such table", "no such column", "has no column named")


class StoredValueError(Exception):
    """A value in the database that no console writes (a date that is not a date, a missing key)."""


#: the error code a server answers a damaged console with: no request succeeds until it is repaired
DAMAGED = "console-damaged"


class ConsoleDamaged(ReconcilerError):
    """The console's file is damaged or not a console: no request to it can succeed until it is
    restored or re-created, so a server answers it apart from a console that is only busy."""

    code = DAMAGED
    #: what a server tells its clients: what is wrong and who mends it, without the file's path
    public = (
        "the sandbox console's database is damaged or is not a sandbox console; no request can "
        "succeed until the console's operator restores the file or re-creates it with "
        "'reconciler sandbox init'"
    )


class ConsoleUnavailable(ProviderError):
    """The console's file cannot serve a request now (removed, locked, read-only); `public` says so
    without naming the file, for a server's clients."""

    def __init__(self, message: str, *, public: str, code: str, transient: bool, hint: str) -> None:
        super().__init__(message, code=code, transient=transient, hint=hint)
        self.public = public


def not_a_sandbox(path: Path, reason: str | None = None) -> ConsoleDamaged:
    because = f": {reason}" if reason else ""
    return ConsoleDamaged(
        f"{shown(path)} is damaged or not a sandbox console database{because}",
        hint="create one with 'reconciler sandbox init [--from FILE]', or point --provider at another file",
    )


@contextmanager
def stored_values() -> Iterator[None]:
    """Around code that turns stored text into values: a value it cannot read is damage."""
    try:
        yield
    except KeyError as error:
        raise StoredValueError(f"the stored value {error.args[0]!r} is missing") from error
    except (ValueError, TypeError) as error:
        raise StoredValueError(str(error)) from error


@contextmanager
def damage_named(path: Path) -> Iterator[None]:
    """Around every use of a connection: damage found by SQLite or by a read ends in one message."""
    try:
        yield
    except StoredValueError as error:
        raise not_a_sandbox(path, str(error)) from error
    except sqlite3.DatabaseError as error:
        reason = str(error)
        if any(words in reason.lower() for words in _DAMAGE):
            raise not_a_sandbox(path, reason) from error
        raise


@dataclass(frozen=True)
class Unusable:
    """How a server answers a console it cannot use: the client's code and detail, and its own log's
    note, which names the file and what to do about it."""

    code: str
    detail: str
    note: str
    transient: bool


def unusable(error: BaseException) -> Unusable | None:
    """The answer to an error that says the console's file cannot serve; None for any other error."""
    if isinstance(error, ConsoleDamaged):
        return Unusable(error.code, error.public, f"{error.message}; {_RESTORE}", transient=False)
    if isinstance(error, ConsoleUnavailable):
        return Unusable(error.code, error.public, f"{error.message}; {error.hint}", error.transient)
    if isinstance(error, sqlite3.Error):
        return Unusable(
            "unavailable",
            "the sandbox console's database failed; retry later",
            f"the sandbox console's database failed: {error}; check the disk it is on, or restore the file",
            transient=False,
        )
    return None


_RESTORE = "restore the file, or re-create it with 'reconciler sandbox init [--from FILE]'"
