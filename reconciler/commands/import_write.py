"""Writing what `import` made: every file or none, never over anything, and only files that validate.

The files are written into a hidden directory made inside the output directory, checked there as
`reconciler validate` checks desired state, then each is linked to its name: a link is never made
over an existing name, so a file, a link or a directory that is there already (or appears while
import runs) is kept and import stops. Whatever fails on the way (a full disk, a file that would
not validate, a name taken), what was put in place is taken away again, with the directories
import made: the output directory is left as it was.

Ctrl-C and SIGTERM stop the writing, but not the taking away: a signal that comes while import makes
its hidden directory or takes it away waits until that is done. What a killed import (SIGKILL, a
power cut) leaves, a hidden directory named by its process id, the next import into that directory
removes, only once that process is gone and only when it holds nothing but the YAML files import
writes; anything else of that name is reported and left as it is. `reconciler validate` and `plan`
never read a hidden directory, so a leftover is never taken for desired state.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.interrupts import signals_held
from reconciler.terminal import info
from reconciler.userpaths import shown

WRITABLE_HINT = "pass --out with a directory you can write to"
#: what a file system without hard links answers a link with: a rename that checks first does instead
_NO_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK})
STAGING_PREFIX = ".import-"
#: the hidden directory an import writes in: `.import-PID-` and what mkdtemp adds
_STAGING = re.compile(r"\.import-(?P<pid>[0-9]+)-[a-z0-9_]{8}")
#: what an import from before directories carried a process id named it: whose it is cannot be told
_UNNAMED_STAGING = re.compile(r"\.import-[a-z0-9_]{8}")


def write_estate(out: Path, out_dir: str, files: Sequence[tuple[str, str]]) -> None:
    """Write each (name, text) into `out`, all or none; raise ReconcilerError saying why when not.

    A first Ctrl-C or SIGTERM stops the writing; one after it waits until what was written is
    taken away again."""
    with signals_held(first_stops=True):
        _write_estate(out, out_dir, files)


def _write_estate(out: Path, out_dir: str, files: Sequence[tuple[str, str]]) -> None:
    _refuse_taken(out, files)
    made = _missing_directories(out)
    placed: list[Path] = []
    staging: Path | None = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        with signals_held():  # made and named at once: never a directory nobody knows of
            staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out))
        for name, text in files:
            (staging / name).write_text(text, encoding="utf-8")
        _check_valid(staging)
        for name, _ in files:
            with signals_held():  # placed and listed at once: never a file left that is not taken away
                _place(staging / name, out / name)
                placed.append(out / name)
    except BaseException as error:
        with signals_held():  # a second Ctrl-C must not stop this halfway
            for path in placed:
                path.unlink(missing_ok=True)
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
                staging = None
            for folder in reversed(made):
                _remove_if_empty(folder)
        if isinstance(error, OSError):
            raise ReconcilerError(
                f"cannot write to {shown(out_dir)}: {error.strerror or error}; nothing was written",
                hint=WRITABLE_HINT,
            ) from None
        raise
    finally:
        if staging is not None:
            with signals_held():
                shutil.rmtree(staging, ignore_errors=True)


def remove_leftovers(out: Path) -> None:
    """Remove the hidden directories killed imports left in `out`; report what may not be theirs."""
    try:
        with os.scandir(out) as listing:
            entries = [entry for entry in listing if entry.name.startswith(STAGING_PREFIX)]
    except OSError:
        return  # no directory yet, or not one to list: nothing was left in it
    for entry in sorted(entries, key=lambda entry: entry.name):
        _remove_leftover(Path(entry.path))


def _remove_leftover(path: Path) -> None:
    named = _STAGING.fullmatch(path.name)
    if named is None:
        if _UNNAMED_STAGING.fullmatch(path.name) and path.is_dir():
            info(
                f"warning: {shown(path)} looks like what an interrupted import left; it is not read as "
                "desired state: remove it once no import is writing there"
            )
        return
    if _running(int(named["pid"])):
        info(
            f"warning: {shown(path)} is being written by another import (process {named['pid']}): left alone"
        )
        return
    files = _own_files(path)
    if files is None:
        info(
            f"warning: {shown(path)} was left by an import that was stopped, but holds what import never "
            "writes: left as it is (it is not read as desired state); look inside, then remove it"
        )
        return
    try:
        with signals_held():
            for file in files:
                file.unlink()
            path.rmdir()
    except OSError as error:
        info(
            f"warning: cannot remove {shown(path)}, left by an import that was stopped: "
            f"{error.strerror or error}"
        )
        return
    info(f"Removed {shown(path)}, left by an import that was stopped before it finished")


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process has written nothing yet: the directory is an earlier one's
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True  # another user's process, or a number that is none: not known to be gone
    return True


def _own_files(path: Path) -> list[Path] | None:
    """The files in `path`, when it is a directory of this user's holding only YAML files; else None."""
    try:
        status = path.lstat()
        if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
            return None
        with os.scandir(path) as listing:
            entries = list(listing)
    except OSError:
        return None
    if not all(entry.name.endswith(".yaml") and entry.is_file(follow_symlinks=False) for entry in entries):
        return None
    return [Path(entry.path) for entry in entries]


def _refuse_taken(out: Path, files: Sequence[tuple[str, str]]) -> None:
    """Refuse, before anything is made, a name already taken by anything at all (a dangling link too)."""
    taken = [name for name, _ in files if os.path.lexists(out / name)]
    if taken:
        names = ", ".join(shown(out / name) for name in taken)
        raise ReconcilerError(
            f"import would write {names}, which already exist{'s' if len(taken) == 1 else ''}; "
            "import never replaces a file, and nothing was written",
            hint="import into an empty directory, or move those away first",
        )


def _missing_directories(out: Path) -> list[Path]:
    """The directories from the first missing ancestor of `out` down to it: what mkdir will make."""
    missing: list[Path] = []
    folder = out
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return list(reversed(missing))


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty, or not ours to remove after all: kept
        folder.rmdir()


def _check_valid(staging: Path) -> None:
    """What `reconciler validate` would say of the files: import writes nothing it would refuse."""
    from reconciler.loading.desired import check_desired
    from reconciler.rendering.diagnostics import render_diagnostics

    result = check_desired([staging.as_posix()])
    if not result.valid:
        raise ReconcilerError(
            "import made files that do not validate, so nothing was written:\n"
            + render_diagnostics(result.diagnostics, "text", result.files).rstrip("\n"),
            hint="this is a bug in reconciler's import: report it, with the lines above",
        )


def _place(staged: Path, target: Path) -> None:
    """Give `staged` the name `target`, which must not exist: never over a file that appeared meanwhile."""
    try:
        os.link(staged, target, follow_symlinks=False)
        return
    except FileExistsError:
        _refuse_taken(target.parent, [(target.name, "")])
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise
    if os.path.lexists(target):
        _refuse_taken(target.parent, [(target.name, "")])
    os.rename(staged, target)
