"""Apply refuses before any write: stale or unapproved plans, blocked entries, cancels not allowed."""

from __future__ import annotations

import json

import pytest

from reconciler.applying.approval import plan_difference, why_stale
from reconciler.model import Action, Change, Plan
from tests.apply.conftest import Estate

BLOCKED = """\
version: 1
subscriptions:
  - id: SUB-1001
    apps:
      focus: {site: acme-std}
      talent: {site: acme}
"""

CANCELLED = """\
version: 1
subscriptions:
  - id: SUB-1001
    status: cancelled
"""

TWO_CANCELLED = (
    CANCELLED
    + """\
  - id: SUB-1003
    status: cancelled
"""
)


def current_checksum(estate: Estate) -> str:
    planned = estate.cli("plan", "--format", "json")
    return str(json.loads(planned.stdout)["checksum"])


def test_a_stale_saved_plan_is_refused_and_journaled_as_refused(estate: Estate) -> None:
    assert estate.cli("plan", "--out", "plan.json").returncode == 0
    console = estate.console()
    console.cancel("alice@acme.example", "SUB-1001", "done-by-hand")  # the console moved on
    console.close()
    writes = estate.writes()

    result = estate.cli("apply", "--plan", "plan.json")
    assert (result.returncode, result.stdout) == (1, "")
    assert "  + reactivate:SUB-1001: planned now, not in the approved plan\n" in result.stderr
    assert estate.writes() == writes
    (run,) = estate.runs()
    assert str(run.outcome) == "refused"
    assert run.message is not None and run.message.startswith(
        "the saved plan plan.json is stale: the console changed since it was made"
    )


def test_the_difference_names_changes_added_removed_and_changed() -> None:
    def change(change_id: str, site: str) -> Change:
        return Change(change_id, Action.PROVISION, "SUB-1", "focus", site, "org", (), "why", None)

    approved = (
        change("provision:SUB-1:focus", "acme"),
        change("provision:SUB-1:talent", "acme"),
        change("provision:SUB-1:jira-align", "acme"),
    )
    current = (change("provision:SUB-1:focus", "acme-2"), change("provision:SUB-2:focus", "acme"))
    # Not planned now is not done: only the console showing it done makes it so.
    assert plan_difference(approved, current, done={"provision:SUB-1:talent"}) == [
        "  ~ provision:SUB-1:focus: site acme -> acme-2",
        "  - provision:SUB-1:jira-align: in the approved plan, no longer planned, yet the console does not "
        "show it done",
        "  - provision:SUB-1:talent: in the approved plan, done on the console",
        "  + provision:SUB-2:focus: planned now, not in the approved plan",
    ]


def test_a_plan_made_as_another_actor_says_so_when_nothing_else_moved() -> None:
    def made_as(actor: str) -> Plan:
        return Plan((), (), (), (), (), "sha256:d", "sha256:o", actor=actor)

    # The console's fingerprint leaves out who observes it; the rules do not.
    assert why_stale(made_as("alice@acme.example"), made_as("bob@acme.example"), lambda: "sha256:o") == (
        "the desired state and the console are unchanged, but it was made as alice@acme.example, "
        "and apply acts as bob@acme.example"
    )


def test_a_checksum_that_is_not_the_plans_is_refused(estate: Estate) -> None:
    wrong = "sha256:" + "0" * 64
    result = estate.cli("apply", "--checksum", wrong)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: the plan's checksum is now {current_checksum(estate)}, not the approved {wrong}; "
        "nothing was applied\n"
        "the changes planned now:\n"
        "  create-site:acme-align\n"
        "  provision:SUB-1001:focus\n"
        "  provision:SUB-1001:talent\n"
        "  provision:SUB-1001:jira-align\n"
        "hint: review the current plan ('reconciler plan') and approve its checksum\n"
    )
    assert estate.writes() == 0


@pytest.mark.parametrize(
    "given",
    ["nope", "sha256:", "sha256:" + "0" * 63, "sha256:" + "g" * 64, "md5:" + "0" * 64, "0" * 65, "\x1b[2J"],
)
@pytest.mark.parametrize("pending", [True, False], ids=["changes", "nothing-to-do"])
def test_a_checksum_that_is_no_checksum_is_a_usage_error(estate: Estate, given: str, pending: bool) -> None:
    if not pending:
        assert estate.cli("apply", "--auto-approve").returncode == 0
    before = estate.writes()
    result = estate.cli("apply", "--checksum", given)
    assert result.returncode == 1
    assert "Error: Invalid value for '--checksum':" in result.stderr
    assert "is not a plan checksum: 'sha256:' and 64 hex digits" in result.stderr
    assert "\x1b" not in result.stderr and "Traceback" not in result.stderr
    assert estate.writes() == before


def test_a_checksum_in_capitals_or_without_its_prefix_is_the_same_checksum(estate: Estate) -> None:
    digits = current_checksum(estate).removeprefix("sha256:")
    result = estate.cli("apply", "--checksum", f"  SHA256:{digits.upper()} ")
    assert result.returncode == 0, result.stderr
    assert estate.writes() == 4
    assert estate.cli("apply", "--checksum", digits).returncode == 0  # nothing left to do


