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
    assert found == sorted(_explain("desired-state.schema.json", doc.data, {}, doc), key=lambda d: d.sort_key)


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
