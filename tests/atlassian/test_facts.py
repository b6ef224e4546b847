"""Declared billing facts: read like desired state, every problem at its file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.loading.facts import default_facts_path, load_facts
from reconciler.loading.yamlfile import DiagnosticsError
from tests.conftest import REPO_ROOT

BROKEN = """\
version: 1
billing_accounts:
  - id: AC-1
    billing_admins: [alice@acme.example]
  - id: AC-1
    billing_admins: []
subscriptions:
  - id: SUB-1
    billing_account: AC-9
    product: focus
    status: active
    start_date: 2026-02-30
    apps: {talent: acme}
"""


def test_the_example_facts_are_valid() -> None:
    facts = load_facts(str(REPO_ROOT / "billing"))
    assert sorted(facts.subscriptions) == ["SUB-1001", "SUB-1002", "SUB-1003", "SUB-1004"]
    assert facts.site_jira["labs"][0] == "enterprise"


def test_every_problem_is_reported_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "facts.yaml").write_text(BROKEN)
    with pytest.raises(DiagnosticsError) as raised:
        load_facts(str(tmp_path / "billing"))
    where = f"{tmp_path}/billing/facts.yaml"
    assert [f"{d.source}: [{d.rule}] {d.message}" for d in raised.value.diagnostics] == [
        f"{where}:5:9: [duplicate] billing account AC-1 is declared twice: here and at {where}:3:9",
        f"{where}:9:22: [unknown-reference] billing account AC-9 is not declared under billing_accounts",
        f"{where}:12:17: [date] 2026-02-30 is not a calendar date",
        f"{where}:13:12: [app-in-product] talent is not an app of focus",
    ]


def test_a_schema_error_is_located_too(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("version: 1\nsites:\n  - name: acme\n    jira: premum\n")
    with pytest.raises(DiagnosticsError) as raised:
        load_facts(str(tmp_path / "f.yaml"))
    (problem,) = raised.value.diagnostics
    assert (str(problem.source), problem.rule) == (f"{tmp_path}/f.yaml:4:11", "schema")


def test_missing_facts_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(Exception) as raised:
        load_facts(str(tmp_path / "billing"))
    assert str(raised.value) == f"the billing facts {tmp_path}/billing do not exist"


def test_the_facts_live_beside_desired_state() -> None:
    assert default_facts_path(["desired-state"]) == "billing"
    assert default_facts_path(["estate/desired-state"]) == "estate/billing"
