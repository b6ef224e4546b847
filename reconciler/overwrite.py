"""What a file reconciler is about to replace is: nothing, an empty file, or one it wrote before.

`plan --out` and the runbook both write to a path a person names, which may already hold a
desired-state file, the console, the journal, a device or a FIFO. Each recognises its own files
by how they begin, and anything else is refused before a byte is written. Only the first bytes
are read, without following a link or blocking on a FIFO.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

#: How much of an existing file is read to tell whether reconciler wrote it.
HEAD_BYTES = 4096

_SQLITE_START = b"SQLite format 3\x00"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (a named pipe), not a regular file"),
    (stat.S_ISCHR, "a character device, not a regular file"),
    (stat.S_ISBLK, "a block device, not a regular file"),
    (stat.S_ISSOCK, "a socket, not a regular file"),
)


def overwrite_problem(path: Path, start: re.Pattern[bytes], thing: str, what: str, how: str) -> str | None:
    """What the file at `path` is, when replacing it would lose it; None when it would not.

    None for a name that does not exist yet, an empty regular file (`mktemp` makes those) and a
    file whose first bytes match `start` (one reconciler wrote: `what`, which begins with `how`;
    `thing` names one in general, for a link: "a plan" is never written through one).
    A name that cannot be looked at is None too: the write then fails with the reason.
    """
    try:
        found = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(found.st_mode):
        return f"a symbolic link ({thing} is never written through one)"
    for test, kind in _KINDS:
        if test(found.st_mode):
            return kind
    if not stat.S_ISREG(found.st_mode):
        return "not a regular file"
    if found.st_size == 0:
        return None
    try:
        # No link followed, no wait on a FIFO swapped in since the lstat, no controlling terminal.
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_NOCTTY", 0)
        fd = os.open(path, flags)
    except OSError as error:
        return f"a file that cannot be read to check that it is {what} ({error.strerror or error})"
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "not a regular file"
        head = file.read(HEAD_BYTES)
    if start.match(head):
        return None
    if head.startswith(_SQLITE_START):
        return f"an SQLite database, not {what}"
    return f"not {what} ({what} starts with {how})"
