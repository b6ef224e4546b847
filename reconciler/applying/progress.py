"""What apply tells the person watching, on stderr, while it works.

On a terminal: one line that keeps updating (done/total, elapsed, the change in flight), with
each outcome and retry printed above it. Anywhere else (CI logs, pipes): one plain line per event,
so a log reads as a story. The executor calls these from many threads.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, TextIO

from reconciler.applying.outcomes import ChangeOutcome, ChangeResult, describe
from reconciler.model import Change
from reconciler.terminal import is_tty, printable


class Progress(Protocol):
    def begin(self, total: int) -> None: ...
    def change_started(self, change: Change) -> None: ...
    def change_pending(self, change: Change, operation_id: str) -> None: ...
    def change_retrying(self, change: Change, number: int, error: str, pause: float) -> None: ...
    def change_finished(self, result: ChangeResult) -> None: ...
    def end(self) -> None: ...


# Names come from desired state and errors from the console (a network peer): every line is made
# printable, so neither can move the cursor, rewrite the status line or reorder what is shown.


def finished_line(done: int, total: int, result: ChangeResult) -> str:
    line = f"[{done}/{total}] {describe(result.change)}: {result.outcome}"
    if result.outcome in (ChangeOutcome.SUCCEEDED, ChangeOutcome.FAILED):
        line += f" ({result.seconds:.1f}s)"
    if result.error is not None:
        line += f": {result.error}"
    return printable(line)


def retry_line(change: Change, number: int, error: str, pause: float) -> str:
    return printable(f"      {describe(change)}: try {number} failed: {error}; retrying in {pause:.1f}s")


class PlainProgress:
    """One line per event: what a CI log should show."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self._lock = threading.Lock()

    def _say(self, line: str) -> None:
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def begin(self, total: int) -> None:
        self.total = total

    def change_started(self, change: Change) -> None:
        """Quiet: the outcome line follows; a slow change announces itself when it goes pending."""

    def change_pending(self, change: Change, operation_id: str) -> None:
        self._say(
            printable(
                f"      {describe(change)}: pending (operation {operation_id}), waiting for the console"
            )
        )

    def change_retrying(self, change: Change, number: int, error: str, pause: float) -> None:
        self._say(retry_line(change, number, error, pause))

    def change_finished(self, result: ChangeResult) -> None:
        with self._lock:
            self.done += 1
            line = finished_line(self.done, self.total, result)
        self._say(line)

    def end(self) -> None:
        """Nothing to tidy: every line is already complete."""


class TerminalProgress:
    """One status line redrawn in place; notable events are printed above it."""

    REFRESH = 0.2

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self.started = time.monotonic()
        self.running: dict[str, Change] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def begin(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.REFRESH):
            with self._lock:
                self._draw()

    def _draw(self) -> None:
        elapsed = time.monotonic() - self.started
        current = ""
        if self.running:
            current = "  " + printable(describe(next(reversed(self.running.values()))))
            if len(self.running) > 1:
                current += f" (+{len(self.running) - 1} more)"
        self.stream.write(f"\r\033[2K[{self.done}/{self.total}] {elapsed:5.1f}s{current}")
        self.stream.flush()

    def _print_above(self, line: str) -> None:
        self.stream.write(f"\r\033[2K{line}\n")
        self._draw()

    def change_started(self, change: Change) -> None:
        with self._lock:
            self.running[change.id] = change
            self._draw()

    def change_pending(self, change: Change, operation_id: str) -> None:
        """The status line already shows it in flight."""

    def change_retrying(self, change: Change, number: int, error: str, pause: float) -> None:
        with self._lock:
            self._print_above(retry_line(change, number, error, pause))

    def change_finished(self, result: ChangeResult) -> None:
        with self._lock:
            self.running.pop(result.change.id, None)
            self.done += 1
            self._print_above(finished_line(self.done, self.total, result))

    def end(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
        with self._lock:
            self.stream.write("\r\033[2K")
            self.stream.flush()


def progress_for(stream: TextIO) -> Progress:
    return TerminalProgress(stream) if is_tty(stream) else PlainProgress(stream)
