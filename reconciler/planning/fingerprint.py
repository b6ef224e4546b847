"""A fingerprint of the observed console: the same console gives the same fingerprint from any provider.

It covers the console's state (its date, users, accounts, orgs, sites, subscriptions and retired
names), not who observed it: the acting user is recorded in the plan on its own.

The canonical form is compact JSON: each section a list of rows sorted by id, each row an array
of the entity's fields in a fixed order (dates as ISO strings, sets and maps sorted). Arrays
rather than objects keep a 10,000-subscription console to a few milliseconds of hashing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import TypeVar

from reconciler.model import Console, Organization, Site, Subscription

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

_dumps = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False)


def observed_fingerprint(console: Console) -> str:
    return "sha256:" + hashlib.sha256(canonical_text(console).encode()).hexdigest()


def canonical_console(console: Console) -> list[object]:
    """The canonical form as JSON-ready values: the definition that `canonical_text` writes out."""
    day = _day_formatter()
    subscriptions = [
        [
            s.id, s.billing_account, s.product, s.status, day(s.start_date), day(s.term_end),
            sorted(s.apps.items()), s.migration, day(s.deactivated_on), sorted(s.pending.items()),
        ]
        for s in _by_key(console.subscriptions)
    ]  # fmt: skip
    orgs = [[o.id, o.name, sorted(o.admins), sorted(o.members)] for o in _by_key(console.organizations)]
    return [
        *_small_sections(console, day)[:4],
        ["organizations", orgs],
        ["sites", [[s.name, s.org, s.jira, s.sandbox] for s in _by_key(console.sites)]],
        ["subscriptions", subscriptions],
        _small_sections(console, day)[4],
        *_sites_in_progress(console),
    ]


def _sites_in_progress(console: Console) -> list[list[object]]:
    """Sites being created, when there are any: absent otherwise, so a console without keeps its
    fingerprint. (Provisioning in progress is in each subscription's `pending`.)"""
    creating = console.sites_in_progress
    return [["sites_in_progress", sorted([name, org] for name, org in creating.items())]] if creating else []


def canonical_text(console: Console) -> str:
    """`canonical_console` as compact JSON, byte for byte, written without the nested lists.

    Building a list per row and then encoding it cost ~60 ms for 10,000 subscriptions; the three
    large sections are written row by row here with json's own string encoder instead. A value of
    a type the model does not declare (json.dumps would write it, encode_basestring refuses it)
    falls back to encoding the canonical lists, so the text is the same either way.
    """
    try:
        small = [_dumps(section) for section in _small_sections(console, _day_formatter())]
        large = [
            f'["organizations",[{",".join(map(_org_row, _by_key(console.organizations)))}]]',
            f'["sites",[{",".join(map(_site_row, _by_key(console.sites)))}]]',
            f'["subscriptions",[{_subscription_rows(console.subscriptions)}]]',
        ]
    except TypeError:
        return _dumps(canonical_console(console))
    tail = [_dumps(section) for section in _sites_in_progress(console)]
    return f"[{','.join([*small[:4], *large, small[4], *tail])}]"


def _small_sections(console: Console, day: Callable[[dt.date | None], str | None]) -> list[list[object]]:
    """The header, the date, users, billing accounts and retired names: few rows, encoded as lists."""
    accounts = [
        [a.id, a.managed_by, a.partner, sorted(a.billing_admins)] for a in _by_key(console.billing_accounts)
    ]
    return [
        ["format", 1, *FIELDS.items()],
        ["now", day(console.now)],
        ["users", sorted(console.users)],
        ["billing_accounts", accounts],
        ["retired_site_names", sorted(console.retired_site_names)],
    ]


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _flag(value: bool) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise TypeError(f"not a boolean: {value!r}")


def _org_row(org: Organization) -> str:
    admins = ",".join(map(encode_basestring, sorted(org.admins)))
    members = ",".join(map(encode_basestring, sorted(org.members)))
    return f"[{encode_basestring(org.id)},{encode_basestring(org.name)},[{admins}],[{members}]]"


def _site_row(site: Site) -> str:
    q = encode_basestring
    return f"[{q(site.name)},{q(site.org)},{_text(site.jira)},{_flag(site.sandbox)}]"


def _pairs(mapping: Mapping[str, str | None]) -> str:
    if not mapping:
        return ""
    q = encode_basestring
    return ",".join([f"[{q(k)},{'null' if v is None else q(v)}]" for k, v in sorted(mapping.items())])


def _subscription_rows(subscriptions: Mapping[str, Subscription]) -> str:
    q, day = encode_basestring, _quoted_day_formatter()
    rows = [
        f"[{q(s.id)},{q(s.billing_account)},{q(s.product)},{q(s.status)},{day(s.start_date)},"
        f"{day(s.term_end)},[{_pairs(s.apps)}],{_flag(s.migration)},{day(s.deactivated_on)},"
        f"[{_pairs(s.pending)}]]"
        for s in _by_key(subscriptions)
    ]
    return ",".join(rows)


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


def _quoted_day_formatter() -> Callable[[dt.date | None], str]:
    """Dates as JSON values (a quoted ISO string, or null), each encoded once."""
    dates: dict[dt.date | None, str] = {None: "null"}

    def day(value: dt.date | None) -> str:
        try:
            return dates[value]
        except KeyError:
            text = dates[value] = encode_basestring(value.isoformat())  # type: ignore[union-attr]
            return text

    return day


def _by_key(items: Mapping[str, T]) -> list[T]:
    return [items[key] for key in sorted(items)]
