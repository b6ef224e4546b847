"""Where a value sits in a YAML file, paying only for what is asked.

The fast parser gives data without positions. Composing the whole file with PyYAML gives every
position but costs about a second per 2 MB, which a plan that locates a few hundred changed
subscriptions in a 10,000-subscription file should not pay. Desired-state files are plain block
style: a few top-level keys, two of them long block sequences. So the locator finds the line
range of each sequence item with a line scan, reads a plain item's positions from its lines
(blockitem), composes any other item alone, checks that the chunk is the item the parser saw, and
composes the whole file when anything does not fit. PyYAML is imported only when something is
composed: a plan whose changes sit in plain items never loads it.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from yaml_rs import YAMLDecodeError

from reconciler.loading.blockitem import Entries, first_line_position, plain_entries, position_in
from reconciler.loading.yamlfile import reread

if TYPE_CHECKING:
    from yaml.nodes import Node

Position = tuple[int, int]

YamlPath = tuple[str | int, ...]

# A plain top-level key: `sites:`, `version: 1`. Anything else at column 0 (a flow collection,
# a quoted key, a document marker) means the file is not plain block style.
_TOP_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?=[ \t\r]|$)")
_UNSET: Any = object()
#: Characters of a text composed with PyYAML, at most, for one file's positions. Composing costs
#: up to 2 s and 200 MB a megabyte (a flow list of a million one-letter items: 4 s and 430 MB
#: to place one key): past this, a position is that of the line its block or item starts on,
#: which the line scan knows. Block-style files never come near it: their items are composed one
#: at a time, a few hundred characters each, and only those a message points into.
MAX_COMPOSED = 256 * 1024


class _Span(Struct, frozen=True):
    """Lines of the text: [start, end) in characters, and the 0-based number of the first line."""

    start: int
    end: int
    line: int


_EVERY = 8  # items between two line-number checkpoints


class _Items(Struct, frozen=True):
    """Where each item of a block sequence starts, and the line of every 8th item.

    Counting the lines of 10,000 items one by one costs more than the lookups a plan makes;
    an item's line is its checkpoint's line plus the newlines of at most 7 items (counting
    those of up to 63, as once, cost a big plan more than all its checkpoints).
    """

    starts: tuple[int, ...]
    checkpoints: tuple[int, ...]
    end: int  # where the sequence ends

    def item(self, text: str, index: int) -> _Span:
        base = index - index % _EVERY
        line = self.checkpoints[index // _EVERY] + text.count("\n", self.starts[base], self.starts[index])
        end = self.starts[index + 1] if index + 1 < len(self.starts) else self.end
        return _Span(self.starts[index], end, line)


class Locator:
    """Positions of values in one YAML text whose parsed form is `data`. Thread-safe."""

    def __init__(self, text: str, data: Any) -> None:
        self._text = text
        self._data = data
        #: after forget_data: the top-level keys (None: not a mapping) and each list's length
        self._keys: set[str] | None = set(data) if isinstance(data, dict) else None
        self._lengths: dict[str, int] = {}
        self._reread: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()
        self._blocks: dict[str, _Span] | None = None
        self._items: dict[str, _Items | None] = {}
        self._chunks: dict[tuple[int, int], Node | None] = {}
        #: each item's plain reading (None: not plain), by (top-level key, index): a plan often
        #: locates several values of one item (its apps), and reads the item's lines once
        self._plain: dict[tuple[str, int], Entries | None] = {}
        self._full: Node | None = _UNSET
        self._composed = 0  # characters composed so far (MAX_COMPOSED)

    def forget_data(self) -> None:
        """Let go of the parsed data, keeping its outline: a located item is read again alone.

        The parsed data of a big estate is a third of a plan's memory, and a plan locates a few
        percent of its items: each is parsed again from its own lines (a few microseconds), and
        the whole text only when an item cannot be read alone (an alias to another item).
        """
        with self._lock:
            if isinstance(self._data, dict):
                self._lengths = {k: len(v) for k, v in self._data.items() if isinstance(v, list)}
            self._data = _UNSET

    def _length(self, name: str) -> int:
        """How many items the top-level list `name` has (0: empty, or not a list)."""
        if self._data is _UNSET:
            return self._lengths.get(name, 0)
        value = self._data[name]
        return len(value) if isinstance(value, list) else 0

    def _item(self, name: str, index: int, span: _Span) -> Any:
        """What the parser read for item `index` of `name`, read again alone once the data is forgotten."""
        alone = self._item_alone(name, index, span)
        if alone is _UNSET:
            self._data = reread(self._text)  # the item needs the rest of the text to be read
            return self._data[name][index]
        return alone

    def _item_alone(self, name: str, index: int, span: _Span) -> Any:
        """The item as `_item` gives it, or _UNSET when it cannot be read without the rest of the text."""
        if self._data is not _UNSET:
            return self._data[name][index]
        if (name, index) not in self._reread:
            try:
                alone = reread(self._text[span.start : span.end])
            except YAMLDecodeError:
                return _UNSET  # e.g. an alias of an anchor in another item
            if not isinstance(alone, list) or len(alone) != 1:
                return _UNSET
            self._reread[(name, index)] = alone[0]
        return self._reread[(name, index)]

    def position(self, path: YamlPath, *, key: bool = False) -> Position:
        """1-based (line, column) of the value at `path`, or of its key; else of the nearest ancestor.
        Past MAX_COMPOSED, the start of the line of the top-level block or list item it is in."""
        with self._lock:
            found = self._from_blocks(path, key)
            return found if found is not None else self._from_full(path, key)

    def _compose(self, start: int, end: int) -> Node | None:
        """The text's [start, end) composed, within what may be composed; None when it cannot be."""
        from reconciler.loading import scan

        if self._composed + (end - start) > MAX_COMPOSED:
            return None
        self._composed += end - start
        try:
            return scan.compose(self._text[start:end])
        except scan.ScanFailed:
            return None

    def _line_of(self, path: YamlPath) -> Position:
        """Where the top-level block of `path`, or its list item, starts: without composing."""
        if self._blocks is None:
            self._blocks = _scan_blocks(self._text, self._keys)
        whole = self._blocks.get(path[0]) if path and isinstance(path[0], str) else None
        if whole is None:
            return (1, 1)
        items = self._items_of(str(path[0]), whole)
        if (
            items is not None
            and len(path) >= 2
            and isinstance(path[1], int)
            and 0 <= path[1] < len(items.starts)
        ):
            return (items.item(self._text, path[1]).line + 1, 1)
        return (whole.line + 1, 1)

    def warm(self, name: str, index: int) -> None:
        """Read item `index` of the top-level list `name` the cheap way, as a later position of it
        would: that position is then found in a few microseconds. Never composes a whole text."""
        with self._lock:
            if self._blocks is None:
                self._blocks = _scan_blocks(self._text, self._keys)
            whole = self._blocks.get(name)
            items = None if whole is None else self._items_of(name, whole)
            if items is None or not 0 <= index < len(items.starts) or (name, index) in self._plain:
                return
            span = items.item(self._text, index)
            item = self._item_alone(name, index, span)
            if item is not _UNSET:
                self._plain[(name, index)] = plain_entries(self._text[span.start : span.end], span.line, item)

    # --- the cheap way: one chunk of lines ---------------------------------------------------------

    def _from_blocks(self, path: YamlPath, key: bool) -> Position | None:
        if not path or not isinstance(path[0], str):
            return None
        if self._blocks is None:
            self._blocks = _scan_blocks(self._text, self._keys)
        whole = self._blocks.get(path[0])
        if whole is None:
            return None
        items = self._items_of(path[0], whole)
        if items is not None and len(path) >= 2 and isinstance(path[1], int):
            return self._from_item(items, path, key)
        # The key line and at most the first item place the key and the start of its value.
        if items is not None:
            whole = _Span(whole.start, items.item(self._text, 0).end, whole.line)
            path = path[:2]  # deeper than the sequence: only its first item is composed
        from yaml.nodes import MappingNode, ScalarNode

        from reconciler.loading import scan

        root = self._chunk(whole)
        if not isinstance(root, MappingNode) or len(root.value) != 1:
            return None
        first_key = root.value[0][0]
        if not isinstance(first_key, ScalarNode) or scan.as_read(first_key.value) != path[0]:
            return None
        return _descend(root, path, key, whole.line)

    def _items_of(self, name: str, whole: _Span) -> _Items | None:
        """The items of a top-level list, indexed on first use; None when the scan cannot vouch for them."""
        if name not in self._items:
            length = self._length(name)
            starts = _sequence_items(self._text, whole) if length else ()
            items = None
            # A count that differs means a shape the scan misread: the whole block is composed instead.
            if starts and len(starts) == length:
                bases = (whole.start, *starts[::_EVERY])
                steps = (self._text.count("\n", a, b) for a, b in itertools.pairwise(bases))
                lines = tuple(itertools.accumulate(steps, initial=whole.line))[1:]
                items = _Items(starts, lines, whole.end)
            self._items[name] = items
        return self._items[name]

    def _from_item(self, items: _Items, path: YamlPath, key: bool) -> Position | None:
        index = path[1]
        assert isinstance(index, int)
        if not 0 <= index < len(items.starts):
            return None
        span = items.item(self._text, index)
        where = (str(path[0]), index)
        item = self._item(where[0], index, span)
        if len(path) == 3 and isinstance(path[2], str) and where not in self._plain:
            first = first_line_position(self._text[span.start : span.end], span.line, path[2], key, item)
            if first is not None:
                return first
        if where not in self._plain:
            self._plain[where] = plain_entries(self._text[span.start : span.end], span.line, item)
        entries = self._plain[where]
        plain = None if entries is None else position_in(entries, item, path[2:], key)
        if plain is not None:
            return plain
        from yaml.nodes import SequenceNode

        root = self._chunk(span)
        if not isinstance(root, SequenceNode) or len(root.value) != 1:
            return None
        item = root.value[0]
        if not _same_item(item, self._item(where[0], index, span)):
            return None
        return _descend(item, path[2:], key, span.line)

    def _chunk(self, span: _Span) -> Node | None:
        if (span.start, span.end) not in self._chunks:
            self._chunks[(span.start, span.end)] = self._compose(span.start, span.end)
        return self._chunks[(span.start, span.end)]

    # --- the sure way: the whole file ---------------------------------------------------------------

    def _from_full(self, path: YamlPath, key: bool) -> Position:
        from reconciler.loading import scan

        if self._full is _UNSET:
            if self._composed + len(self._text) > MAX_COMPOSED:
                return self._line_of(path)  # not kept: a smaller chunk may still be composed
            self._composed += len(self._text)
            try:
                self._full = scan.compose(self._text)
            except scan.ScanFailed:
                self._full = None
        if self._full is None:
            return (1, 1)
        return _descend(self._full, path, key, 0)


