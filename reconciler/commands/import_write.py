"""Writing what `import` made: every file or none, never over anything, and only files that validate.

The files are written into a hidden directory made inside the output directory, checked there as
`reconciler validate` checks desired state, then each is linked to its name: a link is never made
over an existing name, so a file, a link or a directory that is there already (or appears while
import runs) is kept and import stops. Whatever fails on the way (a full disk, a file that would
not validate, a name taken), what was put in place is taken away again, with the directories
import made: the output directory is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.userpaths import shown

WRITABLE_HINT = "pass --out with a directory you can write to"
#: what a file system without hard links answers a link with: a rename that checks first does instead
_NO_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK})


def write_estate(out: Path, out_dir: str, files: Sequence[tuple[str, str]]) -> None:
    """Write each (name, text) into `out`, all or none; raise ReconcilerError saying why when not."""
    _refuse_taken(out, files)
    made = _missing_directories(out)
    placed: list[Path] = []
    staging: Path | None = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".import-", dir=out))
        for name, text in files:
            (staging / name).write_text(text, encoding="utf-8")
        _check_valid(staging)
        for name, _ in files:
            _place(staging / name, out / name)
            placed.append(out / name)
    except BaseException as error:
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
            shutil.rmtree(staging, ignore_errors=True)


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
