"""The console's own rules, applied to what a seed declares live.

A seed describes a console that already exists, so everything it puts live must be something the
console itself would have allowed: an app on a site only where `premium-site`, `partner-in-org` and
`one-per-org` hold. The checks are the console's functions (rules.py), called on the seed's values,
so the seed and the console can never disagree about a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from reconciler.errors import ProviderError
from reconciler.model import BillingAccount, Organization, Site, Status, Subscription
from reconciler.sandbox import rules

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Breach:
    """A rule a seed breaks, and where: the app that should not be where the seed put it."""

    rule: str
    message: str
    path: YamlPath


@dataclass(frozen=True, slots=True)
class LiveApp:
    subscription: Subscription
    app: str
    site: Site
    path: YamlPath


def live_apps(
    subscriptions: list[Subscription], sites: dict[str, Site], declared_at: dict[str, int]
) -> Iterator[LiveApp]:
    """Every app the seed puts on a declared site, for a subscription that is not deleted."""
    for sub in subscriptions:
        if sub.status == Status.DELETED:
            continue
        for app, name in sub.apps.items():
            if name is not None and name in sites:
                path: YamlPath = ("subscriptions", declared_at[sub.id], "apps", app)
                yield LiveApp(sub, app, sites[name], path)


def breaches(
    apps: list[LiveApp],
    accounts: dict[str, BillingAccount],
    orgs: dict[str, Organization],
    locate: Callable[[YamlPath], object],
) -> list[Breach]:
    """Every console rule broken by an app the seed puts live, in the order the apps are declared."""
    found: list[Breach] = []
    holders: dict[tuple[str, str], LiveApp] = {}
    for live in apps:
        if live.subscription.status == Status.UPCOMING:
            message = (
                f"{live.subscription.id} is upcoming: its apps can be on a site only from its start date "
                f"({live.subscription.start_date})"
            )
            found.append(Breach("status", message, live.path))
            continue
        for check in (_premium_site, _partner_in_org):
            refusal = check(live, accounts, orgs)
            if refusal is not None:
                found.append(Breach(refusal.code, refusal.message, live.path))
        first = holders.setdefault((live.site.org, live.app), live)
        if first is not live:
            message = rules.one_per_org_message(
                live.site.org, live.app, first.subscription.id, first.site.name
            )
            found.append(Breach("one-per-org", f"{message} (at {locate(first.path)})", live.path))
    return found


def _premium_site(
    live: LiveApp, accounts: dict[str, BillingAccount], orgs: dict[str, Organization]
) -> ProviderError | None:
    target = rules.SiteRow(live.site.name, live.site.org, live.site.jira, live.site.sandbox)
    return _refusal(lambda: rules.require_premium_site(target, live.app))


def _partner_in_org(
    live: LiveApp, accounts: dict[str, BillingAccount], orgs: dict[str, Organization]
) -> ProviderError | None:
    account, org = accounts.get(live.subscription.billing_account), orgs.get(live.site.org)
    if account is None or org is None or account.partner is None:  # reported where it is made
        return None
    row = rules.AccountRow(account.id, account.managed_by, account.partner, account.billing_admins)
    return _refusal(lambda: rules.require_partner_admin_in(row, org.id, org.admins | org.members))


def _refusal(check: Callable[[], None]) -> ProviderError | None:
    try:
        check()
    except ProviderError as refusal:
        return refusal
    return None
