"""`apply --plan` and `apply --checksum` against what the console and the files are now.

A saved plan is an approval: a re-run, a resumed run after a crash, or a second merge of the same
plan executes what is left of it and exits 0; only a change outside it is refused, with the reason.
"""

from __future__ import annotations

import json
import signal

import pytest

from reconciler.model import plan_checksum
from reconciler.planning.planfile import read_plan
from reconciler.store import RunOutcome
from tests.apply.conftest import Estate, normalise, wait_for
from tests.apply.test_crash_and_concurrency import in_flight

SLOW = {"RECONCILER_SANDBOX_DELAY": "1.0"}
EXTRA_SITE = """\
version: 1
sites:
  - name: acme
    org: acme-corp
  - name: acme-align
    org: acme-corp
    create: true
  - name: labs
    org: acme-labs
  - name: acme-extra
    org: acme-corp
    create: true
"""
ALL_DONE = (
    "Nothing left to do: every change of the approved plan plan.json is done (4 changes); "
    "nothing was applied.\n"
)


def saved_plan(estate: Estate) -> dict[str, object]:
    assert estate.cli("plan", "--out", "plan.json").returncode == 0
    return dict(json.loads((estate.root / "plan.json").read_text()))


def cancel_by_hand(estate: Estate, subscription: str) -> None:
    console = estate.console()
    console.cancel("alice@acme.example", subscription, f"by-hand-{subscription}")
    console.close()


def test_applying_a_saved_plan_again_finds_it_done_and_exits_0(estate: Estate) -> None:
    saved_plan(estate)
    assert estate.cli("apply", "--plan", "plan.json").returncode == 0
    again = estate.cli("apply", "--plan", "plan.json")
    assert (again.returncode, again.stdout, again.stderr) == (0, ALL_DONE, "")
    assert estate.writes() == 4
    newest = estate.runs()[0]
    assert (newest.outcome, newest.message) == (RunOutcome.CONVERGED, "no changes")


def test_a_partly_done_plan_executes_only_the_rest(estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    saved_plan(estate)
    # Done by hand at once: this case is a change already done, not one still in progress.
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", "0")
    console = estate.console()
    console.provision("alice@acme.example", "SUB-1001", "focus", "acme", "done-by-hand")
    console.close()

    applied = estate.cli("apply", "--plan", "plan.json", "--parallelism", "1")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith(
        "Resuming the approved plan plan.json: 1 of its 4 changes is done already; applying the other 3.\n"
    )
    assert normalise(applied.stderr) == (
        "[1/3] create-site acme-align (acme-corp): succeeded (N.Ns)\n"
        "[2/3] provision SUB-1001 talent -> acme: succeeded (N.Ns)\n"
        "[3/3] provision SUB-1001 jira-align -> acme-align: succeeded (N.Ns)\n"
    )
    assert estate.writes() == 4
    assert estate.cli("plan", "--detailed-exitcode").returncode == 0


def test_a_plan_whose_site_exists_now_still_approves_what_goes_on_it(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved_plan(estate)
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", "0")  # the site is made at once, not in progress
    console = estate.console()
    console.create_site("alice@acme.example", "acme-corp", "acme-align", "site-by-hand")
    console.close()
    # jira-align's provision no longer waits for a create-site: it is the approved change all the same.
    applied = estate.cli("apply", "--plan", "plan.json")
    assert applied.returncode == 0, applied.stderr
    assert "1 of its 4 changes is done already; applying the other 3." in applied.stdout
    assert estate.writes() == 4


def test_a_change_outside_the_plan_made_by_the_console_is_refused_saying_so(estate: Estate) -> None:
    saved = saved_plan(estate)
    cancel_by_hand(estate, "SUB-1001")
    writes = estate.writes()
    now = json.loads(estate.cli("plan", "--format", "json").stdout)["checksum"]

    result = estate.cli("apply", "--plan", "plan.json")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the saved plan plan.json is stale: the console changed since it was made; the desired state "
        f"did not; re-planning now gives {now}, the saved plan has {saved['checksum']}; nothing was applied\n"
        "  ~ provision:SUB-1001:focus: depends_on [] -> ['reactivate:SUB-1001']\n"
        "  ~ provision:SUB-1001:jira-align: depends_on ['create-site:acme-align'] -> "
        "['create-site:acme-align', 'reactivate:SUB-1001']\n"
        "  ~ provision:SUB-1001:talent: depends_on [] -> ['reactivate:SUB-1001']\n"
        "  + reactivate:SUB-1001: planned now, not in the approved plan\n"
        "hint: make the plan again (reconciler plan --out plan.json), review it, then apply it\n"
    )
    assert estate.writes() == writes


def test_a_change_outside_the_plan_from_the_files_is_refused_saying_so(estate: Estate) -> None:
    saved_plan(estate)
    (estate.root / "desired-state" / "sites.yaml").write_text(EXTRA_SITE)
    result = estate.cli("apply", "--plan", "plan.json")
    assert result.returncode == 1
    first, *rest = result.stderr.splitlines()
    assert first.startswith(
        "error: the saved plan plan.json is stale: the desired state changed since it was made; "
        "the console did not; re-planning now gives sha256:"
    )
    assert rest[0] == "  + create-site:acme-extra: planned now, not in the approved plan"
    assert estate.writes() == 0


def test_both_the_files_and_the_console_changed(estate: Estate) -> None:
    saved_plan(estate)
    (estate.root / "desired-state" / "sites.yaml").write_text(EXTRA_SITE)
    cancel_by_hand(estate, "SUB-1001")
    result = estate.cli("apply", "--plan", "plan.json")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: the saved plan plan.json is stale: both the desired state and the console changed since "
        "it was made; re-planning now gives sha256:"
    )