def test_the_approved_checksum_is_enough_approval(estate: Estate) -> None:
    result = estate.cli("apply", "--checksum", current_checksum(estate))
    assert result.returncode == 0, result.stderr
    assert estate.writes() == 4


def test_a_saved_plan_whose_change_became_blocked_is_refused_with_the_rule(estate: Estate) -> None:
    assert estate.cli("plan", "--out", "plan.json").returncode == 0
    estate.write_desired({"acme.yaml": BLOCKED})  # focus moved to a Standard site after the review
    result = estate.cli("apply", "--plan", "plan.json")
    assert result.returncode == 1
    # The change is not "no longer needed": it is blocked, and the reviewer needs to know why.
    assert result.stderr.startswith(
        "error: the plan has 1 blocked entry; nothing was applied\n"
        "  [premium-site] desired-state/acme.yaml:5:21: focus needs a site with Jira Premium or Enterprise; "
    )
    assert estate.writes() == 0


def test_a_blocked_entry_refuses_everything_before_any_write(estate: Estate) -> None:
    estate.write_desired({"acme.yaml": BLOCKED})
    result = estate.cli("apply", "--auto-approve")
    assert result.returncode == 1
    assert result.stderr == (
        "error: the plan has 1 blocked entry; nothing was applied\n"
        "  [premium-site] desired-state/acme.yaml:5:21: focus needs a site with Jira Premium or Enterprise; "
        "acme-std has Jira Standard\n"
        "hint: fix the desired state where each entry points ('reconciler plan' explains them), "
        "then apply again\n"
    )
    assert estate.writes() == 0  # talent -> acme alone would have been fine: it was not made either


def test_a_cancel_runs_only_with_allow_cancel(estate: Estate) -> None:
    estate.write_desired({"acme.yaml": CANCELLED})
    refused = estate.cli("apply", "--auto-approve")
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: the plan cancels 1 subscription and neither --allow-cancel nor --allow-cancel-of was given; "
        "nothing was applied\n"
        "  - cancel:SUB-1001: SUB-1001 is declared cancelled: jira-align (no site), focus (no site) and "
        "talent (no site) go off on 2027-10-15\n"
        "hint: review what each cancellation takes down, then apply again with --allow-cancel-of SUB-1001 "
        "(or --allow-cancel for every cancel)\n"
    )
    assert estate.writes() == 0

    allowed = estate.cli("apply", "--auto-approve", "--allow-cancel")
    assert allowed.returncode == 0, allowed.stderr
    assert estate.writes() == 1
    console = estate.console()
    assert console.observe(None).subscriptions["SUB-1001"].status == "cancelled"
    console.close()


def test_a_cancel_allowed_by_name_runs_and_another_is_refused(estate: Estate) -> None:
    estate.write_desired({"acme.yaml": TWO_CANCELLED})
    refused = estate.cli("apply", "--auto-approve", "--allow-cancel-of", "SUB-1001")
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: the plan also cancels 1 subscription not allowed by name (--allow-cancel-of allows only "
        "SUB-1001); nothing was applied\n"
        "  - cancel:SUB-1003: SUB-1003 is declared cancelled: talent (no site) goes off on 2027-12-29\n"
        "hint: review what each cancellation takes down, then apply again with --allow-cancel-of SUB-1003 "
        "(or --allow-cancel for every cancel)\n"
    )
    assert estate.writes() == 0

    both = estate.cli(
        "apply",
        "--auto-approve",
        "--allow-cancel-of",
        "SUB-1001",
        "--allow-cancel-of",
        "SUB-9",
        env={"RECONCILER_ALLOW_CANCEL_OF": " SUB-1003,"},
    )
    assert both.returncode == 0, both.stderr
    assert both.stderr.startswith("warning: --allow-cancel-of SUB-9: the plan does not cancel SUB-9\n")
    assert estate.writes() == 2
    console = estate.console()
    statuses = {s.id: s.status for s in console.observe(None).subscriptions.values()}
    console.close()
    assert (statuses["SUB-1001"], statuses["SUB-1003"]) == ("cancelled", "cancelled")


def test_without_a_terminal_and_without_approval_apply_refuses(estate: Estate) -> None:
    result = estate.cli("apply", input="yes\n")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: apply needs an approval and there is no terminal to ask on; nothing was applied\n"
        "hint: review the plan, then pass --auto-approve, or apply a reviewed plan with --plan PLAN or "
        "--checksum SHA\n"
    )
    assert estate.writes() == 0


def test_with_no_changes_apply_needs_no_approval(estate: Estate) -> None:
    assert estate.cli("apply", "--auto-approve").returncode == 0
    result = estate.cli("apply")
    assert result.returncode == 0
    assert result.stdout == "No changes: the console already matches desired state; nothing was applied.\n"


def test_an_invalid_saved_plan_is_refused_before_anything_else(estate: Estate) -> None:
    result = estate.cli("apply", "--plan", "missing.json")
    assert result.returncode == 1
    assert result.stderr == (
        "error: plan file missing.json does not exist\n"
        "hint: make one with: reconciler plan --out missing.json\n"
    )
    assert not (estate.root / ".reconciler" / "state.db").exists()