def _descend(node: Node, path: YamlPath, key: bool, line_offset: int) -> Position:
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    from reconciler.loading import scan

    target, key_node = node, None
    for step in path:
        key_node, child = None, None
        if isinstance(target, MappingNode):
            # The last occurrence wins, as in the parser's handling of a repeated key.
            for k, v in reversed(target.value):
                if isinstance(k, ScalarNode) and _same_key(k, step):
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


def _same_key(node: Any, step: str | int) -> bool:
    """Whether a composed scalar key is the parser's key `step`: its text, or for a key the parser
    read as a number or a boolean (`12:`, `0x10:`, `true:`), the value its text reads as."""
    from reconciler.loading import scan

    text = scan.as_read(node.value)
    if isinstance(step, str):
        return bool(text == step)
    if node.style:  # quoted (`"12"`): a string, never the number `step`; a plain one has ""
        return False
    try:
        read = reread(f"{text}: 0\n")
    except YAMLDecodeError:
        return False
    return isinstance(read, dict) and any(k == step and type(k) is type(step) for k in read)


def _same_item(node: Node, item: Any) -> bool:
    """Whether a composed chunk is the sequence item the parser produced (by kind and identity)."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    from reconciler.loading import scan

    if isinstance(item, dict):
        if not isinstance(node, MappingNode):
            return False
        raw = {scan.as_read(k.value): v for k, v in node.value if isinstance(k, ScalarNode)}
        for ident in ("id", "name"):
            value = item.get(ident)
            if isinstance(value, str):
                other = raw.get(ident)
                if not isinstance(other, ScalarNode) or scan.as_read(other.value) != value:
                    return False
        return True
    if isinstance(item, list):
        return isinstance(node, SequenceNode)
    return isinstance(node, ScalarNode)


# The scans below search "\n" + text, so that every line, the first included, starts after a
# "\n": a pattern that begins with a literal "\n" is found by a fast search, where `^` in
# MULTILINE mode is tried at every character. A match at offset q is the line at text offset q.
#
# A line at column 0 with content that is not a sequence item (those belong to the key above):
_TOP_LINE = re.compile(r"\n(?=[^ #\r\n])(?!-(?:[ \t\r\n]|$))")
_FIRST_CONTENT = re.compile(r"\n( *)[^ #\r\n]")


@functools.cache
def _item_patterns(indent: int) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(an item's first line, a content line that is neither an item nor inside one) at `indent`."""
    item = re.compile(rf"\n {{{indent}}}-(?=[ \r\n]|$)")
    stray = rf"\n {{{indent}}}(?!-(?:[ \r\n]|$))[^ #\r\n]"
    if indent:
        stray += rf"|\n {{0,{indent - 1}}}[^ #\r\n]"
    return item, re.compile(stray)


