"""Where `plan --out` may write: a new file, an empty one, or a plan it saved there before.

The plan is written to a temporary file and renamed over the target, which replaces whatever the
name held: a device, a FIFO, the journal, the console, a desired-state file. So the target is
looked at first, and anything that is not a saved plan is refused before a byte is written.

A saved plan is recognised by how every plan reconciler writes begins: `{` and then its
`"format_version"` key with a number. Only the first bytes are read, without following a link or
blocking on a FIFO, so the check costs the same for a 20 MB plan as for a 2 KB one, and nothing
that merely contains the words (a README quoting a plan, say) passes for one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.overwrite import HEAD_BYTES, overwrite_problem
from reconciler.userpaths import shown

__all__ = ["HEAD_BYTES", "check_target", "may_write", "plan_out_command", "target_problem", "write_text"]

_PLAN_START = re.compile(rb'\A[ \t\r\n]*\{[ \t\r\n]*"format_version"[ \t\r\n]*:[ \t\r\n]*-?[0-9]')

REFUSAL_HINT = (
    "plan --out writes only to a new file, an empty one, or over a plan it saved before: give another path"
)
#: For the names a run reads or keeps: refused even new or empty, so the hint above would mislead.
READ_HINT = (
    "plan --out never writes where plan or apply reads (desired state, billing facts, the console, "
    "the state store), not even to an empty or new file there: give a path outside them"
)


def target_problem(path: Path) -> str | None:
    """What the file at `path` is, when writing a plan there would lose it; None when it would not.

    None for a name that does not exist yet, an empty regular file (`mktemp` makes those: there
    is nothing to lose) and a saved plan. A name that cannot be looked at (a path through a file,
    a directory that cannot be searched) is None too: the write then fails with the reason.
    """
    return overwrite_problem(path, _PLAN_START, "a plan", "a saved plan", "its format_version")


def check_target(path: str | Path) -> None:
    """Refuse, naming the path and what it is, unless a plan may be written there."""
    problem = target_problem(Path(path))
    if problem is not None:
        raise ReconcilerError(
            f"refusing to write the plan to {shown(path)}: it is {problem}", hint=REFUSAL_HINT
        )


def plan_out_command(path: str | Path) -> str:
    """The command that makes a plan at `path` again, for hints: never one that would be refused.

    A file that is not a plan (`show README.md`) gets the placeholder PLAN: suggesting
    `--out README.md` would suggest overwriting the README.
    """
    return f"reconciler plan --out {shown(path) if may_write(path) else 'PLAN'}"


def may_write(path: str | Path) -> bool:
    """Whether `plan --out` would write at `path` (it exists as a saved plan, or not at all)."""
    return target_problem(Path(path)) is None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text(path: str | Path, text: str) -> None:
    """Write a plan's text atomically (a reader never sees half a plan), never over what is not one.

    The target is checked before anything is made and again just before the rename, which is
    what replaces it: a console created at that name meanwhile (the default sandbox, say) is kept.
    """
    import tempfile  # here, not at the top: it costs a plan that writes no file 8 ms of start-up

    check_target(path)
    target = Path(path)
    temporary: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        # mkstemp makes the file private (0600); a plan is an artifact CI uploads and others read,
        # so it gets the mode any file gets here (it never holds a secret).
        os.chmod(temporary, 0o666 & ~_umask())
        check_target(path)
        os.replace(temporary, target)
        temporary = None
    except OSError as exc:
        raise ReconcilerError(
            f"cannot write the plan to {shown(path)}: {exc.strerror or exc}",
            hint="choose a path in a directory you can write to",
        ) from exc
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
