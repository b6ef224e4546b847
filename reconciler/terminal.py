"""Small helpers for writing to a terminal, a CI log or a pipe."""

from __future__ import annotations

import os
import re
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


def printable(text: str) -> str:
    """`text` safe to show on a terminal, in a CI log or a comment: what would act instead of show
    is escaped the way Python writes it in a string (`\\x1b`, `\\r`, `\\n`, `\\u202e`).

    That is every character str.isprintable() refuses: C0 and C1 controls (ESC starts terminal
    commands, BEL rings, CR overwrites the line, NEL, LF and U+2028/U+2029 start another line),
    format characters (bidi overrides reorder what is shown, zero-width ones hide), separators
    other than the space, and unassigned code points. Backslashes are left alone, so a Windows
    path reads as written. Values come from pull requests, seeds, plan files and network peers.
    """
    if text.isprintable():  # the usual case, at C speed
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


def printable_lines(text: str) -> str:
    """`text` made printable line by line: its own line breaks (LF) kept, everything else escaped."""
    if text.isprintable():
        return text
    return "\n".join(printable(line) for line in text.split("\n"))


#: The most of one value (a run of characters without a space: an id, a name, a quoted string) a
#: person is shown in a text, Markdown or GitHub output; past it, its start and how much more
#: there is. JSON outputs keep every value whole: they are for programs.
MAX_SHOWN_VALUE = 200
#: The most of one message, for a value that holds spaces.
MAX_SHOWN_TEXT = 2_000
#: A value already cut is not cut again (its `…` would make it one character too long): a message
#: quoting a clipped value is clipped as it is shown.
_LONG_VALUE = re.compile(rf"(?!\S{{{MAX_SHOWN_VALUE}}}… \()\S{{{MAX_SHOWN_VALUE + 1},}}")


def clipped(text: str, *, limit: int = MAX_SHOWN_TEXT) -> str:
    """`text` with each value past MAX_SHOWN_VALUE characters cut to its start and
    `… (N more characters)`, and the whole past `limit` likewise. A value from a pull
    request or a console can be megabytes long; a message quoting it need not be."""
    if len(text) <= MAX_SHOWN_VALUE:  # the usual case: nothing to search
        return text
    text = _LONG_VALUE.sub(lambda found: _cut(found.group(), MAX_SHOWN_VALUE), text)
    return _cut(text, limit) if len(text) > limit else text


def _cut(text: str, keep: int) -> str:
    return f"{text[:keep]}… ({len(text) - keep:,} more characters)"


def visible(text: str, *, limit: int = MAX_SHOWN_TEXT) -> str:
    """`text` as a person is shown it: clipped (the whole to `limit`), then printable."""
    return printable(clipped(text, limit=limit))


def visible_lines(text: str) -> str:
    """`text` line by line, each clipped and printable (its own line breaks kept): a message that
    lists many lines keeps them all."""
    if len(text) <= MAX_SHOWN_VALUE:
        return printable_lines(text)
    return "\n".join(visible(line) for line in text.split("\n"))


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def paint(text: str, color: str, enabled: bool) -> str:
    if not enabled:
        return text
    return f"\033[{_COLORS[color]}m{text}\033[0m"


def plural(count: int, one: str, many: str | None = None) -> str:
    """`1 site`, `2 sites`; `many` for nouns that do not just take an s."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def info(message: str) -> None:
    """A line for the person running the command, kept off stdout so output stays parseable.

    It may quote a path or a value from untrusted input: made printable, its own breaks kept.
    """
    print(printable_lines(message), file=sys.stderr, flush=True)
