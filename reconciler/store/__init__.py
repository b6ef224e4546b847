"""The state store: runs, the journal of every attempt, and locks.

`open_store(url)` picks the implementation from the URL's scheme: `sqlite:PATH` (relative to the
current directory) or `postgresql://USER@HOST:PORT/DB` (also `postgres://`). Everything else talks
to the `StateStore` protocol only (docs/state.md).
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
    StoreMark,
    UnwrittenOutcomes,
    format_time,
)
from reconciler.store.failures import state_file
from reconciler.userpaths import check_path

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
    "StoreMark",
    "UnwrittenOutcomes",
    "format_time",
    "open_existing_store",
    "open_store",
    "public_state",
]


def open_store(url: str) -> StateStore:
    """The store at `url`, created when missing."""
    if _is_postgres(url):
        from reconciler.store.postgres import PostgresStore

        return PostgresStore(url)
    from reconciler.store.sqlite import SqliteStore

    return SqliteStore(sqlite_path(url))


def open_existing_store(url: str) -> StateStore | None:
    """The store at `url`, or None when nothing was ever recorded there (reading creates nothing)."""
    if _is_postgres(url):
        from reconciler.store.postgres import PostgresStore

        return PostgresStore.existing(url)
    path = sqlite_path(url)
    if not path.exists():
        return None
    from reconciler.store.sqlite import SqliteStore

    return SqliteStore(path)


def public_state(url: str) -> str:
    """The state URL as it may be shown: without a password."""
    if _is_postgres(url):
        from reconciler.store.postgres import public_url

        return public_url(url)
    return url


def _is_postgres(url: str) -> bool:
    return url.lower().startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    """The file of `sqlite:PATH`: relative to the current directory, `~` for the home directory.

    `sqlite:///abs/path` is an absolute path too; `sqlite://name` is refused, since the URL puts
    `name` where a host goes and a user meaning a relative file would find it written elsewhere.
    """
    path = state_file(url)
    check_path(path, "the state store")
    try:
        resolved = Path(path).expanduser() if path.startswith("~") else Path(path)
    except RuntimeError:  # `~nobody/...`: a user with no home directory, or none at all
        resolved = Path(path)
    if str(resolved).startswith("~"):
        raise ReconcilerError(
            f"the state store {url!r} starts with ~, but that home directory is unknown",
            hint="spell the path out, e.g. sqlite:/home/USER/state.db",
        )
    if resolved.is_dir():
        raise ReconcilerError(
            f"the state store {url!r} is a directory, not a file",
            hint=f"name a file in it, e.g. sqlite:{path.rstrip('/')}/state.db",
        )
    return resolved
