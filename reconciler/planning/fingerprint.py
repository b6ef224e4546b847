"""A fingerprint of the observed console: the same console gives the same fingerprint from any provider.

It covers the console's state (its date, users, accounts, orgs, sites, subscriptions and retired
names), not who observed it: the acting user is recorded in the plan on its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TypeVar

from reconciler.model import BillingAccount, Console, Organization, Site, Subscription

T = TypeVar("T")


def observed_fingerprint(console: Console) -> str:
    blob = json.dumps(canonical_console(console), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def canonical_console(console: Console) -> dict[str, object]:
    return {
        "now": console.now.isoformat(),
        "users": sorted(console.users),
        "billing_accounts": _each(console.billing_accounts, _account),
        "organizations": _each(console.organizations, _organization),
        "sites": _each(console.sites, _site),
        "subscriptions": _each(console.subscriptions, _subscription),
        "retired_site_names": sorted(console.retired_site_names),
    }


def _each(items: Mapping[str, T], canonical: Callable[[T], dict[str, object]]) -> list[object]:
    return [canonical(items[key]) for key in sorted(items)]


def _account(account: BillingAccount) -> dict[str, object]:
    return {
        "id": account.id,
        "managed_by": account.managed_by,
        "partner": account.partner,
        "billing_admins": sorted(account.billing_admins),
    }


def _organization(org: Organization) -> dict[str, object]:
    return {"id": org.id, "name": org.name, "admins": sorted(org.admins), "members": sorted(org.members)}


def _site(site: Site) -> dict[str, object]:
    return {"name": site.name, "org": site.org, "jira": site.jira, "sandbox": site.sandbox}


def _subscription(sub: Subscription) -> dict[str, object]:
    return {
        "id": sub.id,
        "billing_account": sub.billing_account,
        "product": sub.product,
        "status": sub.status,
        "start_date": _date(sub.start_date),
        "term_end": _date(sub.term_end),
        "apps": dict(sorted(sub.apps.items())),
        "migration": sub.migration,
        "deactivated_on": _date(sub.deactivated_on),
        "pending": dict(sorted(sub.pending.items())),
    }


def _date(value: object) -> str | None:
    return None if value is None else str(value)
