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


@pytest.fixture
def estates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two estates' desired-state folders, and the working directory at their top."""
    for estate in ("desired-state", "estate/desired-state", "desired-state/acme"):
        (tmp_path / estate).mkdir(parents=True, exist_ok=True)
        (tmp_path / estate / "sites.yaml").write_text("version: 1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("paths", "facts"),
    [
        ([], "billing"),
        (["desired-state"], "billing"),
        (["desired-state/"], "billing"),
        (["./desired-state"], "billing"),
        (["desired-state/sites.yaml"], "billing"),
        (["desired-state/sites.yaml", "desired-state/acme-corp.yaml"], "billing"),
        (["desired-state/acme/sites.yaml", "desired-state/sites.yaml"], "billing"),
        (["desired-state/acme"], "desired-state/billing"),
        (["desired-state/acme/sites.yaml"], "desired-state/billing"),
        (["estate/desired-state"], "estate/billing"),
        (["estate/desired-state/sites.yaml"], "estate/billing"),
        (["estate/desired-state/../desired-state/sites.yaml"], "estate/billing"),
    ],
)
def test_the_facts_live_beside_the_folder_of_the_desired_state(
    estates: Path, paths: list[str], facts: str
) -> None:
    assert default_facts_path(paths) == facts


def test_beside_the_working_directory_is_its_parent(estates: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(estates / "desired-state")
    assert default_facts_path(["."]) == "../billing"
    assert default_facts_path(["sites.yaml"]) == "../billing"


def test_absolute_paths_give_an_absolute_path(estates: Path) -> None:
    assert default_facts_path([f"{estates}/estate/desired-state/sites.yaml"]) == f"{estates}/estate/billing"
    assert default_facts_path([f"{estates}/desired-state", "desired-state/acme"]) == f"{estates}/billing"


def test_folders_side_by_side_have_their_common_folder(estates: Path) -> None:
    (estates / "desired-state" / "beta").mkdir()
    assert default_facts_path(["desired-state/acme", "desired-state/beta"]) == "billing"
    assert default_facts_path(["desired-state", "estate/desired-state"]) == "../billing"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DiagnosticsError) as raised:
        load_facts(str(path))
    return [f"{d.source}: [{d.rule}] {d.message}" for d in raised.value.diagnostics]


SCHEMA_AND_DATES = """\
version: 1
billing_accounts:
  - id: AC-1
    billing_admins: [alice@acme.example]
sites:
  - name: acme
    jira: ultra
subscriptions:
  - id: SUB-1
    billing_account: AC-1
    product: focus
    status: active
    term_end: 2027-02-30
  - id: SUB-2
    billing_account: AC-9
    product: spreadsheets
    status: active
    start_date: 2026-13-01
    apps: {talent: acme}
"""


def test_schema_errors_do_not_hide_the_other_checks(tmp_path: Path) -> None:
    (tmp_path / "facts.yaml").write_text(SCHEMA_AND_DATES)
    where = f"{tmp_path}/facts.yaml"
    assert problems_of(tmp_path) == [
        f"{where}:7:11: [schema] expected one of free, standard, premium, enterprise, got the string 'ultra'",
        f"{where}:13:15: [date] 2027-02-30 is not a calendar date",
        f"{where}:15:22: [unknown-reference] billing account AC-9 is not declared under billing_accounts",
        f"{where}:16:14: [schema] expected one of strategy-collection, jira-align, focus, talent, "
        "got the string 'spreadsheets'",
        f"{where}:18:17: [date] 2026-13-01 is not a calendar date",
    ]


def test_a_value_of_the_wrong_type_is_one_schema_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "facts.yaml").write_text(
        "version: 1\n"
        "billing_accounts:\n  - id: [AC-1]\n    managed_by: partner\n    billing_admins: 7\n"
        "subscriptions:\n  - id: SUB-1\n    billing_account: {id: AC-1}\n    product: focus\n"
        "    status: active\n    term_end: 20270230\n    apps: [focus]\n"
        "retired_site_names: [{name: old}]\ntype_keys: [focus]\n"
    )
    where = f"{tmp_path}/facts.yaml"
    assert problems_of(tmp_path) == [
        f"{where}:3:5: [partner] this account is partner-managed: name its partner",
        f"{where}:3:9: [schema] expected a string, got a list",
        f"{where}:5:21: [schema] expected a list, got the integer 7",
        f"{where}:8:22: [schema] expected a string, got a mapping",
        f"{where}:11:15: [schema] expected a string, got the integer 20270230",
        f"{where}:12:11: [schema] expected a mapping, got a list",
        f"{where}:13:22: [schema] expected a string, got a mapping",
        f"{where}:14:12: [schema] expected a mapping, got a list",
    ]


def test_a_file_that_is_not_yaml_does_not_hide_the_problems_of_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\nsites: [\n")
    (tmp_path / "b.yaml").write_text("- a list\n")
    (tmp_path / "c.yaml").write_text("")
    (tmp_path / "d.yaml").write_text("version: 1\nsubscriptions:\n  - not an item\n")
    (tmp_path / "e.yaml").write_text("version: 1\nsubscriptions:\n  - {id: S, billing_account: A}\n")
    (tmp_path / "f.yaml").write_text("version: 1\nbilling_accounts: [{id: A, billing_admins: []}]\n")
    assert problems_of(tmp_path) == [
        f"{tmp_path}/a.yaml:3:1: [yaml-syntax] invalid YAML: did not find expected node content "
        "(while parsing a flow node that starts at line 3, column 1)",
        f"{tmp_path}/b.yaml:1:1: [schema] expected a mapping, got a list",
        f"{tmp_path}/c.yaml:1:1: [schema] expected a mapping, got null",
        f"{tmp_path}/d.yaml:3:5: [schema] expected a mapping, got the string 'not an item'",
        f"{tmp_path}/e.yaml:3:5: [schema] missing required key 'product'",
        f"{tmp_path}/e.yaml:3:5: [schema] missing required key 'status'",
    ]


SPACED = """\
version: 1
billing_accounts:
  - id: "AC-1\\n"
    billing_admins: [alice@acme.example]
organizations:
  - id: acme corp
subscriptions:
  - id: "SUB-1 "
    billing_account: "AC-1 "
    product: focus
    status: active
sites:
  - name: "acme\\n"
    jira: premium
retired_site_names: ["old-acme\\n", "Bad Name"]
"""


def test_ids_and_site_names_with_spaces_or_line_breaks_are_refused_where_they_are(tmp_path: Path) -> None:
    (tmp_path / "facts.yaml").write_text(SPACED)
    with pytest.raises(DiagnosticsError) as raised:
        load_facts(str(tmp_path / "facts.yaml"))
    where = f"{tmp_path}/facts.yaml"
    assert [f"{d.source}: [{d.rule}] {d.message}" for d in raised.value.diagnostics] == [
        f"{where}:3:9: [id] invalid id 'AC-1\\n': an id has no spaces or line breaks",
        f"{where}:6:9: [id] invalid id 'acme corp': an id has no spaces or line breaks",
        f"{where}:8:9: [id] invalid id 'SUB-1 ': an id has no spaces or line breaks",
        f"{where}:9:22: [id] invalid id 'AC-1 ': an id has no spaces or line breaks",
        f"{where}:9:22: [unknown-reference] billing account AC-1  is not declared under billing_accounts",
        f"{where}:13:11: [site-name] invalid site name 'acme\\n'",
        f"{where}:15:22: [site-name] invalid site name 'old-acme\\n'",
        f"{where}:15:36: [site-name] invalid site name 'Bad Name'",
    ]
