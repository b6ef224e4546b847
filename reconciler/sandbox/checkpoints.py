"""A served console's write-ahead log, checkpointed into the file as soon as its writes pause.

SQLite keeps a console's latest writes in `<file>-wal` until a checkpoint copies them into the
file, which by default waits for a thousand pages or the last connection to close: for a
long-lived server, for good. The log is paired with the file by name, not by content, so a
file copied over the console in place while the log holds writes gets them laid over it, and
the server would serve (and at its end write) a mix of both. A server that checkpoints once
the log has been still for a moment holds nothing the file lacks whenever no one is writing.
The checkpoint runs on the server's own idle thread, never in a request.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


class IdleCheckpoints:
    """Checkpoints the log of the console at `path` with `checkpoint` (True when it copied every
    write into the file) once the log is unchanged since the last `tick` and has changed since
    the last checkpoint that finished."""

    def __init__(self, path: Path, checkpoint: Callable[[], bool]) -> None:
        self._log = Path(f"{path}-wal")
        self._checkpoint = checkpoint
        self._seen = _state(self._log)
        self._done: tuple[int, ...] | None = None

    def tick(self) -> None:
        state = _state(self._log)
        still, self._seen = state == self._seen, state
        if still and state is not None and state != self._done and self._checkpoint():
            self._done = state


def _state(log: Path) -> tuple[int, ...] | None:
    """The log file's size and times: a commit appends to it or starts it again from its head."""
    try:
        found = os.stat(log)
    except OSError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)
