"""The subscription lifecycle as the console's clock drives it. Pure: dates in, events out.

- upcoming -> active on its start date;
- active renews on its term end (the term end moves a year on);
- cancelled -> deactivated 15 days after its term end;
- deactivated -> deleted 60 days after deactivation (the apps are cleared).
"""

from __future__ import annotations

import datetime as dt

from msgspec import Struct
from msgspec.structs import replace

from reconciler.errors import ReconcilerError
from reconciler.model import DATA_RETENTION, DEACTIVATION_GRACE, LAST_CLOCK_DAY, Status


def add_years(day: dt.date, years: int = 1) -> dt.date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class Lifecycle(Struct, frozen=True):
    """The dates and status of one subscription: all the clock looks at."""

    subscription: str
    status: str
    start_date: dt.date | None
    term_end: dt.date | None
    deactivated_on: dt.date | None


class Event(Struct, frozen=True):
    """One transition: what happened to which subscription, on which day."""

    day: dt.date
    subscription: str
    description: str
    after: Lifecycle

    @property
    def line(self) -> str:
        return f"{self.day.isoformat()}  {self.subscription}  {self.description}"


def _next_event(state: Lifecycle, until: dt.date) -> Event | None:
    sub = state.subscription
    if state.status == Status.UPCOMING and state.start_date is not None and state.start_date <= until:
        after = replace(state, status=Status.ACTIVE)
        return Event(state.start_date, sub, "upcoming -> active (its start date)", after)
    if state.status == Status.ACTIVE and state.term_end is not None and state.term_end <= until:
        renewed = add_years(state.term_end)
        after = replace(state, term_end=renewed)
        return Event(state.term_end, sub, f"renewed: the term now ends on {renewed.isoformat()}", after)
    if state.status == Status.CANCELLED and state.term_end is not None:
        day = state.term_end + DEACTIVATION_GRACE
        if day <= until:
            after = replace(state, status=Status.DEACTIVATED, deactivated_on=day)
            return Event(day, sub, "cancelled -> deactivated (15 days after its term end)", after)
    if state.status == Status.DEACTIVATED and state.deactivated_on is not None:
        day = state.deactivated_on + DATA_RETENTION
        if day <= until:
            after = replace(state, status=Status.DELETED)
            return Event(day, sub, "deactivated -> deleted (60 days after deactivation): data gone", after)
    return None


def transitions(state: Lifecycle, until: dt.date) -> list[Event]:
    """Every transition due on or before `until`, in date order."""
    events: list[Event] = []
    event = _next_event(state, until)
    while event is not None:
        events.append(event)
        event = _next_event(event.after, until)
    return events


def renew_until(term_end: dt.date | None, today: dt.date) -> dt.date | None:
    """The term end an active subscription has on `today` once every renewal due has happened."""
    while term_end is not None and term_end <= today:
        term_end = add_years(term_end)
    return term_end


def moved_clock(today: dt.date, days: int) -> dt.date:
    """The clock `days` after `today`, refused past the last day a console keeps."""
    room = (LAST_CLOCK_DAY - today).days
    if days > room:
        raise ReconcilerError(
            f"the sandbox clock cannot move {days} days on from {today}: it would pass {LAST_CLOCK_DAY}, "
            "the last day a console keeps (a year of term, 15 days of grace and 60 of retention "
            "after it must still fit before the calendar ends)",
            hint=f"move it {max(room, 0)} days or fewer, or re-create the console with "
            "'reconciler sandbox init'",
        )
    return today + dt.timedelta(days=days)
