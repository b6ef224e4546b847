"""A fingerprint of the observed console: the same console gives the same fingerprint from any provider.

It covers the console's state (its date, users, accounts, orgs, sites, subscriptions and retired
names), not who observed it: the acting user is recorded in the plan on its own.

The canonical form is compact JSON: each section a list of rows sorted by id, each row an array
of the entity's fields in a fixed order (dates as ISO strings, sets and maps sorted). Arrays
rather than objects keep a 10,000-subscription console to a few milliseconds of hashing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TypeVar

from reconciler.model import Console

T = TypeVar("T")

FIELDS = {
    "billing_accounts": ("id", "managed_by", "partner", "billing_admins"),
    "organizations": ("id", "name", "admins", "members"),
    "sites": ("name", "org", "jira", "sandbox"),
    "subscriptions": (
        "id", "billing_account", "product", "status", "start_date", "term_end", "apps", "migration",
        "deactivated_on", "pending",
    ),
}  # fmt: skip


def observed_fingerprint(console: Console) -> str:
    blob = json.dumps(canonical_console(console), separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def canonical_console(console: Console) -> list[object]:
    day = _day_formatter()
    subscriptions = [
        [
            s.id, s.billing_account, s.product, s.status, day(s.start_date), day(s.term_end),
            sorted(s.apps.items()), s.migration, day(s.deactivated_on), sorted(s.pending.items()),
        ]
        for s in _by_key(console.subscriptions)
    ]  # fmt: skip
    accounts = [
        [a.id, a.managed_by, a.partner, sorted(a.billing_admins)] for a in _by_key(console.billing_accounts)
    ]
    orgs = [[o.id, o.name, sorted(o.admins), sorted(o.members)] for o in _by_key(console.organizations)]
    return [
        ["format", 1, *FIELDS.items()],
        ["now", day(console.now)],
        ["users", sorted(console.users)],
        ["billing_accounts", accounts],
        ["organizations", orgs],
        ["sites", [[s.name, s.org, s.jira, s.sandbox] for s in _by_key(console.sites)]],
        ["subscriptions", subscriptions],
        ["retired_site_names", sorted(console.retired_site_names)],
    ]


def _day_formatter() -> Callable[[dt.date | None], str | None]:
    """ISO dates, each formatted once: many subscriptions share few distinct dates."""
    dates: dict[dt.date | None, str | None] = {None: None}

    def day(value: dt.date | None) -> str | None:
        try:
            return dates[value]
        except KeyError:
            text = dates[value] = value.isoformat()  # type: ignore[union-attr]
            return text

    return day


def _by_key(items: Mapping[str, T]) -> list[T]:
    return [items[key] for key in sorted(items)]
