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
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.userpaths import shown

#: SQLite's words for a file whose layout is not a console's: another file, or tables changed by
#: hand. A locked, full or read-only database is not damaged, and keeps its own error.
_DAMAGE = ("not a database", "malformed", "no such table", "no such column", "has no column named")


class StoredValueError(Exception):
    """A value in the database that no console writes (a date that is not a date, a missing key)."""


def not_a_sandbox(path: Path, reason: str | None = None) -> ReconcilerError:
    because = f": {reason}" if reason else ""
    return ReconcilerError(
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