def test_an_approved_checksum_with_nothing_left_to_do_exits_0(estate: Estate) -> None:
    checksum = saved_plan(estate)["checksum"]
    assert estate.cli("apply", "--checksum", str(checksum)).returncode == 0
    again = estate.cli("apply", "--checksum", str(checksum))
    assert (again.returncode, again.stdout) == (
        0,
        "No changes: the console already matches desired state; nothing was applied.\n",
    )


def test_two_merges_of_one_plan_at_once_the_second_finds_nothing_left(estate: Estate) -> None:
    saved_plan(estate)
    # The first holds the lock for a few seconds (each operation takes 3 s): the second waits for it.
    first = estate.start("apply", "--plan", "plan.json", env={"RECONCILER_SANDBOX_DELAY": "3.0"})
    wait_for(lambda: in_flight(estate, 1), what="the first apply to hold the lock")
    second = estate.start("apply", "--plan", "plan.json", "--lock-timeout", "60", env=SLOW)
    first.communicate(timeout=60)
    second_out, second_err = second.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0), second_err
    assert second_out == ALL_DONE
    assert estate.writes() == 4


def crash_then_finish(estate: Estate, stop: signal.Signals) -> None:
    saved_plan(estate)
    first = estate.start("apply", "--plan", "plan.json", env=SLOW)
    wait_for(lambda: in_flight(estate, 3), what="three requests in flight")
    first.send_signal(stop)
    first.communicate(timeout=30)

    again = estate.cli("apply", "--plan", "plan.json", "--lock-timeout", "30", env=SLOW)
    assert again.returncode == 0, again.stderr
    third = estate.cli("apply", "--plan", "plan.json", env=SLOW)
    assert (third.returncode, third.stdout) == (0, ALL_DONE)
    assert estate.writes() == 4
    assert estate.cli("plan", "--detailed-exitcode").returncode == 0


def test_after_kill_9_the_same_plan_finishes_the_rest(estate: Estate) -> None:
    crash_then_finish(estate, signal.SIGKILL)
    third, second, first = estate.runs()
    assert [first.outcome, second.outcome, third.outcome] == [
        RunOutcome.ABANDONED,
        RunOutcome.CONVERGED,
        RunOutcome.CONVERGED,
    ]


def test_after_sigterm_the_same_plan_finishes_the_rest(estate: Estate) -> None:
    crash_then_finish(estate, signal.SIGTERM)
    third, second, first = estate.runs()
    assert [first.outcome, second.outcome, third.outcome] == [
        RunOutcome.INTERRUPTED,
        RunOutcome.CONVERGED,
        RunOutcome.CONVERGED,
    ]


def applied_as_approved(estate: Estate, *args: str) -> str:
    """Apply the saved plan: it goes ahead (nothing outside the approval is planned); its stdout."""
    result = estate.cli("apply", *args, "--plan", "plan.json", input="")
    assert result.returncode == 0, result.stderr
    assert estate.runs()[0].outcome == RunOutcome.CONVERGED
    return result.stdout


def test_other_files_that_ask_for_none_of_the_plan_are_not_called_the_plan_done(estate: Estate) -> None:
    saved_plan(estate)
    (estate.root / "ds6").mkdir()
    (estate.root / "ds6" / "a.yaml").write_text("version: 1\nsubscriptions:\n  - id: SUB-1002\n")
    # Nothing of the plan is on the console: "every change is done" would be a false success.
    assert applied_as_approved(estate, "ds6") == (
        "Nothing left to do: of the 4 changes of the approved plan plan.json, none is done on the console "
        "and all 4 are no longer planned (the desired state no longer asks for them: create-site:acme-align, "
        "provision:SUB-1001:focus, provision:SUB-1001:jira-align, provision:SUB-1001:talent); "
        "nothing was applied.\n"
    )
    assert estate.writes() == 0
    assert estate.cli("plan", "--detailed-exitcode").returncode == 2


NO_APPS = """\
version: 1
subscriptions:
  - id: SUB-1001
    product: strategy-collection
"""
SITES_WITHOUT_ALIGN = """\
version: 1
sites:
  - name: acme
    org: acme-corp
  - name: labs
    org: acme-labs
"""


