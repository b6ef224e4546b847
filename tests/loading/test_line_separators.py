"""NEL, LS and PS are ordinary characters in YAML 1.2: no reported line moves because of one.

Python's str.splitlines and PyYAML (YAML 1.1) break lines at U+0085, U+2028 and U+2029; the fast
parser and desired state do not. Each case writes the same files twice, once with the character
and once with an ordinary letter in its place, and the positions that `validate` and `plan`
report must be the same, and be the lines where the reported text is.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli

REPO = Path(__file__).resolve().parents[2]
CHARACTERS = {"NEL": "\x85", "LS": "\u2028", "PS": "\u2029"}

#: SUB-1001 of the example estate, with SUB-1002 above it (blocked: the console has another billing
#: account), and places {c} for the character: comments, a plain or quoted value, a quoted item.
ITEMS = {
    "comment-before": (
        "version: 1\n# notes {c} more notes\nsubscriptions:\n"
        "  - id: SUB-1002\n    billing_account: AC-9999\n    apps:\n      focus: {{site: labs}}\n"
    ),
    "comment-in-plain-item": (
        "version: 1\nsubscriptions:\n"
        "  - id: SUB-1002 # a{c}b\n    billing_account: AC-9999 # {c}\n"
        "    apps:\n      focus: {{site: labs}}\n"
    ),
    "plain-value": (
        "version: 1\nsubscriptions:\n"
        "  - id: SUB-1002\n    billing_account: AC-9{c}9\n    apps:\n      focus: {{site: labs}}\n"
    ),
    "quoted-value": (
        "version: 1\nsubscriptions:\n"
        "  - id: SUB-1002\n    billing_account: 'AC-9{c}9'\n    apps:\n      focus: {{site: labs}}\n"
    ),
    "comment-in-quoted-item": (
        "version: 1\nsubscriptions:\n"
        "  - id: 'SUB-1002' # {c}{c}\n    billing_account: \"AC-9999\"\n    apps: # {c}\n"
        "      focus: {{site: labs}}\n"
    ),
}
SUB_1001 = (
    "  - id: SUB-1001 # {c}\n    billing_account: AC-1111-2222-3333\n    product: strategy-collection\n"
    "    apps:\n      jira-align: {{site: acme-align}}\n      focus: {{site: acme}}\n"
    "      talent: {{site: acme}}\n"
)


def _estate(root: Path, text: str) -> Path:
    shutil.copytree(REPO / "desired-state", root / "desired-state")
    (root / "desired-state" / "acme-labs.yaml").write_text(
        "version: 1\nsubscriptions:\n"
        "  - id: SUB-1003\n    product: talent\n    apps:\n      talent: {site: labs}\n"
    )
    (root / "desired-state" / "acme-corp.yaml").write_text(text, encoding="utf-8")
    return root


def _sources(plan: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    entries = [(c["id"], c["source"]) for c in plan["changes"]]
    entries += [(f"{b['rule']}:{b['subscription']}", b["source"]) for b in plan["blocked"]]
    return sorted((what, s["file"], s["line"], s["column"]) for what, s in entries)


def _line(text: str, line: int) -> str:
    return text.split("\n")[line - 1]  # only "\n" ends a line here


#: LS and PS are white space to JSON Schema: an id holding one is refused by validate, never planned.
PLANNED = [(v, n) for v in ITEMS for n in CHARACTERS if not (v.endswith("-value") and n in ("LS", "PS"))]


@pytest.mark.parametrize(("variant", "name"), PLANNED)
def test_plan_locations_do_not_move(run_cli: RunCli, tmp_path: Path, name: str, variant: str) -> None:
    template = ITEMS[variant] + SUB_1001
    found = {}
    for char in (CHARACTERS[name], "x"):
        root = _estate(tmp_path / f"with-{ord(char):x}", template.format(c=char))
        result = run_cli("plan", "--format", "json", cwd=root)
        assert result.returncode == 1, result.stderr  # SUB-1002's product is blocked
        found[char] = _sources(json.loads(result.stdout))
    assert found[CHARACTERS[name]] == found["x"]
    text = template.format(c=CHARACTERS[name])
    where = {
        what: (line, column) for what, file, line, column in found["x"] if file.endswith("acme-corp.yaml")
    }
    assert sorted(where) == [
        "provision:SUB-1001:focus",
        "provision:SUB-1001:jira-align",
        "provision:SUB-1001:talent",
        "subscription-mismatch:SUB-1002",
    ]
    for app in ("focus", "talent", "jira-align"):
        line, column = where[f"provision:SUB-1001:{app}"]
        assert _line(text, line)[column - 1 :].startswith(f"{app}: {{site:")
    line, column = where["subscription-mismatch:SUB-1002"]
    assert _line(text, line)[column - 1 :].lstrip("'\"").startswith("AC-9")


@pytest.mark.parametrize("name", CHARACTERS)
def test_validate_locations_do_not_move(run_cli: RunCli, tmp_path: Path, name: str) -> None:
    # An unknown key after each placement: in a comment, in a quoted value, in a quoted item.
    template = (
        "version: 1\n# {c}\nsubscriptions:\n"
        "  - id: SUB-1001 # {c}\n    bogus: 1\n"
        "  - id: 'SUB-1002'\n    product: 'focus{c}'\n    also: 2\n"
        "  - id: SUB-1003 # {c}{c}\n    apps: # {c}\n      focus: {{site: labs}}\n    more: 3\n"
    )
    found = {}
    for char in (CHARACTERS[name], "x"):
        root = _estate(tmp_path / f"with-{ord(char):x}", template.format(c=char))
        result = run_cli("validate", "--format", "json", cwd=root)
        assert result.returncode == 1, result.stderr
        found[char] = [
            (d["rule"], d["line"], d["column"])
            for d in json.loads(result.stdout)["diagnostics"]
            if d["file"].endswith("acme-corp.yaml")
        ]
    assert found[CHARACTERS[name]] == found["x"]
    text = template.format(c=CHARACTERS[name])
    unknown = [(line, column) for rule, line, column in found["x"] if rule == "unknown-key"]
    assert [_line(text, line)[column - 1 :].split(":")[0] for line, column in unknown] == [
        "bogus",
        "also",
        "more",
    ]
