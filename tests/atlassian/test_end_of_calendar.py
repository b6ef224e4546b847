"""A date past 9999-12-31 that a console's data implies (a term ending on the calendar's last day,
declared in billing facts or sent by a console over HTTP) is no crash: the plan says what it is,
"15 days after the term ends". (The sandbox's own clock stops before: tests/sandbox.)"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from reconciler.model import Status, Subscription
from tests.atlassian.conftest import atlassian_env
from tests.conftest import RunCli
from tests.http.conftest import Served


def subscription(**dates: dt.date) -> Subscription:
    return Subscription(
        id="SUB-1",
        billing_account="AC-1",
        product="focus",
        status=Status.CANCELLED,
        start_date=None,
        term_end=dates.get("term_end"),
        apps={"focus": None},
        deactivated_on=dates.get("deactivated_on"),
    )


@pytest.mark.parametrize(
    ("term_end", "deactivation"),
    [(dt.date(9999, 12, 16), dt.date(9999, 12, 31)), (dt.date(9999, 12, 17), None), (dt.date.max, None)],
)
def test_a_deactivation_past_the_calendar_has_no_date(
    term_end: dt.date, deactivation: dt.date | None
) -> None:
    assert subscription(term_end=term_end).deactivation_date == deactivation


@pytest.mark.parametrize(
    ("deactivated_on", "deletion"),
    [(dt.date(9999, 11, 1), dt.date(9999, 12, 31)), (dt.date(9999, 11, 2), None)],
)
def test_a_deletion_past_the_calendar_has_no_date(deactivated_on: dt.date, deletion: dt.date | None) -> None:
    assert subscription(deactivated_on=deactivated_on).deletion_date == deletion


def planned_cancel(run_cli: RunCli, estate: Path, served: Served, term_end: str) -> dict[str, object]:
    """The plan's cancel of SUB-1001, whose term the declared billing facts end on `term_end`."""
    facts = estate / "billing" / "subscriptions.yaml"
    facts.write_text(
        facts.read_text("utf-8").replace("term_end: 2027-09-30", f"term_end: {term_end}"), "utf-8"
    )
    desired = estate / "desired-state" / "acme-corp.yaml"
    declared = "    product: strategy-collection\n"
    desired.write_text(
        desired.read_text("utf-8").replace(declared, f"{declared}    status: cancelled\n"), "utf-8"
    )
    result = run_cli("plan", "--format", "json", cwd=estate, env=atlassian_env(served.url))
    assert result.returncode == 0, result.stderr
    [cancel] = [change for change in json.loads(result.stdout)["changes"] if change["action"] == "cancel"]
    return {key: cancel[key] for key in ("subscription", "reason", "deactivation_date")}


def test_a_term_ending_on_the_last_day_plans_its_cancel(
    run_cli: RunCli, estate: Path, stand_in: Served
) -> None:
    assert planned_cancel(run_cli, estate, stand_in, "9999-12-31") == {
        "subscription": "SUB-1001",
        "reason": "SUB-1001 is declared cancelled: jira-align (no site), focus (no site) and talent "
        "(no site) go off 15 days after the term ends",
        "deactivation_date": None,
    }


def test_a_term_whose_grace_still_fits_shows_its_date(
    run_cli: RunCli, estate: Path, stand_in: Served
) -> None:
    assert planned_cancel(run_cli, estate, stand_in, "9999-12-16") == {
        "subscription": "SUB-1001",
        "reason": "SUB-1001 is declared cancelled: jira-align (no site), focus (no site) and talent "
        "(no site) go off on 9999-12-31",
        "deactivation_date": "9999-12-31",
    }
