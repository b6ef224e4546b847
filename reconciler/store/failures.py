"""A state store that fails says which store, what went wrong and what to do, in one message."""

from __future__ import annotations

from reconciler.errors import ReconcilerError
from reconciler.secrets import shown_url
from reconciler.userpaths import path_in_url, shown

_ELSEWHERE = "or point --state / RECONCILER_STATE at another store"

#: SQLite's words for a file that is not a state store, or one whose tables were changed by hand
#: (a table or a column gone): a store in that shape cannot be repaired by trying again.
_DAMAGED = ("not a database", "malformed", "no such table", "no such column", "has no column named")


def sqlite_failure(description: str, reason: str) -> ReconcilerError:
    """The error for an SQLite failure, told apart by SQLite's own reason."""
    description = shown(description)  # it holds the file's path, which may hold any character
    lowered = reason.lower()
    if any(words in lowered for words in _DAMAGED):
        return ReconcilerError(
            f"the state store {description} is damaged or not a state store: {reason}",
            hint=f"move the file aside (its history and locks are lost; the next apply starts a new one), "
            f"{_ELSEWHERE}",
        )
    if "full" in lowered:
        return ReconcilerError(
            f"cannot write the state store {description}: the disk is full",
            hint=f"free space on that disk, {_ELSEWHERE}",
        )
    if "disk i/o" in lowered:
        return ReconcilerError(
            f"cannot write the state store {description}: {reason}",
            hint=f"check that its disk has free space and works, {_ELSEWHERE}",
        )
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return ReconcilerError(
            f"cannot write the state store {description}: {reason}",
            hint="make the file and its directory writable (SQLite also writes -wal and -shm files beside "
            f"it), {_ELSEWHERE}",
        )
    if "locked" in lowered or "busy" in lowered:
        return ReconcilerError(
            f"the state store {description} stayed locked by another process: {reason}",
            hint="try again once the other reconciler command has finished",
        )
    return ReconcilerError(
        f"the state store {description} failed: {reason}",
        hint=f"try again; if it fails the same way, move the file aside, {_ELSEWHERE}",
    )


def postgres_failure(description: str, reason: str) -> ReconcilerError:
    """The error for a PostgreSQL failure; `reason` must already be free of any password."""
    return ReconcilerError(
        f"the state store {description} failed: {reason}",
        hint="check that PostgreSQL runs and this user may connect (the password comes from the URL, "
        "PGPASSWORD or ~/.pgpass); a run cut short is resumed by running apply again",
    )


def check_state_url(url: str) -> None:
    """Refuse a state URL whose form no store takes, touching nothing (any command, plan too)."""
    if not url.lower().startswith(("postgresql://", "postgres://")):
        state_file(url)


def state_file(url: str) -> str:
    """The path a `sqlite:PATH` state URL names, as written (see userpaths.path_in_url)."""
    scheme, sep, _ = url.partition(":")
    if not (sep and scheme.lower() == "sqlite"):
        raise unknown_store(url)
    path = path_in_url(url, "the state store", ".reconciler/state.db")
    if not path:
        raise ReconcilerError(
            f"the state store {url!r} names no file",
            hint="use sqlite:PATH, e.g. sqlite:.reconciler/state.db",
        )
    return path


def unknown_store(url: str) -> ReconcilerError:
    return ReconcilerError(
        f"unknown state store {shown_url(url)!r}",
        hint="--state / RECONCILER_STATE takes sqlite:PATH (e.g. sqlite:.reconciler/state.db) or "
        "postgresql://USER@HOST:PORT/DB",
    )
