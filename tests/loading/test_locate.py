"""The locator: positions from one composed chunk must equal positions from the whole file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.loading import scan
from reconciler.loading.locate import _UNSET, Locator, YamlPath, _descend
from reconciler.loading.yamlfile import parse_yaml

NAMES = st.from_regex(r"[a-z][a-z0-9-]{1,10}[a-z0-9]", fullmatch=True)


def paths(data: Any, prefix: YamlPath = ()) -> Iterator[YamlPath]:
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths(value, (*prefix, index))


def assert_same_as_full_compose(text: str) -> None:
    doc, problems = parse_yaml(text.encode(), "f.yaml")
    assert problems == [] and doc is not None
    root = scan.compose(text.removeprefix("\ufeff"))
    assert root is not None
    for locator in (Locator(text, doc.data), warmed(text, doc.data), warmed(text, doc.data, forget=True)):
        for path in [*paths(doc.data), ("nothing",), ("sites", 99), ("subscriptions", 0, "nothing", "here")]:
            for key in (False, True):
                assert locator.position(path, key=key) == _descend(root, path, key, 0), (path, key)


def warmed(text: str, data: Any, *, forget: bool = False) -> Locator:
    """A locator whose every top-level list item was prepared first (as apply does while it waits)."""
    locator = Locator(text, data)
    if forget:
        locator.forget_data()
    for name, value in data.items() if isinstance(data, dict) else ():
        for index in range(-1, len(value) + 1 if isinstance(value, list) else 1):
            locator.warm(name, index)
    return locator


@st.composite
def estates(draw: st.DrawFn) -> str:
    """A desired-state file in one of the styles people write."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    seq = draw(st.sampled_from(["  - ", "- ", "    - "]))  # the sequence's indentation
    inner = " " * len(seq)
    quote = draw(st.sampled_from(["", "'", '"']))
    lines = draw(st.sampled_from([[], ["# yaml-language-server: $schema=x.json"], ["---"], ["# c", "---"]]))
    lines.append("version: 1")

    def comment() -> list[str]:
        return draw(st.sampled_from([[], [""], ["# a comment"], [inner + "# indented comment"]]))

    sites = draw(st.lists(NAMES, max_size=4, unique=True))
    if sites or draw(st.booleans()):
        lines.append("sites:" if sites else "sites: []")
    for name in sites:
        lines += comment()
        if draw(st.booleans()):
            lines.append(f"{seq}{{name: {name}, org: org-{name}}}")
        else:
            lines += [f"{seq}name: {quote}{name}{quote}", f"{inner}org: org-{name}  # where it lives"]
            lines += [f"{inner}create: true"] if draw(st.booleans()) else []
    subscriptions = draw(st.lists(st.integers(1000, 9999), max_size=4, unique=True))
    lines.append("subscriptions:" if subscriptions else "subscriptions: []")
    for number in subscriptions:
        lines += comment()
        if draw(st.booleans()):
            lines.append(f"{seq}id: {quote}SUB-{number}{quote}")
        else:  # the item's dash alone on its line
            lines += [seq.rstrip(), f"{inner}id: {quote}SUB-{number}{quote}"]
        apps = draw(st.lists(st.sampled_from(["jira-align", "focus", "talent"]), unique=True, max_size=3))
        if draw(st.booleans()):
            lines.append(f"{inner}status: cancelled")
        if apps:
            lines.append(f"{inner}apps:")
            for app in apps:
                if draw(st.booleans()):
                    lines.append(f"{inner}  {app}: {{site: s{number}}}")
                else:
                    lines += [f"{inner}  {app}:", f"{inner}    site: s{number}"]
    return newline.join(lines) + draw(st.sampled_from([newline, ""]))  # with or without a last newline


@settings(max_examples=80, deadline=None)
@given(estates())
def test_positions_match_the_whole_file(text: str) -> None:
    assert_same_as_full_compose(text)


def test_flow_style_files_fall_back_to_the_whole_file() -> None:
    assert_same_as_full_compose(
        "{version: 1, sites: [{name: a1, org: o}, {name: b2, org: o}],\n subscriptions: []}\n"
    )


def test_a_sequence_item_spread_over_lines_in_flow_style() -> None:
    assert_same_as_full_compose(
        "version: 1\nsites:\n  - {name: a1,\n     org: o}\n  - name: b2\n    org: o\n"
    )


