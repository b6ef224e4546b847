"""Where a value sits in a YAML file, paying only for what is asked.

The fast parser gives data without positions. Composing the whole file with PyYAML gives every
position but costs about a second per 2 MB, which a plan that locates a few hundred changed
subscriptions in a 10,000-subscription file should not pay. Desired-state files are plain block
style: a few top-level keys, two of them long block sequences. So the locator finds the line
range of each sequence item with a line scan, composes only the item asked about, checks that the
chunk is the item the parser saw, and composes the whole file when anything does not fit.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.loading import scan
from reconciler.loading.scan import Position

YamlPath = tuple[str | int, ...]

# A plain top-level key: `sites:`, `version: 1`. Anything else at column 0 (a flow collection,
# a quoted key, a document marker) means the file is not plain block style.
_TOP_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?=[ \t\r]|$)")
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class _Block:
    """A top-level key's lines [start, end), and the first line of each of its sequence items."""

    start: int
    end: int
    items: tuple[int, ...]


class Locator:
    """Positions of values in one YAML text whose parsed form is `data`. Thread-safe."""

    def __init__(self, text: str, data: Any) -> None:
        self._text = text
        self._data = data
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._blocks: dict[str, _Block] | None = None
        self._chunks: dict[tuple[int, int], Node | None] = {}
        self._full: Node | None = _UNSET

    def position(self, path: YamlPath, *, key: bool = False) -> Position:
        """1-based (line, column) of the value at `path`, or of its key; else of the nearest ancestor."""
        with self._lock:
            found = self._from_blocks(path, key)
            return found if found is not None else self._from_full(path, key)

    # --- the cheap way: one chunk of lines ---------------------------------------------------------

    def _from_blocks(self, path: YamlPath, key: bool) -> Position | None:
        if not path or not isinstance(path[0], str):
            return None
        block = self._index().get(path[0])
        if block is None:
            return None
        if block.items and len(path) >= 2 and isinstance(path[1], int):
            return self._from_item(block, path, key)
        # The key line and at most the first item place the key and the start of its value.
        end = block.items[1] if len(block.items) > 1 else block.end
        root = self._chunk(block.start, end)
        if not isinstance(root, MappingNode) or len(root.value) != 1:
            return None
        first_key = root.value[0][0]
        if not isinstance(first_key, ScalarNode) or first_key.value != path[0]:
            return None
        if block.items and len(path) > 1:
            path = path[:2]  # deeper than the sequence: only its first item was composed
        return _descend(root, path, key, block.start)

    def _from_item(self, block: _Block, path: YamlPath, key: bool) -> Position | None:
        index = path[1]
        assert isinstance(index, int)
        if not 0 <= index < len(block.items):
            return None
        start = block.items[index]
        end = block.items[index + 1] if index + 1 < len(block.items) else block.end
        root = self._chunk(start, end)
        if not isinstance(root, SequenceNode) or len(root.value) != 1:
            return None
        item = root.value[0]
        if not _same_item(item, self._data[path[0]][index]):
            return None
        return _descend(item, path[2:], key, start)

    def _index(self) -> dict[str, _Block]:
        if self._blocks is None:
            self._lines = self._text.split("\n")
            self._blocks = _scan_blocks(self._lines, self._data)
        return self._blocks

    def _chunk(self, start: int, end: int) -> Node | None:
        if (start, end) not in self._chunks:
            try:
                node = scan.compose("\n".join(self._lines[start:end]))
            except scan.ScanFailed:
                node = None
            self._chunks[(start, end)] = node
        return self._chunks[(start, end)]

    # --- the sure way: the whole file ---------------------------------------------------------------

    def _from_full(self, path: YamlPath, key: bool) -> Position:
        if self._full is _UNSET:
            try:
                self._full = scan.compose(self._text)
            except scan.ScanFailed:
                self._full = None
        if self._full is None:
            return (1, 1)
        return _descend(self._full, path, key, 0)


def _descend(node: Node, path: YamlPath, key: bool, line_offset: int) -> Position:
    target, key_node = node, None
    for step in path:
        key_node, child = None, None
        if isinstance(target, MappingNode):
            # The last occurrence wins, as in the parser's handling of a repeated key.
            for k, v in reversed(target.value):
                if isinstance(k, ScalarNode) and k.value == step:
                    key_node, child = k, v
                    break
        elif isinstance(target, SequenceNode) and isinstance(step, int) and 0 <= step < len(target.value):
            child = target.value[step]
        if child is None:
            break  # the nearest ancestor that exists
        target = child
    else:
        if key and key_node is not None:
            target = key_node
    line, column = scan.start(target)
    return (line + line_offset, column)


def _same_item(node: Node, item: Any) -> bool:
    """Whether a composed chunk is the sequence item the parser produced (by kind and identity)."""
    if isinstance(item, dict):
        if not isinstance(node, MappingNode):
            return False
        raw = {k.value: v for k, v in node.value if isinstance(k, ScalarNode)}
        for ident in ("id", "name"):
            value = item.get(ident)
            if isinstance(value, str):
                other = raw.get(ident)
                if not isinstance(other, ScalarNode) or other.value != value:
                    return False
        return True
    if isinstance(item, list):
        return isinstance(node, SequenceNode)
    return isinstance(node, ScalarNode)


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _scan_blocks(lines: list[str], data: Any) -> dict[str, _Block]:
    """Line ranges of the top-level keys and their block-sequence items; {} when the file is not plain."""
    if not isinstance(data, dict):
        return {}
    tops: list[tuple[str, int]] = []
    for number, line in enumerate(lines):
        if not line or line[0] in " #\r" or (line[0] == "-" and line[1:2] in ("", " ", "\r")):
            continue
        if not tops and line.rstrip() == "---":
            continue
        match = _TOP_KEY.match(line)
        if match is None:
            return {}
        tops.append((match.group(1), number))
    names = [name for name, _ in tops]
    if len(set(names)) != len(names) or set(names) != set(data):
        return {}
    blocks: dict[str, _Block] = {}
    for position, (name, start) in enumerate(tops):
        end = tops[position + 1][1] if position + 1 < len(tops) else len(lines)
        items = _sequence_items(lines, start, end)
        value = data[name]
        if isinstance(value, list) and len(items) != len(value):
            items = ()  # not a block sequence the scan understands: compose the whole block
        blocks[name] = _Block(start, end, items if isinstance(value, list) else ())
    return blocks


def _sequence_items(lines: list[str], start: int, end: int) -> tuple[int, ...]:
    """First lines of the items of the block sequence that is the value of the key on line `start`."""
    rest = lines[start].split(":", 1)[1].strip()
    if rest and not rest.startswith("#"):
        return ()  # an inline value: `sites: []`
    indent = -1
    items: list[int] = []
    for number in range(start + 1, end):
        line = lines[number]
        if not _content(line):
            continue
        here = len(line) - len(line.lstrip(" "))
        if indent < 0:
            indent = here
        if here < indent:
            return ()
        if here == indent:
            if line[here] != "-" or line[here + 1 : here + 2] not in ("", " ", "\r"):
                return ()
            items.append(number)
    return tuple(items)
