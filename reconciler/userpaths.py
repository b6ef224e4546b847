"""Paths from the command line and from pull requests, checked before the system sees them.

A path can be one the system refuses outright (a name over 255 bytes, a whole path over 4,095)
or a name that is not UTF-8, which Python carries as lone surrogates that no output can encode
(a pull request can add `b\\xffx.yaml` as easily as `b.yaml`). Each is refused with a message that
names it, never handed on to fail as a traceback in whatever touches it first. `shown` writes a
path for a message: its undecodable bytes as `\\xff`, the rest as `printable` writes text.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath

from reconciler.errors import ReconcilerError
from reconciler.secrets import shown_url
from reconciler.terminal import printable

#: Linux's limits (NAME_MAX, PATH_MAX less its NUL), the largest of the systems reconciler runs on.
NAME_MAX = 255
PATH_MAX = 4095
#: A message quotes at most this much of a path: its start and its end.
SHOWN_MAX = 200


def shown(path: str | PurePath) -> str:
    """`path` for a message or an output: undecodable bytes as `\\xff`, controls escaped, long ones cut."""
    text = path.as_posix() if isinstance(path, PurePath) else path
    if not text.isascii():
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = printable(text)
    return f"{text[:100]}...{text[-60:]}" if len(text) > SHOWN_MAX else text


def is_utf8(text: str) -> bool:
    """Whether `text` (a name read from the system) was valid UTF-8: no byte held as a surrogate."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def path_in_url(url: str, what: str, example: str) -> str:
    """The file path a `SCHEME:PATH` URL (`what` it names: "the state store") holds: relative to the
    current directory, or absolute as `SCHEME:///PATH`. `SCHEME://NAME` is refused: the URL puts
    NAME where a host goes, and a user meaning a relative file would find it written elsewhere (or,
    for `SCHEME://USER:PASSWORD@HOST/...`, a file named after a password). `example` is one PATH."""
    scheme, _, rest = url.partition(":")
    if not rest.startswith("//") or rest.startswith("///"):
        return rest.removeprefix("//")
    name = rest[2:]
    if any(mark in name for mark in "@?#"):  # a password or a token, perhaps: never shown
        raise ReconcilerError(
            f"{what} {shown_url(url)!r} names a host, not a file",
            hint=f"use {scheme}:PATH (e.g. {scheme}:{example}) or {scheme}:///ABSOLUTE/PATH",
        )
    raise ReconcilerError(
        f"{what} {url!r} is ambiguous: {name!r} stands where a URL names a host",
        hint=f"use {scheme}:{name} for a file relative to the current directory, or {scheme}:///ABSOLUTE/PATH",
    )


def check_path(path: str | PurePath, what: str) -> None:
    """Refuse `path` (`what` it is: "the plan file") when no system call could take it."""
    text = path.as_posix() if isinstance(path, PurePath) else path
    if not is_utf8(text):
        raise ReconcilerError(
            f"{what} {shown(text)} has a name that is not UTF-8: refused",
            hint="rename it with UTF-8 characters only (git shows such names quoted, with octal escapes)",
        )
    if len(text) > NAME_MAX or len(text.encode()) > NAME_MAX:
        _check_lengths(text, what)


def _check_lengths(text: str, what: str) -> None:
    raw = text.encode()
    if len(raw) > PATH_MAX:
        reason = f"it is {len(raw):,} bytes long, over the {PATH_MAX:,} a path may have"
    elif (longest := max(len(part) for part in raw.split(b"/"))) > NAME_MAX:
        reason = f"a name in it is {longest:,} bytes long, over the {NAME_MAX} a name may have"
    else:
        return
    raise ReconcilerError(f"{what} {shown(text)} is too long: {reason}", hint="use a shorter path")


def check_creatable(path: str | PurePath, what: str, hint: str, *, directory: bool = False) -> None:
    """Refuse `path` (`what` it is: a file, or a `directory` to fill) when it could not be made,
    missing directories and all.

    Looked at before any work, so a command never shows its result and then fails to save it:
    the nearest directory that exists must be one (not a file, not a loop of links) and writable.
    """
    text = path.as_posix() if isinstance(path, PurePath) else path
    found = _nearest_existing(Path(text) if directory else Path(text).parent)
    if isinstance(found, str):
        raise ReconcilerError(f"{what} {shown(text)} cannot be written: {found}", hint=hint)
    where, mode = found
    if not stat.S_ISDIR(mode):
        reason = f"{shown(where)} is not a directory"
    elif not os.access(where, os.W_OK | os.X_OK):
        reason = f"the directory {shown(where)} is not writable"
    else:
        return
    raise ReconcilerError(f"{what} {shown(text)} cannot be written: {reason}", hint=hint)


def _nearest_existing(folder: Path) -> tuple[Path, int] | str:
    """The closest of `folder` and its parents that exists, with its mode; or why none can be reached."""
    while True:
        try:
            return folder, os.stat(folder).st_mode
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            pass  # a parent is a file: the loop comes to it and names it
        except OSError as error:  # a loop of links, a directory that cannot be searched
            return f"{shown(folder)} cannot be reached ({str(error.strerror or error).lower()})"
        if folder.parent == folder:
            return "no directory of it exists"
        folder = folder.parent


@contextmanager
def lock_beside(path: Path) -> Iterator[Path]:
    """Hold an exclusive lock on `PATH.lock` beside `path` (its directory exists) between processes,
    for making a file no two of them may make at once; yields the lock file's path. Not on POSIX,
    the block runs unguarded."""
    lock = path.with_name(f"{path.name}.lock")
    with open(lock, "a") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX: creation is rare enough to go unguarded
            yield lock
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield lock
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
