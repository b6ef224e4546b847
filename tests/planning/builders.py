"""Plain values for planner unit tests: a console from a seed-like dict, desired state from dicts.

Origins are `KnownOrigin`s whose file names the declared value they stand for
(e.g. `SUB-1/apps/focus/site`), so a test can say exactly where a finding points.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reconciler.model import (
    BillingAccount,
    Console,
    DesiredApp,
    DesiredSite,
    DesiredState,
    DesiredSubscription,
    KnownOrigin,
    Organization,
    Site,
    SourceSpan,
    Subscription,
)


def at(label: str) -> KnownOrigin:
    return KnownOrigin(SourceSpan(label, 1, 1))


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def console(seed: dict[str, Any], actor: str | None = "alice@acme.example") -> Console:
    """A Console from the SPEC seed format (the keys `reconciler sandbox init` reads)."""
    return Console(
        now=_date(seed.get("now", "2026-11-21")) or dt.date(2026, 11, 21),
        actor=actor,
        users=frozenset(u["email"] for u in seed.get("users", [])),
        billing_accounts={
            a["id"]: BillingAccount(
                a["id"],
                a.get("managed_by", "direct"),
                a.get("partner"),
                frozenset(a.get("billing_admins", [])),
            )
            for a in seed.get("billing_accounts", [])
        },
        organizations={
            o["id"]: Organization(
                o["id"],
                o.get("name", o["id"]),
                frozenset(o.get("admins", [])),
                frozenset(o.get("members", [])),
            )
            for o in seed.get("organizations", [])
        },
        sites={
            s["name"]: Site(
                s["name"], s["org"], (s.get("products") or {}).get("jira"), s.get("sandbox", False)
            )
            for s in seed.get("sites", [])
        },
        subscriptions={
            s["id"]: Subscription(
                id=s["id"],
                billing_account=s["billing_account"],
                product=s["product"],
                status=s.get("status", "active"),
                start_date=_date(s.get("start_date")),
                term_end=_date(s.get("term_end")),
                apps=dict(s.get("apps", {})),
                migration=s.get("migration", False),
                deactivated_on=_date(s.get("deactivated_on")),
                pending=dict(s.get("pending", {})),
            )
            for s in seed.get("subscriptions", [])
        },
        retired_site_names=frozenset(seed.get("retired_site_names", [])),
    )


def desired(
    sites: list[dict[str, Any]] | None = None, subscriptions: list[dict[str, Any]] | None = None
) -> DesiredState:
    """DesiredState from the desired-state format's `sites` and `subscriptions` lists."""
    return DesiredState(
        sites={
            s["name"]: DesiredSite(
                s["name"], s["org"], s.get("create", False), at(f"{s['name']}/name"), at(f"{s['name']}/org")
            )
            for s in sites or []
        },
        subscriptions={s["id"]: _subscription(s) for s in subscriptions or []},
        files=("desired.yaml",),
        digest="sha256:" + "0" * 64,
    )


def _subscription(s: dict[str, Any]) -> DesiredSubscription:
    sub = s["id"]
    apps = tuple(
        DesiredApp(app, spec["site"], at(f"{sub}/apps/{app}"), at(f"{sub}/apps/{app}/site"))
        for app, spec in s.get("apps", {}).items()
    )
    return DesiredSubscription(
        id=sub,
        status=s.get("status", "active"),
        apps=apps,
        billing_account=s.get("billing_account"),
        product=s.get("product"),
        origin=at(f"{sub}/id"),
        status_origin=at(f"{sub}/status" if "status" in s else f"{sub}/id"),
        billing_account_origin=at(f"{sub}/billing_account") if "billing_account" in s else None,
        product_origin=at(f"{sub}/product") if "product" in s else None,
    )
