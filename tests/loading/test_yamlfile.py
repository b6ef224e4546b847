"""The YAML reader: safe, strict, and precise about where a problem is."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.loading.yamlfile import (
    ENV_MAX_FILE_BYTES,
    MAX_DEPTH,
    DiagnosticsError,
    parse_yaml,
    read_bytes,
    read_yaml,
)
from reconciler.model import Diagnostic, SourceSpan
from reconciler.terminal import visible


def parse(text: str | bytes) -> tuple[object, list[Diagnostic]]:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    doc, problems = parse_yaml(raw, "f.yaml")
    return (None if doc is None else doc.data), problems


def where(problems: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(p.rule, p.source.line, p.source.column) for p in problems if p.source is not None]


def alias_bomb(levels: int = 9) -> str:
    text = 'version: 1\na: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    previous = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        text += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
        previous = name
    return text


# --- YAML 1.2 core schema, as documented ---------------------------------------------------------


def test_reads_yaml_1_2_scalars() -> None:
    data, problems = parse("a: yes\nb: on\nc: 017\nd: 0o17\ne: 2026-11-21\nf: ~\ng: 1.5\nh: true\ni: '017'\n")
    assert problems == []
    assert data == {
        "a": "yes",
        "b": "on",
        "c": 17,
        "d": 15,
        "e": "2026-11-21",
        "f": None,
        "g": 1.5,
        "h": True,
        "i": "017",
    }


def test_strips_a_byte_order_mark() -> None:
    doc, problems = parse_yaml("\ufeffversion: 1\nsites: []\n".encode(), "f.yaml")
    assert problems == [] and doc is not None
    assert doc.data == {"version": 1, "sites": []}
    assert doc.locate(("sites",), key=True) == SourceSpan("f.yaml", 2, 1)


def test_positions_in_a_crlf_file() -> None:
    doc, _ = parse_yaml(b"version: 1\r\nsites:\r\n  - name: acme\r\n    org: x\r\n", "f.yaml")
    assert doc is not None
    assert doc.locate(("sites", 0, "org")) == SourceSpan("f.yaml", 4, 10)


# --- safety ------------------------------------------------------------------------------------------


def test_an_object_tag_is_refused_and_never_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data, problems = parse('version: 1\nx: !!python/object/apply:os.system ["touch owned"]\n')
    assert data is None
    assert problems == [
        Diagnostic(
            "yaml-tag",
            "explicit tag !!python/object/apply:os.system is not allowed: files are read as plain data",
            SourceSpan("f.yaml", 2, 4),
            hint="remove the tag; quote the value if it must stay a string",
        )
    ]
    assert not (tmp_path / "owned").exists()


def test_every_explicit_tag_is_reported() -> None:
    _, problems = parse("a: !!str 017\nb: !local {x: 1}\nc:\n  - !!python/name:os.system\n")
    assert where(problems) == [("yaml-tag", 1, 4), ("yaml-tag", 2, 4), ("yaml-tag", 4, 5)]


def test_an_exclamation_mark_inside_text_is_not_a_tag() -> None:
    data, problems = parse("a: 'hello !world'\nb: wow!\n")
    assert problems == [] and data == {"a": "hello !world", "b": "wow!"}


def test_an_alias_bomb_is_refused_at_once() -> None:
    started = time.process_time()
    data, problems = parse(alias_bomb())
    # CPU time, not wall time, and a wide margin: the refusal takes a few hundredths of a second.
    assert time.process_time() - started < 1.0
    assert data is None
    assert problems == [
        Diagnostic(
            "yaml-limit",
            "aliases expand to more than 250000 nodes: refusing to expand them",
            SourceSpan("f.yaml", 7, 16),  # the alias that goes past the limit
            hint="write the values out instead of repeating a large anchor through aliases",
        )
    ]


def test_modest_aliases_are_fine() -> None:
    data, problems = parse("base: &apps {focus: {site: acme}}\nother: *apps\n")
    assert problems == [] and data == {
        "base": {"focus": {"site": "acme"}},
        "other": {"focus": {"site": "acme"}},
    }


@pytest.mark.parametrize(
    ("text", "written", "position"),
    [
        ("a: 1e999\n", "1e999", (1, 4)),
        ("a: -1E+999   # a comment\n", "-1E+999", (1, 4)),
        ("a: [1, .inf]\n", ".inf", (1, 8)),
        ("a: {b: .NaN}\n", ".NaN", (1, 8)),
        ("a:\n  - " + "9" * 400 + "e9\n", visible("9" * 400 + "e9"), (2, 5)),
    ],
    ids=["exponent", "signed-with-a-comment", "infinity-in-a-list", "nan-in-a-mapping", "long"],
)
def test_a_float_out_of_range_is_quoted_as_written(
    text: str, written: str, position: tuple[int, int]
) -> None:
    data, problems = parse(text)
    assert data is None
    assert [(p.rule, p.message, p.source) for p in problems] == [
        (
            "yaml-limit",
            f"the number {written} is out of range: numbers here are finite and fit in 64 bits",
            SourceSpan("f.yaml", *position),
        )
    ]


def test_every_number_out_of_range_is_reported_in_the_files_order() -> None:
    # Only the last one was, so a file was fixed one number a run, from the bottom up.
    data, problems = parse(
        "version: 1\nsubscriptions:\n  - id: 1e999\n  - id: " + "9" * 23 + "\n  - {id: .inf}\n"
    )
    assert data is None
    assert [(p.message.split(" is out of range")[0], p.source) for p in problems] == [
        ("the number 1e999", SourceSpan("f.yaml", 3, 9)),
        ("a number of 23 digits", SourceSpan("f.yaml", 4, 9)),
        ("the number .inf", SourceSpan("f.yaml", 5, 10)),
    ]


def test_nesting_up_to_the_limit_is_read() -> None:
    depth = MAX_DEPTH
    data, problems = parse("[" * depth + "]" * depth)
    assert problems == [] and isinstance(data, list)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n", (1, 3 + MAX_DEPTH)),
        ("a: " + "[" * 300 + "]" * 300 + "\n", (1, 259)),
        ("".join(" " * i + "k:\n" for i in range(MAX_DEPTH + 2)), (MAX_DEPTH + 1, MAX_DEPTH + 1)),
    ],
    ids=["flow", "flow-beyond-the-parser-limit", "block"],
)
def test_nesting_beyond_the_limit_is_refused(text: str, position: tuple[int, int]) -> None:
    data, problems = parse(text)
    assert data is None
    assert problems == [
        Diagnostic(
            "yaml-limit",
            f"values are nested more than {MAX_DEPTH} levels deep",
            SourceSpan("f.yaml", *position),
            hint="desired state needs only a few levels: check the indentation and the brackets",
        )
    ]


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("version: 1\n" + "# padding\n" * 20)
    monkeypatch.setenv(ENV_MAX_FILE_BYTES, "100")
    raw, problems = read_bytes(path, "big.yaml")
    assert raw is None
    assert problems == [
        Diagnostic(
            "file-too-large",
            "file is 211 bytes, more than the limit of 100 bytes",
            SourceSpan("big.yaml", 1, 1),
            hint=f"split it into several files, or raise the limit with {ENV_MAX_FILE_BYTES}",
        )
    ]
    monkeypatch.setenv(ENV_MAX_FILE_BYTES, "211")
    assert read_bytes(path, "big.yaml")[1] == []


@pytest.mark.parametrize("value", ["lots", "-5", "0"])
def test_a_bad_size_limit_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV_MAX_FILE_BYTES, value)
    with pytest.raises(ReconcilerError) as raised:
        read_bytes(tmp_path / "x.yaml", "x.yaml")
    assert (
        raised.value.message
        == f"{ENV_MAX_FILE_BYTES}='{value}' is not a whole number of bytes from 1 to 4294967296"
    )


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_only_regular_files_are_read(tmp_path: Path, kind: str) -> None:
    # A device never ends and a FIFO blocks the open: both would hang validation (or fill memory).
    path = tmp_path / "special.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    raw, problems = read_bytes(path, "special.yaml")
    assert raw is None
    assert problems == [
        Diagnostic(
            "not-a-file",
            "not a regular file (a device, FIFO or socket): refused",
            SourceSpan("special.yaml", 1, 1),
            hint="desired state is read from plain files",
        )
    ]


# --- strictness ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "character", "line", "column"),
    [
        (b"version: 1\n\x00\nsubscriptions:\n  - id: X\n    bogus: 1\n", "0000", 2, 1),
        (b"version: 1\nsites:\n  - name: ab\x01c\n", "0001", 3, 13),
        ("version: 1\nsites:\n  - name: ab\u0085c\u0081\n".encode(), "0081", 3, 15),
    ],
    ids=["nul", "c0", "c1-after-an-allowed-nel"],
)
def test_a_control_character_is_refused_where_it_is(
    raw: bytes, character: str, line: int, column: int
) -> None:
    # The fast parser stops reading at a NUL: the rest of the file would be silently dropped.
    data, problems = parse(raw)
    assert data is None
    assert problems == [
        Diagnostic(
            "encoding",
            f"control character U+{character} is not allowed in YAML",
            SourceSpan("f.yaml", line, column),
            hint="remove it (a file with a NUL byte also shows as binary in reviews)",
        )
    ]


def test_a_byte_that_is_not_utf8_is_placed_in_characters() -> None:
    _, problems = parse("version: 1\nname: ééé\n".encode() + b"other: caf\xe9\n")
    assert problems == [
        Diagnostic(
            "encoding",
            "the file is not UTF-8: byte 0xe9 cannot be decoded",
            SourceSpan("f.yaml", 3, 11),
            hint="save the file as UTF-8",
        )
    ]


def test_a_repeated_key_names_both_places_and_the_rest_is_still_read() -> None:
    doc, problems = parse_yaml(b"a: 1\nb:\n  c: 2\n  c: 3\na: 4\n", "f.yaml")
    assert [p.message for p in problems] == [
        "key 'c' appears twice in the same mapping: here and at f.yaml:3:3",
        "key 'a' appears twice in the same mapping: here and at f.yaml:1:1",
    ]
    assert where(problems) == [("duplicate-key", 4, 3), ("duplicate-key", 5, 1)]
    assert doc is not None and doc.data == {"a": 4, "b": {"c": 3}}


def test_several_documents_are_refused() -> None:
    data, problems = parse("version: 1\n---\nversion: 1\n")
    assert data is None
    assert where(problems) == [("yaml-syntax", 2, 1)]
    assert problems[0].message == "a second YAML document starts here: a file holds one document"


def test_one_document_with_a_start_marker_is_fine() -> None:
    data, problems = parse("---\nversion: 1\n")
    assert problems == [] and data == {"version": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [("a:\n  1: x\n", "key 1 is not a string"), ("a:\n  null: x\n", "key null is not a string")],
)
def test_keys_must_be_strings(text: str, message: str) -> None:
    data, problems = parse(text)
    assert data is None
    assert [(p.rule, p.message, p.source) for p in problems] == [
        ("schema", message, SourceSpan("f.yaml", 2, 3))
    ]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("a:\n  b: 1\n  12: x\n", "key 12 is not a string", (3, 3)),
        ("a: {b: 1, 12: x}\n", "key 12 is not a string", (1, 11)),
        ("a:\n  b: 1\n  true: x\n", "key True is not a string", (3, 3)),
        ("a:\n  b: 1\n  0x10: x\n", "key 16 is not a string", (3, 3)),
        (
            "a:\n  b: 1\n  ? [c, d]\n  : x\n",
            "a key that is a list or a mapping is not allowed: keys are strings",
            (2, 3),
        ),
    ],
    ids=["block", "flow", "boolean", "hex", "complex"],
)
def test_a_key_that_is_not_a_string_is_placed_at_itself(
    text: str, message: str, position: tuple[int, int]
) -> None:
    # It was placed at the start of its mapping, and a complex key's hint was a Python tuple.
    data, problems = parse(text)
    assert data is None
    assert [(p.message, p.source) for p in problems] == [(message, SourceSpan("f.yaml", *position))]
    assert "(" not in (problems[0].hint or "")


def test_a_syntax_error_says_what_was_being_read() -> None:
    _, problems = parse("sites:\n  - name: [acme\n  - name: labs\n")
    assert problems == [
        Diagnostic(
            "yaml-syntax",
            "invalid YAML: did not find expected ',' or ']' "
            "(while parsing a flow sequence that starts at line 2, column 11)",
            SourceSpan("f.yaml", 3, 9),
            hint="the [ opened at line 2, column 11 is not closed: add its ], or quote the value if the [ "
            "is part of it",
        )
    ]


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ('a: "open\n', "the quote opened at line 1, column 4 is not closed: add its closing quote"),
        ("a: {b: 1\n", "the { opened at line 1, column 4 is not closed: add its }, or quote the value if"),
        ("a:\n  - b\n\t- c\n", "YAML indents with spaces only: replace the tab with spaces"),
        (
            "version: 1\nsites:\n\t- name: acme\n",
            "YAML indents with spaces only: replace the tab with spaces",
        ),
        ("a:\n  b: 1\n \tc: 2\n", "YAML indents with spaces only: replace the tab with spaces"),
        ("a: b: c\n", "check the indentation, and the quotes and brackets, on this line and the lines"),
    ],
    ids=["quote", "brace", "tab", "tab-first-on-its-line", "tab-after-a-space", "other"],
)
def test_a_syntax_error_says_what_to_do(text: str, hint: str) -> None:
    _, problems = parse(text)
    assert [p.rule for p in problems] == ["yaml-syntax"]
    assert problems[0].hint is not None and problems[0].hint.startswith(hint), problems[0].hint


def test_a_huge_file_with_a_syntax_error_is_not_composed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # PyYAML's second opinion on a 4 MB flow list took 5 s and 800 MB.
    from reconciler.loading import scan
    from reconciler.loading.yamlfile import MAX_RECOMPOSED

    composed: list[int] = []
    real = scan.compose
    monkeypatch.setattr(scan, "compose", lambda text: composed.append(len(text)) or real(text))
    text = "version: 1\nx: [" + ",".join(["a"] * (MAX_RECOMPOSED // 2)) + "]]\n"
    _, problems = parse(text)
    assert [p.rule for p in problems] == ["yaml-syntax"]
    assert composed == []


def test_read_yaml_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text("a: !x 1\nb: !y 2\n")
    with pytest.raises(DiagnosticsError) as raised:
        read_yaml(path, "seed.yaml")
    assert [d.source for d in raised.value.diagnostics] == [
        SourceSpan("seed.yaml", 1, 4),
        SourceSpan("seed.yaml", 2, 4),
    ]
    assert raised.value.message == (
        "cannot read seed.yaml:\n"
        "seed.yaml:1:4: error[yaml-tag]: explicit tag !x is not allowed: files are read as plain data\n"
        "  hint: remove the tag; quote the value if it must stay a string\n"
        "seed.yaml:2:4: error[yaml-tag]: explicit tag !y is not allowed: files are read as plain data\n"
        "  hint: remove the tag; quote the value if it must stay a string"
    )


def test_read_yaml_returns_data_and_positions(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("users:\n  - email: a@b.example\n")
    doc = read_yaml(path)
    assert doc.display == path.as_posix()
    assert doc.data == {"users": [{"email": "a@b.example"}]}
    assert doc.locate(("users", 0, "email")) == SourceSpan(path.as_posix(), 2, 12)
    assert doc.origin(("users", 0, "email"), key=True).span() == SourceSpan(path.as_posix(), 2, 5)
