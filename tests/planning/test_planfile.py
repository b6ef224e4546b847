"""The saved plan: round trip, refusal of anything that is not a trustworthy plan, checksum, fingerprint."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from msgspec import structs

from reconciler.errors import ReconcilerError
from reconciler.model import Plan
from reconciler.options import GlobalOptions
from reconciler.pipeline import public_provider
from reconciler.planning import plan_changes
from reconciler.planning.fingerprint import observed_fingerprint
from reconciler.planning.planfile import plan_from_json, plan_to_json, read_plan, write_plan
from tests.conftest import RunCli
from tests.planning.builders import console, desired
from tests.planning.conftest import sub


@pytest.fixture
def plan(seed: dict[str, Any]) -> Plan:
    seed["subscriptions"] += [
        sub("SUB-1"),
        sub("SUB-2", "talent", apps={"talent": "labs"}),
        sub("SUB-3", "focus", status="upcoming"),
        sub("SUB-4", "jira-align"),
    ]
    sites = [{"name": "new-site", "org": "acme-corp", "create": True}]
    subs = [
        {"id": "SUB-1", "apps": {"jira-align": {"site": "new-site"}, "focus": {"site": "acme"}}},
        {"id": "SUB-2", "status": "cancelled"},
        {"id": "SUB-3", "apps": {"focus": {"site": "acme-std"}}},
        {"id": "SUB-404"},
    ]
    return plan_changes(desired(sites, subs), console(seed), paths=["desired-state"], provider="sandbox:x.db")


def test_a_saved_plan_reads_back_equal(plan: Plan, tmp_path: Path) -> None:
    assert plan.changes and plan.blocked and plan.deferred and plan.unmanaged and plan.warnings
    write_plan(tmp_path / "deep" / "plan.json", plan)
    assert read_plan(tmp_path / "deep" / "plan.json") == plan
    assert plan_from_json(json.loads(json.dumps(plan_to_json(plan)))) == plan


def test_the_same_plan_is_the_same_bytes(plan: Plan, tmp_path: Path) -> None:
    write_plan(tmp_path / "a.json", plan)
    write_plan(tmp_path / "b.json", read_plan(tmp_path / "a.json"))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "p.json is not a plan: invalid JSON at line 1 column 2: Expecting property name"),
        ("[1, 2]", "p.json is not a plan: it has no format_version"),
        ('{"checksum": "x"}', "p.json is not a plan: it has no format_version"),
    ],
)
def test_what_is_not_a_plan_is_refused(tmp_path: Path, content: str, message: str, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "p.json", content)
    with pytest.raises(ReconcilerError) as error:
        read_plan("p.json")
    assert error.value.message.startswith(message)


def test_another_format_version_is_refused(plan: Plan, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "p.json", {**plan_to_json(plan), "format_version": 2})
    with pytest.raises(ReconcilerError) as error:
        read_plan("p.json")
    assert error.value.message == "p.json is a plan of format version 2; this reconciler reads version 1"
    assert error.value.hint == "make the plan again with this reconciler: reconciler plan --out p.json"


def test_a_plan_that_breaks_its_schema_is_refused(plan: Plan, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    data = plan_to_json(plan)
    data["changes"][0]["action"] = "delete-everything"
    write(tmp_path / "p.json", data)
    with pytest.raises(ReconcilerError) as error:
        read_plan("p.json")
    assert error.value.message.startswith("p.json is not a valid plan: at changes/0/action: ")


def test_hand_edited_changes_break_the_checksum(plan: Plan, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    data = plan_to_json(plan)
    data["changes"] = data["changes"][1:]
    write(tmp_path / "p.json", data)
    with pytest.raises(ReconcilerError) as error:
        read_plan("p.json")
    assert error.value.message.startswith(f"the changes in p.json do not match its checksum {plan.checksum}")


def test_a_reworded_reason_or_a_moved_declaration_keeps_the_checksum(plan: Plan) -> None:
    moved = tuple(structs.replace(c, reason="reworded", source=None) for c in reversed(plan.changes))
    assert structs.replace(plan, changes=moved).checksum == plan.checksum
    other_site = (structs.replace(plan.changes[-1], site="elsewhere"), *plan.changes[:-1])
    assert structs.replace(plan, changes=other_site).checksum != plan.checksum


def test_a_cancel_that_takes_down_more_is_another_change(plan: Plan) -> None:
    # SUB-2 is cancelled with talent on labs; had it gained focus since the review, the approval
    # must not carry over to a cancel that takes focus down too.
    (cancel,) = plan.destructive
    assert dict(cancel.takes_down or {}) == {"talent": "labs"}
    more = structs.replace(cancel, takes_down={"talent": "labs", "focus": "acme"})
    assert cancel.deactivation_date is not None
    later = structs.replace(cancel, deactivation_date=cancel.deactivation_date + dt.timedelta(days=1))
    for changed in (more, later):
        changes = tuple(changed if c is cancel else c for c in plan.changes)
        assert structs.replace(plan, changes=changes).checksum != plan.checksum


def test_the_fingerprint_covers_the_console_not_who_observed_it(seed: dict[str, Any]) -> None:
    seed["subscriptions"] += [sub("SUB-1"), sub("SUB-2", "focus")]
    first = console(seed)
    seed["subscriptions"].reverse()
    seed["sites"].reverse()
    reordered = console(seed, actor="dana@acme.example")
    assert observed_fingerprint(first) == observed_fingerprint(reordered)
    seed["subscriptions"][0]["apps"] = {"focus": "acme"}
    assert observed_fingerprint(console(seed)) != observed_fingerprint(first)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sandbox:.reconciler/sandbox.db", "sandbox:.reconciler/sandbox.db"),
        ("https://bot:s3cret@console.example/api?token=abc#x", "https://console.example/api"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("atlassian:https://api.example/?access_token=abc#x", "atlassian:https://api.example/"),
        ("atlassian:http://127.0.0.1:8081?key=s3cret", "atlassian:http://127.0.0.1:8081"),
        ("atlassian:", "atlassian:"),
    ],
)
def test_the_provider_is_saved_without_credentials(url: str, shown: str) -> None:
    assert public_provider(GlobalOptions(provider=url, token="abc")) == shown


def test_a_written_plan_is_readable_like_any_new_file(plan: Plan, tmp_path: Path) -> None:
    # CI uploads it as an artifact for others to read; it holds no secret.
    write_plan(tmp_path / "plan.json", plan)
    (tmp_path / "other").write_text("")
    assert (tmp_path / "plan.json").stat().st_mode == (tmp_path / "other").stat().st_mode


def test_a_plan_files_name_is_shown_escaped(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "notes\x1b[1m\n.json").write_text("hello\n", encoding="utf-8")
    for args in (["show"], ["apply", "--plan"]):
        missing = run_cli(*args, "gone\x1b]0;x\x07\n.json")
        assert (missing.returncode, missing.stdout) == (1, "")
        assert missing.stderr == (
            "error: plan file gone\\x1b]0;x\\x07\\n.json does not exist\n"
            "hint: make one with: reconciler plan --out gone\\x1b]0;x\\x07\\n.json\n"
        )
        other = run_cli(*args, "notes\x1b[1m\n.json")
        assert other.stderr == (
            "error: notes\\x1b[1m\\n.json is not a plan: invalid JSON at line 1 column 1: Expecting value\n"
            "hint: a plan file is what `reconciler plan --out PLAN` writes; "
            "notes\\x1b[1m\\n.json is not one\n"
        )
