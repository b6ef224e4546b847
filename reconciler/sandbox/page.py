"""`reconciler sandbox show`: the console as its Subscriptions page shows it, or as JSON.

Text fits in 100 columns: subscriptions grouped by tab (active, upcoming, cancelled,
deactivated, deleted), one line per app, then billing accounts and organizations with their sites.
Every name in it comes from a seed, so the text shows each through `visible`: a terminal is
never handed an escape sequence or a line break to act on, nor a name of megabytes (past 200
characters, its start and how many more). JSON is for programs and keeps them whole.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.model import PRODUCT_APPS, BillingAccount, Console, Organization, Status, Subscription
from reconciler.terminal import plural, visible

WIDTH = 100

PRODUCT_NAMES = {
    "strategy-collection": "Strategy Collection",
    "jira-align": "Jira Align",
    "focus": "Focus",
    "talent": "Talent",
}
TABS = (Status.ACTIVE, Status.UPCOMING, Status.CANCELLED, Status.DEACTIVATED, Status.DELETED)


@dataclass(frozen=True, slots=True)
class ConsolePage:
    """What the page shows: the observed console and the sandbox's own settings."""

    source: str
    console: Console
    users: tuple[str, ...]  # in seed order; the first is the default actor
    default_actor: str | None
    delay: float
    pending_sites: Mapping[str, str]  # name -> org, creation not completed yet


def site_url(name: str) -> str:
    return f"{visible(name)}.atlassian.net"


def _wrapped(label: str, values: Iterable[str], indent: int) -> list[str]:
    text = ", ".join(visible(value) for value in values) or "none"
    lead = " " * indent
    return textwrap.wrap(
        f"{label}{text}",
        width=WIDTH,
        initial_indent=lead,
        subsequent_indent=lead + " " * len(label),
        break_on_hyphens=False,
        break_long_words=False,
    )


# --- text ------------------------------------------------------------------------------------------


def render_text(page: ConsolePage) -> str:
    console = page.console
    lines = [
        f"Sandbox console {visible(page.source)}",
        f"Clock: {console.now.isoformat()}    Default actor: {visible(page.default_actor or 'none')}"
        f"    Provisioning delay: {page.delay:g} s",
        "",
        "Subscriptions",
    ]
    lines.extend(_subscription_tabs(console))
    lines += ["", "Billing accounts"]
    lines.extend(_account_line(console.billing_accounts[key]) for key in sorted(console.billing_accounts))
    lines += ["", "Organizations"]
    for key in sorted(console.organizations):
        lines.extend(_organization_lines(page, console.organizations[key]))
    lines.append("")
    lines.extend(_wrapped("Users: ", _users(page), 0))
    lines.extend(_wrapped("Retired site names: ", sorted(console.retired_site_names), 0))
    return "\n".join(lines) + "\n"


def _users(page: ConsolePage) -> list[str]:
    return [f"{user} (default actor)" if user == page.default_actor else user for user in page.users]


def _subscription_tabs(console: Console) -> list[str]:
    lines: list[str] = []
    ordered = [console.subscriptions[key] for key in sorted(console.subscriptions)]
    for tab in TABS:
        subs = [sub for sub in ordered if sub.status == tab]
        if not subs:
            continue
        lines.append(f"  {str(tab).capitalize()} ({len(subs)})")
        for sub in subs:
            lines.extend(_subscription_lines(console, sub))
    if not lines:
        lines.append("  none")
    return lines


def _status_text(now: dt.date, sub: Subscription) -> str:
    def day(value: dt.date | None) -> str:
        return value.isoformat() if value is not None else "an unknown date"

    if sub.status == Status.UPCOMING:
        if sub.start_date is None:
            return "starts on an unknown date"
        days = (sub.start_date - now).days
        return f"starts in {plural(days, 'day')} ({sub.start_date.isoformat()})"
    if sub.status == Status.ACTIVE:
        return f"renews on {day(sub.term_end)}"
    if sub.status == Status.CANCELLED:
        return f"usable until {day(sub.term_end)}, deactivates on {day(sub.deactivation_date)}"
    if sub.status == Status.DEACTIVATED:
        return f"deactivated on {day(sub.deactivated_on)}, data deleted on {day(sub.deletion_date)}"
    return "data deleted"


def _account_text(console: Console, sub: Subscription) -> str:
    account = console.billing_accounts.get(sub.billing_account)
    if account is None or account.managed_by != "partner":
        return f"{visible(sub.billing_account)}, managed directly"
    return f"{visible(sub.billing_account)}, managed by partner {visible(str(account.partner))}"


