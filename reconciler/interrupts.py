"""Ctrl-C and SIGTERM outside apply's own handling: from start-up to exit, one line and exit 130.

Only the first signal is turned into a `KeyboardInterrupt`, which unwinds the command cleanly
(locks released, files closed). A signal after that, or once the process is on its way out,
ends it at once: nothing is left to unwind but what is already being unwound.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import NoReturn

from reconciler.errors import EXIT_INTERRUPTED, Interrupted

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_state = {"interrupted": False, "announced": False}


def _raise_once(number: int, frame: FrameType | None) -> None:
    if _state["interrupted"]:
        interrupted_exit()
    _state["interrupted"] = True
    raise KeyboardInterrupt


def _exit_now(number: int, frame: FrameType | None) -> None:
    interrupted_exit()


def install_early_handlers() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt (once); called before anything else is imported."""
    for number in _SIGNALS:
        signal.signal(number, _raise_once)
    sys.unraisablehook = _unraisable


def _unraisable(
    unraisable: sys.UnraisableHookArgs, default: Callable[..., object] = sys.unraisablehook
) -> None:
    """A signal's KeyboardInterrupt (or, under apply's handler, its `Interrupted`) raised where
    Python cannot raise it (a weakref callback, such as the import system's module locks while
    threads import, or a `__del__`) is only printed, and the command would go on as if no signal
    came: it ends the process instead, with its one line and 130. So does a signal that comes while
    this hook runs: Python would swallow what its handler raises here too."""
    try:
        if isinstance(unraisable.exc_value, (KeyboardInterrupt, Interrupted)) and _state["interrupted"]:
            interrupted_exit()
        default(unraisable)
    except (KeyboardInterrupt, Interrupted):
        interrupted_exit()


def note_interrupted() -> None:
    """A handler of its own (apply's) took a signal: what it raised may reach the top wrapped in
    another error (a lock's release that the signal came through fails with a RuntimeError)."""
    _state["interrupted"] = True


def was_interrupted() -> bool:
    """Whether a signal reached this process (a prompt turns its KeyboardInterrupt into an Abort)."""
    return _state["interrupted"]


def exit_on_signal() -> None:
    """From here on (the command has finished, or is stopping), a signal ends the process at once."""
    for number in _SIGNALS:
        signal.signal(number, _exit_now)


def announce_interrupted(line: str = "interrupted") -> None:
    """The one line an interrupted command prints, printed once whoever gets there first."""
    if not _state["announced"]:
        _state["announced"] = True
        with contextlib.suppress(OSError):  # no stderr to tell: the exit code still says it
            os.write(2, f"{line}\n".encode(errors="backslashreplace"))


#: processes of this one's own that must end with it (plan's console read in a child)
_children: set[int] = set()


def ends_with_this_process(pid: int, *, ended: bool = False) -> None:
    """Have `interrupted_exit` end and reap child `pid`; with `ended`, forget it (it was reaped)."""
    if ended:
        _children.discard(pid)
    else:
        _children.add(pid)


def end_child(pid: int) -> None:
    """End child `pid` now and reap it (it holds nothing that must be given back)."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)
    _children.discard(pid)


def end_children() -> None:
    """End and reap every child `ends_with_this_process` named and nothing reaped since."""
    for pid in tuple(_children):
        end_child(pid)


def interrupted_exit() -> NoReturn:
    """Say so once and end now, without running what interpreter shutdown runs (it could wait)."""
    announce_interrupted()
    end_children()
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    os._exit(EXIT_INTERRUPTED)


@contextlib.contextmanager
def signals_held(*, first_stops: bool = False) -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block ends, then act as if they came then; with
    `first_stops`, the first one stops the block at once (KeyboardInterrupt) and only those after it
    wait.

    For what must finish once begun, such as taking away what a stopped command made: a second
    signal would otherwise end the process halfway through, leaving it half taken away. Outside
    the main thread (where no handler can be set) the block runs as it is.
    """
    import threading  # imported by the time anything is held: not on every start-up's path

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(number: int, frame: FrameType | None) -> None:
        if first_stops and not _state["interrupted"]:
            _state["interrupted"] = True
            raise KeyboardInterrupt
        held.append(number)

    previous = {number: signal.signal(number, hold) for number in _SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:  # None: a handler set outside Python, which stays
                signal.signal(number, handler)
        for came in dict.fromkeys(held):
            signal.raise_signal(came)
