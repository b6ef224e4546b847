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
_LINE = re.compile(
    rf"(?P<indent> *)(?P<dash>- )?(?P<key>{_WORD}):"
    rf"(?: +(?P<value>{_SCALAR}|\{{ *{_WORD}: +{_SCALAR}(?: *, *{_WORD}: +{_SCALAR})* *\}}))?"
    r"(?: +#.*)? *"  # a comment after a space, or trailing spaces
)
_PAIR = re.compile(rf"({_WORD}): +({_SCALAR})")
#: The booleans of YAML 1.2's core schema, as desired state writes them (`create: true`).
_BOOLEANS = {"true": True, "false": False}
_NOT_BOOLEAN = object()
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
    root = _mapping(chunk, first_line)
    if root is None or not _agrees(root, item):
        return None
    return root


def position_in(entries: Entries, item: dict[str, Any], path: ItemPath, key: bool) -> Position | None:
    """1-based (line, column) of `path` in an item read by `plain_entries`; None: ask the composer."""
    return _find(entries, item, path, key)


def _mapping(chunk: str, first_line: int) -> dict[str, _Entry] | None:
    """The item's entries, nested by indentation; None for any line that is not plain."""
    root: dict[str, _Entry] = {}
    stack: list[tuple[int, dict[str, _Entry]]] = []  # (indent, mapping) from the item down
    fullmatch = _LINE.fullmatch
    for number, line in enumerate(chunk.split("\n")):
        found = fullmatch(line)
        if found is None:
            if not line.strip() or (number and line.lstrip().startswith("#")):
                continue  # a blank line, or a comment line (nothing in a plain item can make it content)
            return None
        indent, dash, name, value = found.group(1, 2, 3, 4)  # by number: faster than by name
        if (dash is not None) != (number == 0):
            return None  # one `- ` opens the item; a nested sequence is not plain here
        column = len(indent) + (2 if dash else 0)
        if number == 0:
            stack.append((column, root))
        elif column > stack[-1][0]:
            above = _last(stack[-1][1])
            if above is None or above.value is not None or above.below:
                return None  # deeper than a key that has a value of its own
            stack.append((column, above.below))
        else:
            while stack and stack[-1][0] > column:
                stack.pop()
            if not stack or stack[-1][0] != column:
                return None  # an indentation that matches no open mapping
        entries = stack[-1][1]
        if name in entries:
            return None  # a repeated key: the parser's account wins
        line_number = first_line + number + 1
        at = (line_number, found.start(4) + 1) if value is not None else None
        entries[name] = _Entry((line_number, column + 1), at, value, {})
    return root


def _last(entries: dict[str, _Entry]) -> _Entry | None:
    return next(reversed(entries.values()), None)


def _agrees(entries: dict[str, _Entry], data: dict[str, Any]) -> bool:
    """Whether the lines hold the same keys as the parsed mapping, and the same plain strings."""
    if entries.keys() != data.keys():
        return False
    for name, entry in entries.items():
        value = data[name]
        if entry.text is None:
            if not entry.below or not isinstance(value, dict) or not _agrees(entry.below, value):
                return False
        elif entry.text.startswith("{"):
            pairs = dict(_PAIR.findall(entry.text))
            if not isinstance(value, dict) or pairs != value:
                return False
        elif entry.text != value and _BOOLEANS.get(entry.text, _NOT_BOOLEAN) is not value:
            return False  # a number, a null, another spelling of a boolean: not plain text
    return True


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
