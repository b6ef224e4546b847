"""The state store: runs, the journal of every attempt, and locks.

`open_store(url)` picks the implementation from the URL's scheme; today `sqlite:PATH` (relative
to the current directory). Everything else talks to the `StateStore` protocol only.
"""

from __future__ import annotations

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
    StateStore,
    format_time,
)

__all__ = [
    "AttemptOutcome",
    "AttemptRecord",
    "LockRecord",
    "LockRequest",
    "NewAttempt",
    "NewRun",
    "RunOutcome",
    "RunRecord",
    "StateStore",
    "format_time",
    "open_existing_store",
    "open_store",
]


def open_store(url: str) -> StateStore:
    """The store at `url`, created when missing."""
    from reconciler.store.sqlite import SqliteStore

    return SqliteStore(_sqlite_path(url))


def open_existing_store(url: str) -> StateStore | None:
    """The store at `url`, or None when nothing was ever recorded there (reading creates nothing)."""
    path = _sqlite_path(url)
    if not path.exists():
        return None
    from reconciler.store.sqlite import SqliteStore

    return SqliteStore(path)


def _sqlite_path(url: str) -> Path:
    scheme, sep, rest = url.partition(":")
    if not (sep and scheme.lower() == "sqlite"):
        raise ReconcilerError(
            f"unknown state store {url!r}",
            hint="--state / RECONCILER_STATE takes sqlite:PATH, e.g. sqlite:.reconciler/state.db",
        )
    path = rest.removeprefix("//") if rest.startswith("///") else rest
    if not path:
        raise ReconcilerError(
            f"the state store {url!r} names no file",
            hint="use sqlite:PATH, e.g. sqlite:.reconciler/state.db",
        )
    return Path(path)
