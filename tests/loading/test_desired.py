"""Desired state: which files are read, how they merge, and where every value came from."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.loading.desired import (
    PLANNED_RULES,
    InvalidDesiredState,
    check_desired,
    desired_files,
    load_desired,
)
from reconciler.model import DesiredApp, SourceSpan

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository's example estate, copied into a fresh working directory."""
    shutil.copytree(REPO / "desired-state", tmp_path / "desired-state")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_estate_loads(example: Path) -> None:
    state = load_desired(["desired-state"])
    assert state.files == (
        "desired-state/acme-corp.yaml",
        "desired-state/acme-labs.yaml",
        "desired-state/sites.yaml",
    )
    assert sorted(state.sites) == ["acme", "acme-align", "labs"]
    assert sorted(state.subscriptions) == ["SUB-1001", "SUB-1002", "SUB-1003"]
    assert state.digest.startswith("sha256:") and len(state.digest) == 71


def test_defaults_and_origins(example: Path) -> None:
    state = load_desired(["desired-state"])
    align, acme = state.sites["acme-align"], state.sites["acme"]
    assert (align.org, align.create, acme.create) == ("acme-corp", True, False)
    assert align.origin.span() == SourceSpan("desired-state/sites.yaml", 8, 11)
    assert align.org_origin.span() == SourceSpan("desired-state/sites.yaml", 9, 10)
    sub = state.subscriptions["SUB-1001"]
    assert (sub.status, sub.product, sub.billing_account) == (
        "active",
        "strategy-collection",
        "AC-1111-2222-3333",
    )
    assert sub.origin.span() == SourceSpan("desired-state/acme-corp.yaml", 4, 9)
    assert sub.status_origin.span() == sub.origin.span()  # status defaulted: its id
    focus = next(app for app in sub.apps if app.app == "focus")
    assert isinstance(focus, DesiredApp) and focus.site == "acme"
    assert focus.origin.span() == SourceSpan("desired-state/acme-corp.yaml", 9, 7)
    assert focus.site_origin.span() == SourceSpan("desired-state/acme-corp.yaml", 9, 21)
    assert [app.app for app in sub.apps] == ["jira-align", "focus", "talent"]
    assert state.subscriptions["SUB-1002"].billing_account is None


def test_a_declared_status_is_its_own_origin(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", "version: 1\nsubscriptions:\n  - id: SUB-9\n    status: cancelled\n")
    sub = load_desired([str(path)]).subscriptions["SUB-9"]
    assert sub.status == "cancelled" and sub.apps == ()
    assert sub.status_origin.span() == SourceSpan(path.as_posix(), 4, 13)


def test_the_digest_covers_names_and_bytes(example: Path) -> None:
    first = load_desired(["desired-state"]).digest
    assert load_desired(["desired-state"]).digest == first
    sites = example / "desired-state" / "sites.yaml"
    sites.write_text(sites.read_text() + "\n")
    changed = load_desired(["desired-state"]).digest
    assert changed != first
    sites.rename(example / "desired-state" / "zz-sites.yaml")
    assert load_desired(["desired-state"]).digest not in (first, changed)


def test_files_are_found_in_a_stable_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("b.yaml", "a.yml", "team/c.yaml", "team/a.yaml", ".git/x.yaml", "team/.hidden.yaml"):
        write(tmp_path / "ds" / name, "version: 1\n")
    write(tmp_path / "ds" / "README.md", "not yaml")
    write(tmp_path / "extra.txt", "version: 1\n")
    found = [display for _, display in desired_files(["./ds/", "extra.txt", "ds/b.yaml"])]
    assert found == ["ds/a.yml", "ds/b.yaml", "ds/team/a.yaml", "ds/team/c.yaml", "extra.txt"]


def test_a_missing_path_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReconcilerError) as raised:
        check_desired(["desired-state"])
    assert raised.value.message == "desired-state does not exist"
    assert raised.value.hint == (
        "pass desired-state files or directories (by default, desired-state/ in the current directory)"
    )


def test_a_directory_without_yaml_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ds" / "notes.txt", "")
    with pytest.raises(ReconcilerError) as raised:
        check_desired(["ds"])
    assert raised.value.message == "no *.yaml or *.yml file in ds"


def test_a_link_out_of_the_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A pull request can add a symlink; it must not have a file elsewhere on the CI machine read.
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "elsewhere" / "secret.yaml", "token: abc\n")
    write(tmp_path / "ds" / "sites.yaml", "version: 1\n")
    (tmp_path / "ds" / "stolen.yaml").symlink_to(tmp_path / "elsewhere" / "secret.yaml")
    with pytest.raises(ReconcilerError) as raised:
        check_desired(["ds"])
    target = (tmp_path / "elsewhere" / "secret.yaml").resolve()
    assert raised.value.message == f"ds/stolen.yaml is a link to {target}, outside ds: refused"
    assert raised.value.hint == "put the file itself in the directory, or pass its path explicitly"
    # Named explicitly, the user chose it: it is read.
    assert check_desired(["elsewhere/secret.yaml"]).files == ("elsewhere/secret.yaml",)


def test_a_link_within_the_directory_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ds" / "shared" / "sites.yaml", "version: 1\nsites: []\n")
    (tmp_path / "ds" / "sites.yaml").symlink_to(tmp_path / "ds" / "shared" / "sites.yaml")
    assert [display for _, display in desired_files(["ds"])] == ["ds/shared/sites.yaml"]


def test_a_link_that_leads_back_to_itself_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "x.yaml").symlink_to(Path("..") / "ds" / "x.yaml")
    with pytest.raises(ReconcilerError) as in_directory:
        check_desired(["ds"])
    assert in_directory.value.message.startswith("ds/x.yaml cannot be followed: ")
    assert in_directory.value.hint == "replace the symbolic link with the file it should lead to"
    with pytest.raises(ReconcilerError) as named:
        check_desired(["ds/x.yaml"])
    assert named.value.message == "ds/x.yaml is a symbolic link that leads to no file"