def test_files_edited_after_the_review_to_drop_approved_changes_leave_nothing_done(estate: Estate) -> None:
    saved_plan(estate)
    (estate.root / "desired-state" / "acme-corp.yaml").write_text(NO_APPS)
    (estate.root / "desired-state" / "sites.yaml").write_text(SITES_WITHOUT_ALIGN)
    assert applied_as_approved(estate) == (
        "Nothing left to do: of the 4 changes of the approved plan plan.json, none is done on the console "
        "and all 4 are no longer planned (the desired state no longer asks for them: create-site:acme-align, "
        "provision:SUB-1001:focus, provision:SUB-1001:jira-align, provision:SUB-1001:talent); "
        "nothing was applied.\n"
    )
    assert estate.writes() == 0


WITHOUT_TALENT = """\
version: 1
subscriptions:
  - id: SUB-1001
    product: strategy-collection
    apps:
      jira-align: {site: acme-align}
      focus: {site: acme}
"""


@pytest.mark.parametrize("with_checksum", [False, True])
def test_files_that_drop_an_approved_change_resume_the_rest_saying_which(
    estate: Estate, with_checksum: bool
) -> None:
    checksum = str(saved_plan(estate)["checksum"])
    (estate.root / "desired-state" / "acme-corp.yaml").write_text(WITHOUT_TALENT)
    # The reviewed checksum beside its plan approves the same: what the files still ask for.
    approval = ("--checksum", checksum) if with_checksum else ()
    stdout = applied_as_approved(estate, *approval)
    assert stdout.startswith(
        "Resuming the approved plan plan.json: 1 of its 4 changes is no longer planned (the desired state "
        "no longer asks for it: provision:SUB-1001:talent); applying the other 3.\n"
    )
    assert estate.writes() == 3
    assert applied_as_approved(estate) == (
        "Nothing left to do: of the 4 changes of the approved plan plan.json, 3 are done on the console and "
        "1 is no longer planned (the desired state no longer asks for it: provision:SUB-1001:talent); "
        "nothing was applied.\n"
    )


ONLY_FOCUS = """\
version: 1
subscriptions:
  - id: SUB-1001
    product: strategy-collection
    apps:
      focus: {site: acme}
"""


def plan_then_provision_focus_by_hand(estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    saved_plan(estate)
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", "0")  # done at once, not in progress
    console = estate.console()
    console.provision("alice@acme.example", "SUB-1001", "focus", "acme", "done-by-hand")
    console.close()


def test_a_change_done_on_the_console_is_told_apart_from_one_the_files_dropped(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_then_provision_focus_by_hand(estate, monkeypatch)
    (estate.root / "desired-state" / "acme-corp.yaml").write_text(ONLY_FOCUS)
    (estate.root / "desired-state" / "sites.yaml").write_text(SITES_WITHOUT_ALIGN)
    assert applied_as_approved(estate) == (
        "Nothing left to do: of the 4 changes of the approved plan plan.json, 1 is done on the console and "
        "3 are no longer planned (the desired state no longer asks for them: create-site:acme-align, "
        "provision:SUB-1001:jira-align, provision:SUB-1001:talent); nothing was applied.\n"
    )
    assert estate.writes() == 1  # the provision made by hand, nothing more


def test_a_resumed_plan_counts_what_is_done_apart_from_what_the_files_dropped(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_then_provision_focus_by_hand(estate, monkeypatch)
    (estate.root / "desired-state" / "acme-corp.yaml").write_text(WITHOUT_TALENT)
    assert applied_as_approved(estate).startswith(
        "Resuming the approved plan plan.json: 1 of its 4 changes is done already and 1 is no longer planned "
        "(the desired state no longer asks for it: provision:SUB-1001:talent); applying the other 2.\n"
    )
    assert estate.writes() == 3


HINT = "hint: make the plan again (reconciler plan --out plan.json), review it, then apply it\n"


def test_a_plan_edited_to_approve_fewer_changes_is_refused_as_edited(estate: Estate) -> None:
    saved = saved_plan(estate)
    # Edited with care: one change less, the checksum recomputed, so the file reads as a plan.
    talent = "provision:SUB-1001:talent"
    kept = tuple(c for c in read_plan(estate.root / "plan.json").changes if c.id != talent)
    edited = {**saved, "changes": [c for c in saved["changes"] if c["id"] != talent]}  # type: ignore[attr-defined]
    edited["checksum"] = plan_checksum(kept)
    (estate.root / "plan.json").write_text(json.dumps(edited))

    result = estate.cli("apply", "--plan", "plan.json")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the saved plan plan.json is stale: the desired state and the console are unchanged, yet its "
        "changes are not what they give: was the file edited, or made by another version of reconciler?; "
        f"re-planning now gives {saved['checksum']}, the saved plan has {edited['checksum']}; "
        "nothing was applied\n"
        "  + provision:SUB-1001:talent: planned now, not in the approved plan\n" + HINT
    )
    assert estate.writes() == 0
