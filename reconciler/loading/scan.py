"""Scans of YAML text with PyYAML, for what the fast parser cannot tell: where things are.

Only the error path and the locator use this module, so PyYAML is imported here and nowhere
on the fast path. Positions returned are 1-based (line, column), columns counted in characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Position = tuple[int, int]

#: NEL, LS and PS are ordinary characters in YAML 1.2, which the fast parser and desired state
#: follow; PyYAML (YAML 1.1) breaks lines at them, which shifts every line after one and often
#: makes the text unreadable to it. PyYAML is given each as a private-use character of its own:
#: one character for one, so offsets and columns stay, and `as_read` turns a value back.
_LINE_LIKE = {"\x85": "\ue085", "\u2028": "\ue028", "\u2029": "\ue029"}


def for_pyyaml(text: str) -> str:
    """`text` as PyYAML must read it for its lines to be the fast parser's (see _LINE_LIKE)."""
    if text.isascii():
        return text
    for char, stand_in in _LINE_LIKE.items():
        if char in text:
            text = text.replace(char, stand_in)
    return text


def as_read(value: str) -> str:
    """A scalar PyYAML read from `for_pyyaml(text)`, as it is written in `text`."""
    if value.isascii():
        return value
    for char, stand_in in _LINE_LIKE.items():
        if stand_in in value:
            value = value.replace(stand_in, char)
    return value


def _position(mark: Any) -> Position:
    return (int(mark.line) + 1, int(mark.column) + 1)


@dataclass(frozen=True, slots=True)
class TagUse:
    tag: str
    at: Position


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    key: str
    at: Position
    first: Position


class ScanFailed(Exception):
    """PyYAML could not read the text: what, where, and what it was reading (`context`, if known)."""

    def __init__(self, message: str, at: Position, context: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.at = at
        self.context = context


def _failure(error: yaml.YAMLError) -> ScanFailed:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and context_mark is not None:
        line, column = _position(context_mark)
        context = f"{context} that starts at line {line}, column {column}"
    return ScanFailed(str(problem), _position(mark) if mark is not None else (1, 1), context)


def explicit_tags(text: str) -> list[TagUse]:
    """Every explicit tag (`!foo`, `!!python/object`), at the node that carries it."""
    found: list[TagUse] = []
    try:
        for event in yaml.parse(for_pyyaml(text), Loader=yaml.CSafeLoader):
            tag = getattr(event, "tag", None)
            if tag is not None:
                found.append(TagUse(_shorthand(str(tag)), _position(event.start_mark)))
    except yaml.YAMLError as error:
        raise _failure(error) from error
    return found


def _shorthand(tag: str) -> str:
    """A tag as it is written: `!!python/object`, not `tag:yaml.org,2002:python/object`."""
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag


def document_starts(text: str) -> list[Position]:
    """Where each YAML document of the text starts."""
    try:
        return [
            _position(event.start_mark)
            for event in yaml.parse(for_pyyaml(text), Loader=yaml.CSafeLoader)
            if isinstance(event, yaml.DocumentStartEvent)
        ]
    except yaml.YAMLError as error:
        raise _failure(error) from error


def compose(text: str) -> Node | None:
    """The node tree of a one-document text: every key and value with its position.

    Scalars hold NEL, LS and PS as their stand-ins: compare them through `as_read`.
    """
    try:
        return yaml.compose(for_pyyaml(text), Loader=yaml.CSafeLoader)
    except yaml.YAMLError as error:
        raise _failure(error) from error


def duplicate_keys(root: Node | None) -> list[DuplicateKey]:
    """Every key that repeats an earlier key of the same mapping, with the earlier one's position."""
    found: list[DuplicateKey] = []
    seen_nodes: set[int] = set()
    stack: list[Node] = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # an alias points at a node already checked
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[str, Position] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode):
                    where = _position(key.start_mark)
                    name = as_read(key.value)
                    if name in first:
                        found.append(DuplicateKey(name, where, first[name]))
                    else:
                        first[name] = where
                stack.extend((key, value))
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return sorted(found, key=lambda d: d.at)


@dataclass(frozen=True, slots=True)
class AliasOverflow:
    """The alias at which replayed nodes or characters first went past their limit."""

    at: Position
    nodes: bool  # True: the nodes went past their limit; False: the characters did


def alias_overflow(text: str, max_nodes: int, max_characters: int) -> AliasOverflow | None:
    """Where what aliases replay first adds up to more than a limit, or None if it never does.

    A node's expanded size is its nodes and the characters of its scalars, those that aliases
    inside it replay included; an alias replays its anchor's whole expanded size. The events
    stream through in one pass keeping only each anchor's size, so memory stays bounded
    however large the expansion would be.
    """
    sizes: dict[str, tuple[int, int]] = {}
    opened: list[list[Any]] = []  # [nodes, characters, anchor] of each container not yet closed
    nodes_replayed = characters_replayed = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, ScalarEvent):
                nodes, characters, anchor = 1, len(event.value), event.anchor
            elif isinstance(event, AliasEvent):
                (nodes, characters), anchor = sizes.get(event.anchor or "", (1, 0)), None
                nodes_replayed += nodes
                characters_replayed += characters
                if nodes_replayed > max_nodes or characters_replayed > max_characters:
                    return AliasOverflow(_position(event.start_mark), nodes_replayed > max_nodes)
            elif isinstance(event, MappingStartEvent | SequenceStartEvent):
                opened.append([1, 0, event.anchor])
                continue
            elif isinstance(event, MappingEndEvent | SequenceEndEvent):
                nodes, characters, anchor = opened.pop()
            else:
                continue
            if anchor is not None:
                sizes[anchor] = (nodes, characters)
            if opened:
                opened[-1][0] += nodes
                opened[-1][1] += characters
    except yaml.YAMLError as error:
        raise _failure(error) from error
    return None


def tabs_after_colons(text: str) -> str:
    """`text` with each tab that follows a `:` indicator made a space, so both parsers read it.

    YAML 1.2 allows a tab as the separator after `key:`, but yaml-rs and PyYAML refuse it. Every
    `:<tab>` becomes `: ` (same length, so every position stays), except inside a quoted or
    block scalar, where the tab is part of the value. When PyYAML cannot read the result either,
    the text is returned unchanged and the parser's own error stands.
    """
    spaced = text.replace(":\t", ": ")
    try:
        tokens = yaml.scan(spaced, Loader=yaml.CSafeLoader)
        values = [
            (token.start_mark.index, token.end_mark.index)
            for token in tokens
            if isinstance(token, yaml.ScalarToken) and not token.plain
        ]
    except yaml.YAMLError:
        return text
    chars = list(spaced)
    offset = text.find(":\t")
    while offset != -1:
        if any(start <= offset + 1 < end for start, end in values):
            chars[offset + 1] = "\t"  # the tab belongs to a quoted or block value: keep it
        offset = text.find(":\t", offset + 2)
    return "".join(chars)


def start(node: Node) -> Position:
    return _position(node.start_mark)