def test_block_scalars_and_multiline_strings() -> None:
    text = (
        "version: 1\nsites:\n  - name: a1\n    org: |\n      - not an item\n      x: y\n"
        "  - name: b2\n    org: 'two\n      lines'\n"
    )
    assert_same_as_full_compose(text)


def test_anchors_and_aliases_across_items() -> None:
    text = (
        "version: 1\nsubscriptions:\n  - id: A\n    apps: &apps\n      focus: {site: s}\n"
        "  - id: B\n    apps: *apps\n"
    )
    assert_same_as_full_compose(text)


def test_an_item_that_does_not_verify_is_located_in_the_whole_file() -> None:
    text = "version: 1\nsites:\n  - name: a1\n    org: o\n  - name: b2\n    org: o\n"
    # Data that disagrees with the text (as if the scan misread the chunk): the chunk is not trusted.
    locator = Locator(text, {"version": 1, "sites": [{"name": "a1", "org": "o"}, {"name": "zz", "org": "o"}]})
    assert locator.position(("sites", 1, "org")) == (6, 10)
    assert locator._full is not None  # the whole file was composed


def test_lookups_from_threads_agree() -> None:
    lines = ["version: 1", "subscriptions:"]
    for number in range(200):
        lines += [f"  - id: SUB-{number}", "    apps:", f"      focus: {{site: s{number}}}"]
    text = "\n".join(lines) + "\n"
    doc, _ = parse_yaml(text.encode(), "f.yaml")
    assert doc is not None
    results: dict[int, tuple[int, int]] = {}

    def work(offset: int) -> None:
        for number in range(offset, 200, 4):
            span = doc.locate(("subscriptions", number, "apps", "focus", "site"))
            results[number] = (span.line, span.column)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {number: (5 + 3 * number, 21) for number in range(200)}


def test_preparing_items_never_reads_the_whole_file() -> None:
    """Apply prepares items while it waits for the console, and stops when the answer comes:
    each step is one item, never a whole file (a flow-style file, an alias to another item)."""
    flow = "{version: 1, subscriptions: [{id: A, apps: {focus: {site: s}}}]}\n"
    alias = (
        "version: 1\nsubscriptions:\n  - id: A\n    apps: &apps\n      focus: {site: s}\n"
        "  - id: B\n    apps: *apps\n"
    )
    for text in (flow, alias):
        doc, _ = parse_yaml(text.encode(), "f.yaml")
        assert doc is not None
        locator = warmed(text, doc.data, forget=True)
        assert locator._full is _UNSET and locator._data is _UNSET, text


def test_a_prepared_item_is_located_without_reading_it_again() -> None:
    text = "version: 1\nsubscriptions:\n  - id: A\n    apps:\n      focus: {site: s}\n"
    doc, _ = parse_yaml(text.encode(), "f.yaml")
    assert doc is not None
    doc.forget_data()
    doc.warm("subscriptions", 0)
    locator = doc._locator
    assert locator is not None and ("subscriptions", 0) in locator._plain
    assert doc.locate(("subscriptions", 0, "apps", "focus", "site")).line == 5


def test_a_huge_flow_collection_is_placed_by_its_line_not_composed(monkeypatch: Any) -> None:
    """Composing a flow list of a million one-letter items took 4 s and 430 MB to place one key:
    past MAX_COMPOSED characters a position is the line its top-level block starts on."""
    from reconciler.loading.locate import MAX_COMPOSED

    text = "version: 1\nsites: [" + ",".join(["{name: ab, org: o}"] * 40_000) + "]\nsubscriptions: []\n"
    assert len(text) > 2 * MAX_COMPOSED
    composed: list[int] = []
    real = scan.compose
    monkeypatch.setattr(scan, "compose", lambda chunk: composed.append(len(chunk)) or real(chunk))
    doc, problems = parse_yaml(text.encode(), "huge.yaml")
    assert problems == [] and doc is not None
    locator = Locator(text, doc.data)
    assert locator.position(("sites", 39_999, "org")) == (2, 1)
    assert locator.position(("sites",), key=True) == (2, 1)
    assert locator.position(("subscriptions",), key=True) == (3, 1)
    assert sum(composed) <= MAX_COMPOSED