def _line_at(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)]


def _scan_blocks(text: str, keys: set[str] | None) -> dict[str, _Span]:
    """The line range of each top-level key (`keys`, as parsed); {} when the file is not plain block style."""
    if keys is None:
        return {}
    tops: list[tuple[str, int, int]] = []  # key, offset, line
    line, counted = 0, 0
    for match in _TOP_LINE.finditer("\n" + text):
        start = match.start()
        line += text.count("\n", counted, start)
        counted = start
        content = _line_at(text, start)
        if not tops and content.rstrip() == "---":
            continue
        key = _TOP_KEY.match(content)
        if key is None:
            return {}
        tops.append((key.group(1), start, line))
    names = [name for name, _, _ in tops]
    if len(set(names)) != len(names) or set(names) != keys:
        return {}
    ends = [start for _, start, _ in tops[1:]] + [len(text)]
    return {name: _Span(start, end, first) for (name, start, first), end in zip(tops, ends, strict=True)}


def _sequence_items(text: str, whole: _Span) -> tuple[int, ...]:
    """Where the items start of the block sequence that is the value of the key on `whole`'s first line."""
    key_end = text.find("\n", whole.start, whole.end)
    rest = _line_at(text, whole.start).split(":", 1)[1].strip()
    if key_end < 0 or (rest and not rest.startswith("#")):
        return ()  # an inline value: `sites: []`
    # Searched in "\n" + text, where the newline that ends the key line is at key_end + 1 and
    # the block's last line starts before whole.end.
    padded = "\n" + text
    first = _FIRST_CONTENT.search(padded, key_end + 1, whole.end)
    if first is None:
        return ()
    indent = len(first.group(1))
    starts = _dash_lines(text, key_end, whole.end, indent)
    if _only_items(text, key_end, whole.end, indent, len(starts)):
        return starts
    item, stray = _item_patterns(indent)
    if stray.search(padded, key_end + 1, whole.end):
        return ()
    return tuple(m.start() for m in item.finditer(padded, key_end + 1, whole.end))


def _dash_lines(text: str, key_end: int, end: int, indent: int) -> tuple[int, ...]:
    """Where each line of the block that starts `<indent>- ` starts, found by str.find (a regex
    match per item costs more)."""
    dash = "\n" + " " * indent + "- "
    starts: list[int] = []
    add, find, step = starts.append, text.find, len(dash)
    at = find(dash, key_end, end)
    while at >= 0:
        add(at + 1)  # the line starts after its newline
        at = find(dash, at + step, end)
    return tuple(starts)


def _only_items(text: str, key_end: int, end: int, indent: int, items: int) -> bool:
    """Whether each line of the block after its key line is one of its `items` `- ` lines or
    deeper than they are: then no line is stray and no item starts another way (`-` then a line
    break), which two counts in C say without the stray pattern tried on every line. False
    only means "ask the pattern"."""
    last = end - 1 if text.endswith("\n", 0, end) else end  # the newline that starts the next block
    lines = text.count("\n", key_end, last)
    return lines == items + text.count("\n" + " " * (indent + 1), key_end, last)
