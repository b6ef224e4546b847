"""What apply tells the person watching, on stderr, while it works.

On a terminal: one line that keeps updating (done/total, elapsed, the change in flight), never
wider than the terminal, with each outcome and retry printed above it. Anywhere else (CI logs,
pipes, TERM=dumb): one plain line per event, so a log reads as a story. The executor calls these
from many threads.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Protocol, TextIO

from reconciler.applying.outcomes import ChangeOutcome, ChangeResult, describe
from reconciler.model import Change
from reconciler.terminal import is_tty, visible

if TYPE_CHECKING:
    from rich.text import Text


class Progress(Protocol):
    def begin(self, total: int) -> None: ...
    def change_started(self, change: Change) -> None: ...
    def change_pending(self, change: Change, operation_id: str) -> None: ...
    def change_retrying(self, change: Change, number: int, error: str, pause: float) -> None: ...
    def change_finished(self, result: ChangeResult) -> None: ...
    def end(self) -> None: ...


# Names come from desired state and errors from the console (a network peer): every line is made
# printable, so neither can move the cursor, rewrite the status line or reorder what is shown, and
# clipped as plan and apply's summary clip it, so a value of megabytes is shown by its start.


def finished_line(done: int, total: int, result: ChangeResult) -> str:
    line = f"[{done}/{total}] {describe(result.change)}: {result.outcome}"
    if result.outcome in (ChangeOutcome.SUCCEEDED, ChangeOutcome.FAILED):
        line += f" ({result.seconds:.1f}s)"
    if result.error is not None:
        line += f": {result.error}"
    return visible(line)


def retry_line(change: Change, number: int, error: str, pause: float) -> str:
    return visible(f"      {describe(change)}: try {number} failed: {error}; retrying in {pause:.1f}s")


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
            visible(f"      {describe(change)}: pending (operation {operation_id}), waiting for the console")
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
    """One status line kept in place by rich's live display; notable events are printed above it.

    rich measures the terminal, so the status line is cut to its width (never wrapped into stale
    lines on a narrow one) and follows a resize. It is imported here only, on a terminal: plan and
    validate never load it.
    """

    REFRESH_PER_SECOND = 5

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live

        # The state the status line shows comes first: Live renders it once as it is made.
        self.total = 0
        self.done = 0
        self.started = time.monotonic()
        self.running: dict[str, Change] = {}
        self._lock = threading.Lock()
        self.console = Console(file=stream, highlight=False, markup=False, emoji=False)
        self.live = Live(
            console=self.console,
            get_renderable=self._status,
            refresh_per_second=self.REFRESH_PER_SECOND,
            transient=True,  # the status line goes when apply ends; the outcome lines stay
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def _status(self) -> Text:
        from rich.text import Text

        with self._lock:
            elapsed = time.monotonic() - self.started
            current = ""
            if self.running:
                current = "  " + describe(next(reversed(self.running.values())))
                if len(self.running) > 1:
                    current += f" (+{len(self.running) - 1} more)"
            line = f"[{self.done}/{self.total}] {elapsed:5.1f}s{current}"
        return Text(visible(line), no_wrap=True, overflow="ellipsis")

    def _print_above(self, line: str) -> None:
        from rich.text import Text

        self.console.print(Text(line), soft_wrap=True)

    def begin(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.live.start()

    def change_started(self, change: Change) -> None:
        with self._lock:
            self.running[change.id] = change
        self.live.refresh()

    def change_pending(self, change: Change, operation_id: str) -> None:
        """The status line already shows it in flight."""

    def change_retrying(self, change: Change, number: int, error: str, pause: float) -> None:
        self._print_above(retry_line(change, number, error, pause))

    def change_finished(self, result: ChangeResult) -> None:
        with self._lock:
            self.running.pop(result.change.id, None)
            self.done += 1
            line = finished_line(self.done, self.total, result)
        self._print_above(line)

    def end(self) -> None:
        self.live.stop()


def can_redraw(stream: TextIO) -> bool:
    """A terminal that can keep a line in place: a TTY, and not TERM=dumb."""
    return is_tty(stream) and os.environ.get("TERM") != "dumb"


def progress_for(stream: TextIO) -> Progress:
    """A live line on a terminal that can show one; plain lines on a dumb terminal, a log or a pipe."""
    return TerminalProgress(stream) if can_redraw(stream) else PlainProgress(stream)


class WaitingLine(Protocol):
    """What is awaited, and how long it has been: shown while apply waits on someone else."""

    def update(self, detail: str) -> None: ...
    def end(self) -> None: ...


class PlainWaitingLine:
    """What is awaited, said once: a log gains no line per check."""

    def __init__(self, stream: TextIO, label: str) -> None:
        stream.write(visible(label) + "...\n")
        stream.flush()

    def update(self, detail: str) -> None:
        """Quiet: the outcome follows."""

    def end(self) -> None:
        """Nothing to tidy: the line is complete."""


class TerminalWaitingLine:
    """One line kept in place by rich, cut to the terminal's width like apply's status line."""

    def __init__(self, stream: TextIO, label: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.label = visible(label)
        console = Console(file=stream, highlight=False, markup=False, emoji=False)
        self.live = Live(
            self._line(""),
            console=console,
            auto_refresh=False,  # redrawn at each check: no thread of its own
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.live.start()

    def _line(self, detail: str) -> Text:
        from rich.text import Text

        line = f"{self.label}... {visible(detail)}" if detail else f"{self.label}..."
        return Text(line, no_wrap=True, overflow="ellipsis")

    def update(self, detail: str) -> None:
        self.live.update(self._line(detail), refresh=True)

    def end(self) -> None:
        self.live.stop()


def waiting_line_for(stream: TextIO, label: str) -> WaitingLine:
    """Redrawn in place where progress_for draws a live line; said once anywhere else."""
    if can_redraw(stream):
        return TerminalWaitingLine(stream, label)
    return PlainWaitingLine(stream, label)
