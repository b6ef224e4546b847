"""The console's clock: transitions happen on their exact dates, never by the wall clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.lifecycle import Lifecycle, add_years, transitions
from tests.sandbox.consoles import ALICE, DATA, console_from

LIFECYCLE_SEED = DATA / "lifecycle-console.yaml"
START = dt.date(2026, 11, 21)


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxConsole]:
    monkeypatch.delenv("RECONCILER_SANDBOX_DELAY", raising=False)
    with console_from(LIFECYCLE_SEED, tmp_path) as opened:
        yield opened


def advance_to(console: SandboxConsole, day: dt.date) -> list[str]:
    return console.advance((day - console.today()).days)


def status(console: SandboxConsole, sub: str) -> str:
    return console.observe(ALICE).subscriptions[sub].status


@pytest.mark.parametrize(
    ("day", "expected"), [(dt.date(2026, 12, 14), "upcoming"), (dt.date(2026, 12, 15), "active")]
)
def test_upcoming_becomes_active_on_its_start_date(
    console: SandboxConsole, day: dt.date, expected: str
) -> None:
    advance_to(console, day)
    assert status(console, "SUB-UPCOMING") == expected


@pytest.mark.parametrize(
    ("day", "term_end"),
    [(dt.date(2026, 12, 30), dt.date(2026, 12, 31)), (dt.date(2026, 12, 31), dt.date(2027, 12, 31))],
)
def test_active_renews_on_its_term_end(console: SandboxConsole, day: dt.date, term_end: dt.date) -> None:
    advance_to(console, day)
    sub = console.observe(ALICE).subscriptions["SUB-ACTIVE"]
    assert (sub.status, sub.term_end) == ("active", term_end)


@pytest.mark.parametrize(
    ("day", "expected"), [(dt.date(2026, 12, 14), "cancelled"), (dt.date(2026, 12, 15), "deactivated")]
)
def test_cancelled_is_deactivated_15_days_after_its_term_end(
    console: SandboxConsole, day: dt.date, expected: str
) -> None:
    advance_to(console, day)
    sub = console.observe(ALICE).subscriptions["SUB-CANCELLED"]
    assert sub.status == expected
    assert sub.deactivated_on == (dt.date(2026, 12, 15) if expected == "deactivated" else None)
    assert sub.apps == {"focus": "acme"}  # deactivated keeps its data


@pytest.mark.parametrize(
    ("day", "expected", "site"),
    [(dt.date(2027, 2, 12), "deactivated", "acme"), (dt.date(2027, 2, 13), "deleted", None)],
)
def test_deactivated_is_deleted_60_days_later(
    console: SandboxConsole, day: dt.date, expected: str, site: str | None
) -> None:
    advance_to(console, day)
    sub = console.observe(ALICE).subscriptions["SUB-CANCELLED"]
    assert (sub.status, sub.apps["focus"]) == (expected, site)


def test_advance_reports_every_transition_in_date_order(console: SandboxConsole) -> None:
    assert advance_to(console, dt.date(2027, 2, 13)) == [
        "2026-12-15  SUB-CANCELLED  cancelled -> deactivated (15 days after its term end)",
        "2026-12-15  SUB-UPCOMING  upcoming -> active (its start date)",
        "2026-12-31  SUB-ACTIVE  renewed: the term now ends on 2027-12-31",
        "2027-02-13  SUB-CANCELLED  deactivated -> deleted (60 days after deactivation): data gone",
    ]
    assert console.today() == dt.date(2027, 2, 13)
    assert console.advance(0) == []


def test_the_clock_never_follows_the_wall_clock(console: SandboxConsole) -> None:
    with SandboxConsole(console.path) as reopened:
        assert reopened.today() == START
        assert reopened.observe(None).now == START


def test_the_clock_only_moves_forward(console: SandboxConsole) -> None:
    with pytest.raises(ReconcilerError) as error:
        console.advance(-1)
    assert error.value.message == "the sandbox clock only moves forward (-1 days asked)"


def test_reactivating_a_cancelled_subscription_undoes_the_cancellation(console: SandboxConsole) -> None:
    console.reactivate(ALICE, "SUB-CANCELLED", "r")
    sub = console.observe(ALICE).subscriptions["SUB-CANCELLED"]
    assert (sub.status, sub.term_end, sub.apps) == ("active", dt.date(2026, 11, 30), {"focus": "acme"})


def test_reactivating_in_the_grace_period_renews_the_ended_term(console: SandboxConsole) -> None:
    advance_to(console, dt.date(2026, 12, 5))  # the term ended on 2026-11-30; deactivation is 2026-12-15
    console.reactivate(ALICE, "SUB-CANCELLED", "r")
    sub = console.observe(ALICE).subscriptions["SUB-CANCELLED"]
    assert (sub.status, sub.term_end) == ("active", dt.date(2027, 11, 30))


def test_reactivating_a_deactivated_subscription_brings_its_apps_back_for_a_new_term(
    console: SandboxConsole,
) -> None:
    advance_to(console, dt.date(2027, 1, 10))
    assert status(console, "SUB-CANCELLED") == "deactivated"
    console.reactivate(ALICE, "SUB-CANCELLED", "r")
    sub = console.observe(ALICE).subscriptions["SUB-CANCELLED"]
    assert (sub.status, sub.apps, sub.deactivated_on) == ("active", {"focus": "acme"}, None)
    assert sub.term_end == dt.date(2028, 1, 10)


def test_cancel_then_advance_deactivates_on_term_end_plus_15(console: SandboxConsole) -> None:
    console.cancel(ALICE, "SUB-ACTIVE", "c")
    assert advance_to(console, dt.date(2027, 1, 15)) == [
        "2026-12-15  SUB-CANCELLED  cancelled -> deactivated (15 days after its term end)",
        "2026-12-15  SUB-UPCOMING  upcoming -> active (its start date)",
        "2027-01-15  SUB-ACTIVE  cancelled -> deactivated (15 days after its term end)",
    ]


def test_a_seed_whose_dates_are_due_is_brought_up_to_its_clock(tmp_path: Path) -> None:
    text = LIFECYCLE_SEED.read_text(encoding="utf-8").replace("now: 2026-11-21", "now: 2027-01-01")
    text = text.replace(
        "status: upcoming\n    start_date: 2026-12-15", "status: upcoming\n    start_date: 2027-01-02"
    )
    seed = tmp_path / "late.yaml"
    seed.write_text(text, encoding="utf-8")
    with console_from(seed, tmp_path) as console:
        subs = console.observe(ALICE).subscriptions
        assert (subs["SUB-ACTIVE"].term_end, subs["SUB-CANCELLED"].status) == (
            dt.date(2027, 12, 31),
            "deactivated",
        )


def test_add_years_keeps_the_day_or_falls_back_from_29_february() -> None:
    assert add_years(dt.date(2026, 10, 1)) == dt.date(2027, 10, 1)
    assert add_years(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)


def test_a_long_jump_goes_through_every_state() -> None:
    state = Lifecycle("SUB-1", "cancelled", dt.date(2026, 1, 1), dt.date(2026, 12, 31), None)
    events = transitions(state, dt.date(2030, 1, 1))
    assert [(e.day, e.after.status) for e in events] == [
        (dt.date(2027, 1, 15), "deactivated"),
        (dt.date(2027, 3, 16), "deleted"),
    ]
    assert events[-1].after.deactivated_on == dt.date(2027, 1, 15)
