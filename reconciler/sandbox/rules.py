"""The console's own rule checks (docs/rules.md), run inside the transaction of the write they guard.

Each check reads exactly what it needs with an indexed query and raises
`ProviderError(code=<rule id>)` with a message that names the facts. They know nothing of plans:
the console refuses a request that breaks a rule, whoever sends it.
"""

from __future__ import annotations

import sqlite3

from msgspec import Struct

from reconciler.errors import ProviderError
from reconciler.model import PREMIUM_APPS, PREMIUM_PLANS, PRODUCT_APPS, SITE_NAME, App, Status
from reconciler.sandbox import columns

SITE_NAME_RULE = "3 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit"
ACTOR_HINT = "act as another user with --actor or RECONCILER_ACTOR"


class SubscriptionRow(Struct, frozen=True):
    id: str
    billing_account: str
    product: str
    status: str
    start_date: str | None
    term_end: str | None
    migration: bool
    deactivated_on: str | None


class SiteRow(Struct, frozen=True):
    name: str
    org: str
    jira: str | None
    sandbox: bool


def refuse(code: str, message: str, hint: str | None = None) -> ProviderError:
    return ProviderError(message, code=code, hint=hint)


def _listing(values: list[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def valid_site_name(name: str) -> bool:
    return 3 <= len(name) <= 63 and SITE_NAME.fullmatch(name) is not None


#: made once: a set built from the enum on every write showed in the server's profile
_APPS = frozenset(App)


def known_app(app: str) -> None:
    if app not in _APPS:
        known = ", ".join(str(a) for a in App)
        raise refuse("invalid-request", f"{app!r} is not an app (the apps are {known})")


# --- reading what a check needs --------------------------------------------------------------------


def subscription(db: sqlite3.Connection, sub_id: str) -> SubscriptionRow:
    row = db.execute(
        "SELECT id, billing_account, product, status, start_date, term_end, migration, deactivated_on"
        " FROM subscriptions WHERE id = ?",
        (sub_id,),
    ).fetchone()
    if row is None:
        raise refuse("unknown-subscription", f"subscription {sub_id} does not exist in this console")
    # The row a write acts on is checked as a read checks it: a value no console writes is damage.
    product, status = columns.PRODUCTS[row[2]], columns.STATUSES[row[3]]
    migration = columns.MIGRATIONS[row[6]]
    return SubscriptionRow(row[0], row[1], product, status, row[4], row[5], migration, row[7])


def site(db: sqlite3.Connection, name: str) -> SiteRow | None:
    row = db.execute("SELECT name, org, jira, sandbox FROM sites WHERE name = ?", (name,)).fetchone()
    return None if row is None else SiteRow(row[0], row[1], columns.JIRA[row[2]], columns.SANDBOXES[row[3]])


def pending_site_creation(db: sqlite3.Connection, name: str) -> tuple[str, str] | None:
    """(operation id, org) of a creation of site `name` that has not completed yet."""
    row = db.execute(
        "SELECT id, org FROM operations WHERE site = ? AND status = 'pending' AND kind = 'create-site'",
        (name,),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def pending_provision(db: sqlite3.Connection, sub_id: str, app: str) -> tuple[str, str] | None:
    """(operation id, target site) of a provisioning of this app that has not completed yet."""
    row = db.execute(
        "SELECT id, site FROM operations"
        " WHERE subscription = ? AND app = ? AND status = 'pending' AND kind = 'provision'",
        (sub_id, app),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def _emails(db: sqlite3.Connection, sql: str, key: str) -> list[str]:
    return [email for (email,) in db.execute(sql, (key,))]


# --- the rules -----------------------------------------------------------------------------------


def _require_actor_among(rule: str, actor: str | None, admins: list[str], role: str, listed: str) -> None:
    if actor in admins:
        return
    who = f"nobody is acting: {role} must make this request" if actor is None else f"{actor} is not {role}"
    raise refuse(rule, f"{who} ({listed}: {_listing(admins)})", ACTOR_HINT)


def require_billing_admin(db: sqlite3.Connection, actor: str | None, sub: SubscriptionRow) -> None:
    account = sub.billing_account
    admins = _emails(db, "SELECT email FROM billing_admins WHERE account = ?", account)
    _require_actor_among(
        "billing-admin", actor, admins, f"a billing admin of {account}", "its billing admins"
    )


def require_org_admin(db: sqlite3.Connection, actor: str | None, org: str) -> None:
    admins = _emails(db, "SELECT email FROM org_users WHERE org = ? AND role = 'admin'", org)
    _require_actor_among("org-admin", actor, admins, f"an admin of org {org}", "its admins")


def require_org(db: sqlite3.Connection, org: str) -> None:
    if db.execute("SELECT 1 FROM organizations WHERE id = ?", (org,)).fetchone() is None:
        raise refuse("site-org", f"org {org} does not exist in this console")


def require_app_in_product(sub: SubscriptionRow, app: str) -> None:
    apps = PRODUCT_APPS.get(sub.product, ())
    if app not in apps:
        listed = ", ".join(str(a) for a in apps)
        raise refuse(
            "app-in-product", f"{app} is not an app of {sub.id} (product {sub.product} has: {listed})"
        )


def require_not_migration(sub: SubscriptionRow) -> None:
    if sub.migration:
        raise refuse(
            "migration",
            f"{sub.id} is a migration to the Strategy Collection: Atlassian provisions its apps",
        )


def require_provisionable_status(sub: SubscriptionRow) -> None:
    if sub.status == Status.ACTIVE:
        return
    if sub.status == Status.DELETED:
        raise refuse("retention", f"{sub.id} was deleted: its data is gone")
    if sub.status == Status.UPCOMING:
        message = f"{sub.id} is upcoming: its apps can be provisioned from its start date ({sub.start_date})"
    else:
        message = f"{sub.id} is {sub.status}: reactivate it before provisioning its apps"
    raise refuse("conflict", message)


def require_live_site(db: sqlite3.Connection, name: str) -> SiteRow:
    found = site(db, name)
    if found is not None:
        return found
    pending = pending_site_creation(db, name)
    if pending is not None:
        message = f"site {name} is still being created (operation {pending[0]}); wait for it to complete"
        raise refuse("site-exists", message)
    raise refuse("site-exists", f"site {name} does not exist", "create it first, or pick a live site")


def require_premium_site(target: SiteRow, app: str) -> None:
    if app not in PREMIUM_APPS:
        return
    needs = f"{app} needs a site with Jira Premium or Enterprise"
    if target.sandbox:
        raise refuse("premium-site", f"{needs}; {target.name} is a sandbox site")
    if target.jira is None:
        raise refuse("premium-site", f"{needs}; {target.name} has no Jira")
    if target.jira not in PREMIUM_PLANS:
        raise refuse("premium-site", f"{needs}; {target.name} has Jira {target.jira.capitalize()}")


def one_per_org_message(org: str, app: str, holder: str, holder_site: str) -> str:
    return f"org {org} already has {app}: {holder} on {holder_site}"


def require_one_per_org(db: sqlite3.Connection, target: SiteRow, app: str, sub_id: str) -> None:
    """No other subscription that is not deleted has this app, live or pending, in the site's org."""
    live = db.execute(
        "SELECT a.subscription, a.site FROM subscription_apps a"
        " JOIN sites s ON s.name = a.site JOIN subscriptions u ON u.id = a.subscription"
        " WHERE s.org = ? AND a.app = ? AND a.subscription != ? AND u.status != 'deleted'"
        " ORDER BY a.subscription LIMIT 1",
        (target.org, app, sub_id),
    ).fetchone()
    if live is not None:
        raise refuse("one-per-org", one_per_org_message(target.org, app, live[0], live[1]))
    pending = db.execute(
        "SELECT o.subscription, o.site FROM operations o JOIN sites s ON s.name = o.site"
        " WHERE o.status = 'pending' AND o.kind = 'provision' AND s.org = ? AND o.app = ?"
        " AND o.subscription != ? ORDER BY o.subscription LIMIT 1",
        (target.org, app, sub_id),
    ).fetchone()
    if pending is not None:
        message = f"org {target.org} already has {app}: {pending[0]} is being provisioned to {pending[1]}"
        raise refuse("one-per-org", message)


class AccountRow(Struct, frozen=True):
    id: str
    managed_by: str
    partner: str | None
    billing_admins: frozenset[str]


def require_partner_admin_in(account: AccountRow, org: str, org_users: frozenset[str]) -> None:
    """Partner-managed: one of the account's billing admins is a member or admin of the org."""
    if account.managed_by != "partner" or account.billing_admins & org_users:
        return
    raise refuse(
        "partner-in-org",
        f"{account.id} is managed by partner {account.partner} and none of its billing admins "
        f"({_listing(list(account.billing_admins))}) is a member or admin of org {org}",
        f"add a billing admin of {account.id} to org {org} first",
    )


def require_partner_in_org(db: sqlite3.Connection, account: str, org: str) -> None:
    row = db.execute("SELECT managed_by, partner FROM billing_accounts WHERE id = ?", (account,)).fetchone()
    if row is None or columns.MANAGED_BY[row[0]] != "partner":
        return  # the rule holds for a direct account: its admins and the org's users are not read
    admins = _emails(db, "SELECT email FROM billing_admins WHERE account = ?", account)
    org_users = _emails(db, "SELECT email FROM org_users WHERE org = ?", org)
    require_partner_admin_in(
        AccountRow(account, row[0], row[1], frozenset(admins)), org, frozenset(org_users)
    )


def require_new_site_name(db: sqlite3.Connection, name: str) -> None:
    if not valid_site_name(name):
        raise refuse("site-name", f"site name {name!r} is invalid: {SITE_NAME_RULE}")
    if db.execute("SELECT 1 FROM retired_site_names WHERE name = ?", (name,)).fetchone():
        raise refuse("site-name", f"site name {name} is retired: a name once used is never reused")
    live = site(db, name)
    if live is not None:
        raise refuse("site-name", f"site {name} already exists (in org {live.org})")