def test_check_reports_instead_of_raising(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ds" / "a.yaml", "version: 1\nsites: [\n")
    write(tmp_path / "ds" / "b.yaml", "version: 1\nsites:\n  - name: x1\n    org: o\n")
    result = check_desired(["ds"])
    assert result.files == ("ds/a.yaml", "ds/b.yaml")
    assert not result.valid and result.state is None
    assert [(d.rule, d.source) for d in result.diagnostics] == [
        ("yaml-syntax", SourceSpan("ds/a.yaml", 3, 1))
    ]


def test_load_raises_every_error_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ds" / "a.yaml", "version: 1\nsites:\n  - name: x1\n    org: o\n    create: yes\n")
    write(tmp_path / "ds" / "b.yaml", "version: 1\nsites:\n  - name: x1\n    org: o\n")
    with pytest.raises(InvalidDesiredState) as raised:
        load_desired(["ds"])
    error = raised.value
    assert error.files == ("ds/a.yaml", "ds/b.yaml")
    assert [d.rule for d in error.diagnostics] == ["schema", "duplicate-site"]
    assert error.message == "desired state is invalid: 2 errors in 2 files"
    assert error.rendered == (
        "ds/a.yaml:5:13: error[schema]: expected a boolean (true or false), got the string 'yes'\n"
        "  hint: use true or false (in YAML 1.2, yes, no, on and off are strings)\n"
        "ds/b.yaml:3:11: error[duplicate-site]: site x1 is declared twice: here and at ds/a.yaml:3:11\n"
        "  hint: declare each site once, in one file"
    )
    assert error.hint == "fix the files; `reconciler validate` checks them without contacting the console"


def test_a_file_listed_twice_is_read_once(example: Path) -> None:
    state = load_desired(["desired-state", "desired-state/sites.yaml"])
    assert len(state.files) == 3


def test_version_follows_json_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", "version: 1.0\nsites:\n  - name: x1\n    org: o\n")
    assert list(load_desired([str(path)]).sites) == ["x1"]


def test_an_empty_list_may_be_left_empty_but_not_null(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.yaml", "version: 1\nsites: []\nsubscriptions:\n")
    result = check_desired(["a.yaml"])
    assert [(d.rule, d.message, d.source, d.hint) for d in result.diagnostics] == [
        (
            "schema",
            "expected a list, got null",
            SourceSpan("a.yaml", 3, 15),
            "list the items below it, each starting with `- `, or write `[]` for none",
        )
    ]


def test_plan_loads_past_the_rules_it_reports_as_blocked_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    names = (
        "version: 1\nsites:\n  - {name: ab, org: o, create: true}\n  - {name: Bad_Name, org: o, create: true}"
    )
    product = "version: 1\nsubscriptions:\n  - id: S-1\n    product: focus\n    apps: {talent: {site: ab}}\n"
    write(tmp_path / "ds" / "a.yaml", names)
    write(tmp_path / "ds" / "b.yaml", product)
    assert {d.rule for d in check_desired(["ds"]).diagnostics} == {"site-name", "app-in-product"}
    with pytest.raises(InvalidDesiredState):
        load_desired(["ds"])  # validate's view: every rule is an error
    state = load_desired(["ds"], planned_rules=PLANNED_RULES)
    assert sorted(state.sites) == ["Bad_Name", "ab"] and list(state.subscriptions) == ["S-1"]
    # Any other error still stops plan and apply, and every diagnostic is listed.
    write(tmp_path / "ds" / "c.yaml", "version: 1\nsites:\n  - {name: ab, org: o}\n")
    with pytest.raises(InvalidDesiredState) as raised:
        load_desired(["ds"], planned_rules=PLANNED_RULES)
    assert [d.rule for d in raised.value.diagnostics] == [
        "site-name",
        "site-name",
        "app-in-product",
        "duplicate-site",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a directory whatever its permissions")
def test_a_subdirectory_that_cannot_be_listed_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / "sites.yaml").write_text("version: 1\n")
    (tmp_path / "team").chmod(0)
    try:
        with pytest.raises(ReconcilerError) as refused:
            check_desired([str(tmp_path)])
    finally:
        (tmp_path / "team").chmod(0o755)
    assert refused.value.message == f"cannot read the directory {tmp_path.as_posix()}/team: permission denied"


@pytest.mark.parametrize(
    "broken",
    ["version: 1\nsites: 3\n", "version: 1\nsubscriptions: {a: 1}\n", "version: 1\nsites: 'x'\n", "- a\n"],
)
def test_each_file_is_counted_and_let_go_whatever_its_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """Files are read one at a time and each lets go of its data: a file of the wrong shape is
    reported, the others still counted, and duplicates across files still found from names alone."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ds" / "a.yaml", broken)
    two_sites = "version: 1\nsites:\n  - name: x1\n    org: o\n  - name: x2\n    org: o\n"
    write(tmp_path / "ds" / "b.yaml", two_sites)
    write(tmp_path / "ds" / "c.yaml", "version: 1\nsites:\n  - name: x2\n    org: o\n")
    result = check_desired(["ds"], build=True)
    assert (result.count("sites"), result.count("subscriptions")) == (3, 0)
    assert result.state is None
    rules = [(d.rule, d.source) for d in result.diagnostics]
    assert rules[-1] == ("duplicate-site", SourceSpan("ds/c.yaml", 3, 11))
    assert all(source is not None and source.file == "ds/a.yaml" for _, source in rules[:-1]), rules
