"""Small helpers for writing to a terminal, a CI log or a pipe."""

from __future__ import annotations

import os
import sys
from typing import TextIO

_COLORS = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36, "bold": 1, "dim": 2}


def is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def color_enabled(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal that shows it, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_tty(stream if stream is not None else sys.stdout)


def paint(text: str, color: str, enabled: bool) -> str:
    if not enabled:
        return text
    return f"\033[{_COLORS[color]}m{text}\033[0m"


def plural(count: int, one: str, many: str | None = None) -> str:
    """`1 site`, `2 sites`; `many` for nouns that do not just take an s."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def info(message: str) -> None:
    """A line for the person running the command, kept off stdout so output stays parseable."""
    print(message, file=sys.stderr, flush=True)
