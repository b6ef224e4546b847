"""Positions in one block-sequence item written in the plainest YAML, read from its lines alone.

Nearly every desired-state item looks like this:

    - id: SUB-1001
      apps:
        focus: {site: acme}

For such an item, where a key or value starts follows from indentation and the `key: value`
shape of each line, without composing the item with PyYAML (which also keeps PyYAML out of a
plan's start-up). Comments may follow. Anything less plain (quotes, anchors, tags, block scalars,
nested sequences, multi-line values, a carriage return, a key that is not a simple word) makes
`plain_position` answer None, and the caller composes the item instead. So does any
disagreement with the parsed data: the answer is only given when the lines say exactly what the
parser read.
"""

from __future__ import annotations

import re
from typing import Any

from msgspec import Struct

Position = tuple[int, int]
ItemPath = tuple[str | int, ...]

_WORD = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_SCALAR = r"[A-Za-z0-9_][A-Za-z0-9_.@/+-]*(?: +[A-Za-z0-9_.@/+-]+)*"
#: `[- ]key:` then nothing, a plain scalar, or a one-line flow mapping of plain scalars.
_ENTRY = (
    rf"(?P<indent> *)(?P<dash>- )?(?P<key>{_WORD}):"
    rf"(?:(?P<gap> +)(?P<value>{_SCALAR}|\{{ *{_WORD}: +{_SCALAR}(?: *, *{_WORD}: +{_SCALAR})* *\}}))?"
    r"(?: +#.*)? *"  # a comment after a space, or trailing spaces
)
_LINE = re.compile(_ENTRY)
#: Any line of a plain item: an entry, or a blank or comment line (whose groups are all empty).
_LINES = re.compile(rf"^(?:{_ENTRY}| *(?:#.*)?)$", re.MULTILINE)
_PAIR = re.compile(rf"({_WORD}): +({_SCALAR})")
#: The booleans of YAML 1.2's core schema, as desired state writes them (`create: true`).
_BOOLEANS = {"true": True, "false": False}
#: Characters that may change what a line means; an item with any of them is composed instead.
_UNSAFE = re.compile(r"[\"'&*!|>`\[\]\t\r\\?]")


class _Entry(Struct):
    """One `key: value` of a block mapping: where its key and value start, and what is below it."""

    key: Position
    value: Position | None  # None: nothing after the colon (a nested block, or null)
    text: str | None
    below: dict[str, _Entry]


#: A plain item's entries by key, as `plain_entries` read them.
Entries = dict[str, _Entry]


def plain_position(chunk: str, first_line: int, path: ItemPath, key: bool, item: Any) -> Position | None:
    """1-based (line, column) of `path` inside the item `chunk` (its key with key=True), or None.

    `chunk` is the item's text from its `- ` line on, `first_line` the 0-based line it starts
    on, `item` what the parser read for it.
    """
    entries = plain_entries(chunk, first_line, item)
    return None if entries is None else position_in(entries, item, path, key)


def first_line_position(chunk: str, first_line: int, name: str, key: bool, item: Any) -> Position | None:
    """Where `name` is (its key with key=True) when it is the item's first line, `- name: value`,
    with the plain string the parser read: an item's `id` or `name`, found without reading the rest."""
    end = chunk.find("\n")
    line = chunk if end < 0 else chunk[:end]
    found = _LINE.fullmatch(line)
    if found is None or found["dash"] is None or found["key"] != name or _UNSAFE.search(line):
        return None
    value = found["value"]
    if not isinstance(item, dict) or value is None or value.startswith("{") or item.get(name) != value:
        return None
    return (first_line + 1, len(found["indent"]) + 3 if key else found.start("value") + 1)


