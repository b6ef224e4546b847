"""The desired-state JSON Schema: a valid 2020-12 schema, documented for editors, and the one truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator

from reconciler.loading.yamlfile import parse_yaml
from reconciler.validation import schema as schema_module
from reconciler.validation.schema import _explain, schema_diagnostics
from tests.conftest import REPO_ROOT

SCHEMA_FILE = REPO_ROOT / "schemas" / "desired-state.schema.json"
GOLDEN = REPO_ROOT / "tests" / "golden" / "validate"


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def properties(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, value in node.get("properties", {}).items():
            yield f"{where}/{name}", value
        for key, value in node.items():
            yield from properties(value, f"{where}/{key}")


def test_it_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_property_is_described() -> None:
    undescribed = [where for where, value in properties(schema()) if "description" not in value]
    assert undescribed == []


def test_the_example_estate_is_valid() -> None:
    validator = jsonschema_rs.validator_for(schema())
    for path in sorted((REPO_ROOT / "desired-state").glob("*.yaml")):
        doc, problems = parse_yaml(path.read_bytes(), path.name)
        assert problems == [] and doc is not None
        assert validator.is_valid(doc.data), path
        assert schema_diagnostics(doc, "desired-state.schema.json") == []


def readable_golden_files() -> list[Path]:
    """Every golden input that is readable YAML (the others never reach the schema check)."""
    files = sorted(p for p in GOLDEN.glob("*/desired-state/**/*.y*ml") if ".hidden" not in p.parts)
    return [p for p in files if parse_yaml(p.read_bytes(), p.name)[0] is not None]


@pytest.mark.parametrize("path", readable_golden_files(), ids=lambda p: str(p.relative_to(GOLDEN)))
def test_the_fast_check_and_the_detailed_one_agree(path: Path) -> None:
    doc, _ = parse_yaml(path.read_bytes(), path.name)
    assert doc is not None
    fast = jsonschema_rs.validator_for(schema()).is_valid(doc.data)
    detailed = list(Draft202012Validator(schema()).iter_errors(doc.data))
    assert fast == (detailed == [])
    assert (schema_diagnostics(doc, "desired-state.schema.json") == []) == fast


def test_explaining_only_the_failing_items_gives_what_the_whole_document_gives() -> None:
    items = [f"  - id: SUB-{n}\n    apps:\n      focus: {{site: s{n}}}\n" for n in range(6)]
    items[1] = "  - id: SUB-1\n    colour: red\n"
    items[4] = "  - id: SUB-4\n    apps:\n      focus: {site: S4}\n    status: paused\n"
    text = "version: 1\nsites: []\nsubscriptions:\n" + "".join(items)
    doc, _ = parse_yaml(text.encode(), "f.yaml")
    assert doc is not None
    found = schema_diagnostics(doc, "desired-state.schema.json")
    assert [(d.rule, d.source.line if d.source else 0) for d in found] == [
        ("unknown-key", 8),
        ("site-name", 17),
        ("schema", 18),
    ]
    assert found == sorted(
        _explain("desired-state.schema.json", doc.data, {}, doc)[0], key=lambda d: d.sort_key
    )


@pytest.mark.parametrize(
    "name", ['"old-acme\\n"', '"acme\\r\\n"', "|\n      old-acme", '"acme "', '"a\\u2028b"']
)
def test_a_pattern_matches_the_whole_string_in_both_validators(name: str) -> None:
    text = f"version: 1\nsites:\n  - name: {name}\n    org: acme-corp\n"
    doc, _ = parse_yaml(text.encode(), "f.yaml")
    assert doc is not None
    assert not jsonschema_rs.validator_for(schema()).is_valid(doc.data)
    found = schema_diagnostics(doc, "desired-state.schema.json")
    assert [(d.rule, d.source.line if d.source else 0) for d in found] == [("site-name", 3)]


def test_when_only_the_fast_validator_refuses_the_document_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class AcceptsEverything:
        def __init__(self, schema: Any) -> None:
            pass

        def iter_errors(self, data: Any) -> Iterator[Any]:
            return iter(())

    monkeypatch.setattr(schema_module, "_detailed_validator", lambda: AcceptsEverything)
    doc, _ = parse_yaml(b'version: 1\nsites:\n  - name: "old-acme\\n"\n    org: acme-corp\n', "f.yaml")
    assert doc is not None
    found = schema_diagnostics(doc, "desired-state.schema.json")
    assert [(d.rule, str(d.source), d.message) for d in found] == [
        (
            "schema",
            "f.yaml:3:11",
            '"old-acme\\n" does not match "^[a-z0-9][a-z0-9-]*[a-z0-9]$"',
        )
    ]


# --- closed: what the schema accepts has string keys and bounded nesting -----------------------------

_SCALARS = {"string", "boolean", "null"}  # no number: one the schema accepts is never out of range


def _closed_depth(node: dict[str, Any], defs: dict[str, Any], seen: tuple[str, ...] = ()) -> int:
    """How deep the data the schema node accepts can nest; fails when it accepts any other shape."""
    ref = node.get("$ref")
    if ref is not None:
        name = ref.removeprefix("#/$defs/")
        assert name not in seen, f"recursive definition {name}: nesting would be unbounded"
        return _closed_depth(defs[name], defs, (*seen, name))
    if "const" in node or "enum" in node:
        values = node.get("enum", [node.get("const")])
        assert all(isinstance(v, str | bool) or v is None or -100 < v < 100 for v in values), node
        return 0
    kind = node.get("type")
    if kind in _SCALARS:
        return 0
    if kind == "array":
        return 1 + _closed_depth(node["items"], defs, seen)
    assert kind == "object", f"a schema node accepts data of any shape: {node}"
    assert node.get("additionalProperties") is False, f"an object that takes any key: {node}"
    assert "patternProperties" not in node, node
    inner = [_closed_depth(sub, defs, seen) for sub in node.get("properties", {}).values()]
    return 1 + max(inner, default=0)


def test_the_schema_is_closed_so_what_it_accepts_has_a_plain_shape() -> None:
    """The loader skips its walks over every node (string keys, nesting depth, numbers in range) for
    a file the schema accepts: sound only while the schema accepts no key it does not name, no
    unbounded nesting and no number but small constants."""
    from reconciler.loading.yamlfile import MAX_DEPTH

    whole = schema()
    assert _closed_depth(whole, whole["$defs"]) < MAX_DEPTH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nsites:\n  - name: acme\n    org: acme-corp\n", True),
        ("version: 1\n1: x\n", False),  # a key that is not a string: the shape walk reports it
        ("version: 1\nsites:\n  - {name: acme, org: acme-corp, 7: x}\n", False),
        ("version: 1\nsites: " + "[" * 70 + "]" * 70 + "\n", False),  # too deep
        ("version: 1\nsites:\n  - name: Acme\n    org: acme-corp\n", False),  # invalid: explained
        ("version: 1\nsites:\n  - name: acme\n    org: 123456789012345678901234\n", False),
        ("version: 1\nsites:\n  - name: acme\n    org: acme\n    create: .inf\n", False),
        ("version: 1\n99999999999999999999999: x\n", False),
    ],
)
def test_a_desired_state_file_the_schema_accepts_skips_the_shape_walk(text: str, expected: bool) -> None:
    from reconciler.loading.desired import SCHEMA
    from reconciler.validation.schema import accepts

    doc, problems = parse_yaml(text.encode(), "f.yaml", accepts=lambda data: accepts(SCHEMA, data))
    if expected:
        assert doc is not None and doc.accepted and problems == []
    else:
        assert doc is None or not doc.accepted


@pytest.mark.parametrize(
    ("name", "length"), [("c", "1 character long"), ("'7'", "1 character long"), ("''", "empty")]
)
def test_a_site_name_too_short_says_so_rather_than_naming_rules_it_keeps(name: str, length: str) -> None:
    text = f"version: 1\nsites:\n  - name: {name}\n    org: acme-corp\n"
    doc, _ = parse_yaml(text.encode(), "f.yaml")
    assert doc is not None
    [found] = schema_diagnostics(doc, "desired-state.schema.json")
    assert found.rule == "site-name"
    assert found.message.endswith(f"is {length}: a site name has at least 2 characters")
    assert found.hint is not None and "starting and ending" not in found.hint


#: Every character Python's `\s` or ECMA-262's takes for white space: they differ on six.
_SPACES = sorted({chr(c) for c in range(0x3001) if chr(c).isspace()} | set("\ufeff"))


@pytest.mark.parametrize("char", _SPACES, ids=lambda c: f"U+{ord(c):04X}")
def test_an_id_with_white_space_is_judged_alike_by_both_validators(char: str) -> None:
    text = f'version: 1\nsubscriptions:\n  - id: "SUB-1\\u{ord(char):04x}"\n'
    doc, _ = parse_yaml(text.encode(), "f.yaml")
    assert doc is not None
    refused = not jsonschema_rs.validator_for(schema()).is_valid(doc.data)
    found = schema_diagnostics(doc, "desired-state.schema.json")
    assert [(d.rule, d.message) for d in found] == (
        [("id", f"invalid id {schema_module.quoted('SUB-1' + char)}: an id has no spaces or line breaks")]
        if refused
        else []
    )
    assert refused == (char not in "\x1c\x1d\x1e\x1f\x85")  # ECMA-262's white space: JSON Schema's


def _found(text: str) -> list[tuple[str, str]]:
    doc, _ = parse_yaml(text.encode(), "f.yaml")
    assert doc is not None
    return [(d.rule, d.message) for d in schema_diagnostics(doc, "desired-state.schema.json")]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"SUB-1 "', "invalid id 'SUB-1 ': an id has no spaces or line breaks"),
        ("SUB 1", "invalid id 'SUB 1': an id has no spaces or line breaks"),
        ('""', "the id '' is empty"),
        ("S" * 129, f"id '{'S' * 129}' is 129 characters long: at most 128 are allowed"),
    ],
)
def test_an_id_that_is_not_one_word_of_at_most_128_characters_is_refused(value: str, message: str) -> None:
    """The same wherever desired state holds an id: a subscription, its billing account, a site's org."""
    assert _found(f"version: 1\nsubscriptions:\n  - id: {value}\n") == [("id", message)]
    assert _found(f"version: 1\nsubscriptions:\n  - id: S\n    billing_account: {value}\n") == [
        ("id", message)
    ]
    assert _found(f"version: 1\nsites:\n  - name: acme\n    org: {value}\n") == [("id", message)]


def test_an_id_of_128_characters_is_one() -> None:
    assert _found(f"version: 1\nsubscriptions:\n  - id: {'S' * 128}\n") == []
