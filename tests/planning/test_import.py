"""The files `import` writes read back as exactly the estate they came from, whatever its names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.commands.import_estate import account_file_name, estate_files, scalar
from reconciler.loading.desired import load_desired
from reconciler.planning import plan_changes
from tests.planning.builders import console
from tests.planning.conftest import sub


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("SUB-1001", "SUB-1001"),
        ("acme", "acme"),
        ("0042", '"0042"'),
        ("2024", '"2024"'),
        ("yes", '"yes"'),
        ("Null", '"Null"'),
        ("SUB 7", '"SUB 7"'),
        ("a: b", '"a: b"'),
        ("#x", '"#x"'),
        ("acme\n", '"acme\\n"'),
        ("acme\nversion: 2", '"acme\\nversion: 2"'),
    ],
)
def test_scalars_that_yaml_would_misread_are_quoted(value: str, written: str) -> None:
    assert scalar(value) == written


def test_account_file_names_are_safe_and_never_collide() -> None:
    taken = {"sites.yaml"}
    names = []
    for account in ("sites", "AC/1", "AC-1", "ac-1", "..hidden"):
        names.append(account_file_name(account, taken))
        taken.add(names[-1].lower())
    assert names == ["sites-2.yaml", "AC-1.yaml", "AC-1-2.yaml", "ac-1-3.yaml", "hidden.yaml"]


def test_an_estate_with_awkward_names_reads_back_with_no_changes(
    seed: dict[str, Any], tmp_path: Path
) -> None:
    seed["billing_accounts"] += [
        {"id": "sites", "billing_admins": ["alice@acme.example"]},
        {"id": "AC/1", "billing_admins": ["alice@acme.example"]},
    ]
    seed["sites"] += [{"name": "null", "org": "acme-labs", "products": {"jira": "premium"}}]
    seed["subscriptions"] += [
        sub("yes", "focus", account="sites", apps={"focus": "null"}),
        sub("0042", "jira-align", account="AC/1", apps={"jira-align": "acme-bare"}),
        sub("SUB#7", "talent", account="AC/1", status="deactivated", deactivated_on="2026-11-01"),
        sub("SUB-8", account="AC-1", pending={"talent": "acme"}, apps={"focus": "acme"}),
    ]
    live = console(seed)
    for estate_file in estate_files(live, "sandbox:x.db", "../schemas/desired-state.schema.json"):
        (tmp_path / estate_file.name).write_text(estate_file.text)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "AC-1-2.yaml",
        "AC-1.yaml",
        "sites-2.yaml",
        "sites.yaml",
    ]

    desired = load_desired([str(tmp_path)])
    assert sorted(desired.subscriptions) == ["0042", "SUB#7", "SUB-8", "yes"]
    assert {a.app: a.site for a in desired.subscriptions["SUB-8"].apps} == {"focus": "acme", "talent": "acme"}
    assert desired.subscriptions["SUB#7"].status == "cancelled"
    plan = plan_changes(desired, live)
    assert (plan.changes, plan.blocked, plan.unmanaged, plan.warnings) == ((), (), (), ())
