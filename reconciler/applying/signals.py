"""Ctrl-C and SIGTERM during apply.

Before any write, a signal stops the run at once (nothing is in flight). While changes execute,
the first signal only asks the executor to stop: no new change starts, in-flight ones get a
short grace and are journaled. A second signal stops without waiting.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from reconciler.errors import Interrupted
from reconciler.interrupts import interrupted_exit, note_interrupted

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.received: str | None = None
        self._deferring = False
        #: an Interrupted was raised (a signal only deferred does not count: the run still finishes
        #: its journal and gives its lock back if another comes after execution)
        self._raised = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for number in _SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(number).name
        note_interrupted()
        if self._deferring and not self.stop.is_set():
            self.stop.set()
            return
        if self._raised and not self._deferring:
            # The Interrupted raised before is unwinding, or was lost where Python cannot raise (a
            # weakref callback, a thread's start): raising again could be lost the same way.
            interrupted_exit()
        self._raised = True
        self.stop.set()
        raise Interrupted(f"interrupted by {self.received}")

    @contextmanager
    def deferred(self) -> Iterator[threading.Event]:
        """While executing: a signal sets the returned event instead of raising."""
        self._deferring = True
        try:
            yield self.stop
        finally:
            self._deferring = False