def _app_text(sub: Subscription, app: str) -> str:
    pending = sub.pending.get(app)
    if pending is not None:
        return f"provisioning to {site_url(pending)}"
    site = sub.apps.get(app)
    if sub.status == Status.DELETED:
        return "removed"
    if site is None:
        return "Site setup required"
    if sub.status == Status.DEACTIVATED:
        return f"{site_url(site)} (off)"
    return site_url(site)


def _subscription_lines(console: Console, sub: Subscription) -> list[str]:
    pad = " " * 14
    head = f"    {visible(sub.id):<8}  {_product_name(sub.product)}   {_status_text(console.now, sub)}"
    lines = [head, f"{pad}{_account_text(console, sub)}"]
    if sub.migration:
        lines.append(f"{pad}migration: Atlassian provisions its apps")
    apps = [app for app in PRODUCT_APPS.get(sub.product, ()) if app in sub.apps or app in sub.pending]
    apps += sorted(set(sub.apps) - set(apps))
    for app in apps:
        lines.append(f"{pad}{_product_name(app):<11}  {_app_text(sub, app)}")
    return lines


def _product_name(product: str) -> str:
    return PRODUCT_NAMES.get(product) or visible(product)


def _account_line(account: BillingAccount) -> str:
    managed = (
        "managed directly"
        if account.managed_by != "partner"
        else f"managed by partner {visible(str(account.partner))}"
    )
    admins = ", ".join(visible(admin) for admin in sorted(account.billing_admins)) or "none"
    return f"  {visible(account.id)}  {managed}; billing admins: {admins}"


def _organization_lines(page: ConsolePage, org: Organization) -> list[str]:
    shown = visible(org.id)
    lines = [f"  {shown}  {visible(org.name)}" if org.name != org.id else f"  {shown}"]
    lines += _wrapped("admins: ", sorted(org.admins), 4)
    lines += _wrapped("members: ", sorted(org.members), 4)
    sites = [site for site in page.console.sites.values() if site.org == org.id]
    creating = sorted(name for name, owner in page.pending_sites.items() if owner == org.id)
    width = max((len(site_url(name)) for name in [s.name for s in sites] + creating), default=0)
    for site in sorted(sites, key=lambda s: s.name):
        plan = f"Jira {visible(site.jira.capitalize())}" if site.jira else "no Jira"
        suffix = ", sandbox" if site.sandbox else ""
        lines.append(f"    {site_url(site.name):<{width}}   {plan}{suffix}")
    for name in creating:
        lines.append(f"    {site_url(name):<{width}}   being created")
    if not sites and not creating:
        lines.append("    no sites")
    return lines


# --- JSON ------------------------------------------------------------------------------------------


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _subscription_json(sub: Subscription) -> dict[str, object]:
    return {
        "id": sub.id,
        "billing_account": sub.billing_account,
        "product": sub.product,
        "status": sub.status,
        "start_date": _iso(sub.start_date),
        "term_end": _iso(sub.term_end),
        "deactivated_on": _iso(sub.deactivated_on),
        "migration": sub.migration,
        "apps": dict(sorted(sub.apps.items())),
        "pending": dict(sorted(sub.pending.items())),
    }


def render_json(page: ConsolePage) -> str:
    """The whole state as JSON, in the seed's vocabulary. Tokens never leave the database."""
    console = page.console
    document = {
        "source": page.source,
        "now": console.now.isoformat(),
        "default_actor": page.default_actor,
        "provisioning_delay_seconds": page.delay,
        "users": [{"email": email} for email in page.users],
        "billing_accounts": [
            {
                "id": a.id,
                "managed_by": a.managed_by,
                "partner": a.partner,
                "billing_admins": sorted(a.billing_admins),
            }
            for a in (console.billing_accounts[k] for k in sorted(console.billing_accounts))
        ],
        "organizations": [
            {"id": o.id, "name": o.name, "admins": sorted(o.admins), "members": sorted(o.members)}
            for o in (console.organizations[k] for k in sorted(console.organizations))
        ],
        "sites": [
            {
                "name": s.name,
                "org": s.org,
                "products": {"jira": s.jira} if s.jira else {},
                "sandbox": s.sandbox,
            }
            for s in (console.sites[k] for k in sorted(console.sites))
        ],
        "pending_sites": [{"name": name, "org": org} for name, org in sorted(page.pending_sites.items())],
        "subscriptions": [
            _subscription_json(console.subscriptions[k]) for k in sorted(console.subscriptions)
        ],
        "retired_site_names": sorted(console.retired_site_names),
    }
    return json.dumps(document, indent=2) + "\n"