def plain_entries(chunk: str, first_line: int, item: Any) -> Entries | None:
    """The item's keys and values with their positions, when its lines say exactly what the
    parser read (`item`); None for an item that is not plain. A caller that locates several
    values of one item reads its lines once."""
    if _UNSAFE.search(chunk) or not isinstance(item, dict):
        return None
    read = _mapping(chunk, first_line)
    if read is None:
        return None
    entries, data = read
    # What the lines say, compared with what the parser read in one comparison in C: the same keys,
    # the same plain strings and booleans, nested alike. A number, a null or another spelling of a
    # boolean is text here and not there, so it never compares equal.
    return entries if data == item else None


def position_in(entries: Entries, item: dict[str, Any], path: ItemPath, key: bool) -> Position | None:
    """1-based (line, column) of `path` in an item read by `plain_entries`; None: ask the composer."""
    return _find(entries, item, path, key)


def _mapping(chunk: str, first_line: int) -> tuple[Entries, dict[str, Any]] | None:
    """The item's entries nested by indentation, and the data they spell; None for any line that
    is not plain.

    One pattern over the whole chunk finds every line (an entry, a blank or a comment line): a
    line it cannot read is skipped by the search, so fewer matches than lines means "not plain".
    """
    root: Entries = {}
    data: dict[str, Any] = {}
    # (indent, entries, data) from the item down
    stack: list[tuple[int, Entries, dict[str, Any]]] = []
    lines = 0
    last = ""  # the key of the entry read last (the item's own line sets it)
    # findall: every line's groups as one tuple, built in C ('' for a group that took no part)
    for indent, dash, name, gap, value in _LINES.findall(chunk):
        lines += 1
        if not name:
            if lines == 1:
                return None  # the item's own line is neither blank nor a comment
            continue  # a blank line, or a comment line (nothing in a plain item can make it content)
        if bool(dash) != (lines == 1):
            return None  # one `- ` opens the item; a nested sequence is not plain here
        column = len(indent) + len(dash)
        if lines == 1:
            stack.append((column, root, data))
        elif column > stack[-1][0]:
            _, above, above_data = stack[-1]
            entry = above.get(last)
            if entry is None or entry.value is not None or entry.below:
                return None  # deeper than a key that has a value of its own
            below: dict[str, Any] = {}
            above_data[last] = below
            stack.append((column, entry.below, below))
        else:
            while stack and stack[-1][0] > column:
                stack.pop()
            if not stack or stack[-1][0] != column:
                return None  # an indentation that matches no open mapping
        _, entries, values = stack[-1]
        if name in entries:
            return None  # a repeated key: the parser's account wins
        line_number = first_line + lines
        if value:
            entries[name] = _Entry(
                (line_number, column + 1), (line_number, column + len(name) + len(gap) + 2), value, {}
            )
            values[name] = dict(_PAIR.findall(value)) if value[0] == "{" else _BOOLEANS.get(value, value)
        else:
            entries[name] = _Entry((line_number, column + 1), None, None, {})
            values[name] = None  # a mapping once lines below it are read, else null
        last = name
    if lines != chunk.count("\n") + 1:
        return None  # a line the pattern could not read
    return root, data


def _find(entries: dict[str, _Entry], data: dict[str, Any], path: ItemPath, key: bool) -> Position | None:
    step, rest = path[0] if path else None, path[1:]
    if not isinstance(step, str) or step not in entries:
        return None  # the item itself, or a missing key: the caller knows the nearest ancestor
    entry = entries[step]
    if rest:
        if entry.below:
            return _find(entry.below, data[step], rest, key)
        if entry.text is not None and entry.text.startswith("{"):
            return _in_flow(entry, rest, key)
        return None
    if key:
        return entry.key
    if entry.value is not None:
        return entry.value
    first = next(iter(entry.below.values()), None)
    return first.key if first is not None else None  # a block mapping starts at its first key


def _in_flow(entry: _Entry, path: ItemPath, key: bool) -> Position | None:
    """A key or value inside a one-line flow mapping such as `{site: acme}`."""
    if len(path) != 1 or entry.value is None or entry.text is None:
        return None
    line, column = entry.value
    for pair in _PAIR.finditer(entry.text):
        if pair.group(1) == path[0]:
            return (line, column + pair.start(1 if key else 2))
    return None
