"""A reader that goes away (`reconciler plan | head`) changes nothing but where the rest goes.

Standard output and standard error that are pipes or sockets are written through a file whose
write, once the reader has gone, sends the rest to /dev/null instead of raising. The command
goes on as it would have and exits with its own code: a blocked plan still exits 1 under
`set -o pipefail`, an apply that was approved still finishes and journals what it did.
Terminals and files are left as they are: only a pipe or a socket can lose its reader.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from typing import Any, BinaryIO, TextIO, cast


class _ReaderGone(io.FileIO):
    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            quiet = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(quiet, self.fileno())
            finally:
                os.close(quiet)
            return len(memoryview(data))


def guard_streams() -> None:
    """Put stdout and stderr behind `_ReaderGone` where they are pipes or sockets."""
    sys.stdout = _guarded(sys.stdout)
    sys.stderr = _guarded(sys.stderr)


def _guarded(stream: TextIO) -> TextIO:
    try:
        number = stream.fileno()
        mode = os.fstat(number).st_mode
    except (AttributeError, OSError, ValueError):  # not a file of this process (a test's capture)
        return stream
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return stream
    stream.flush()
    raw = _ReaderGone(number, "w", closefd=False)
    # Buffered as the stream was: unbuffered under PYTHONUNBUFFERED, where a CI log shows each
    # line as it comes.
    unbuffered = isinstance(getattr(stream, "buffer", None), io.RawIOBase)
    binary = cast(BinaryIO, raw if unbuffered else io.BufferedWriter(raw))
    return io.TextIOWrapper(
        binary,
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=bool(stream.line_buffering),
        write_through=getattr(stream, "write_through", False),
    )
