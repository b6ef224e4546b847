"""Reading the whole console in one transaction: a handful of SELECTs, rows straight into values.

No query per row: ten thousand subscriptions cost the same eight statements as ten. Every column
with a fixed set of values is read through its `columns.Vocabulary`: a value no console writes is
damage, found at the cost of the dict lookup that sharing one object per value takes anyway.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict

from reconciler.gc_pause import cycle_collector_paused
from reconciler.model import Action, BillingAccount, Console, InProgress, Organization, Site, Subscription
from reconciler.sandbox import columns
from reconciler.sandbox.damage import stored_values


def read_meta(db: sqlite3.Connection) -> dict[str, str]:
    return dict(db.execute("SELECT key, value FROM meta").fetchall())


class _Shared(dict[str, str]):
    """One string object per distinct value of a column with few of them (a product, a status,
    a billing account, an app): the database gives a new object per row, ~55 bytes each."""

    def __missing__(self, text: str) -> str:
        self[text] = text
        return text


class _Dates(dict[str | None, dt.date | None]):
    """Parsed dates by their text: an estate shares few distinct dates among many rows."""

    def __missing__(self, text: str | None) -> dt.date | None:
        day = self[text] = None if text is None else dt.date.fromisoformat(text)
        return day


def _billing_accounts(db: sqlite3.Connection) -> dict[str, BillingAccount]:
    admins: defaultdict[str, set[str]] = defaultdict(set)
    for account, email in db.execute("SELECT account, email FROM billing_admins"):
        admins[account].add(email)
    managed = columns.MANAGED_BY
    return {
        account: BillingAccount(account, managed[managed_by], partner, frozenset(admins[account]))
        for account, managed_by, partner in db.execute(
            "SELECT id, managed_by, partner FROM billing_accounts ORDER BY id"
        )
    }


def _organizations(db: sqlite3.Connection) -> dict[str, Organization]:
    admins: defaultdict[str, list[str]] = defaultdict(list)
    members: defaultdict[str, list[str]] = defaultdict(list)
    # One read of every role: a role that is neither is damage, not a user silently left out.
    roles = columns.Vocabulary("org_users.role", {"admin": admins, "member": members})
    for org, email, role in db.execute("SELECT org, email, role FROM org_users"):
        roles[role][org].append(email)
    groups = _Groups()
    return {
        org: Organization(org, name, groups[tuple(admins[org])], groups[tuple(members[org])])
        for org, name in db.execute("SELECT id, name FROM organizations ORDER BY id").fetchall()
    }


class _Groups(dict[tuple[str, ...], frozenset[str]]):
    """One frozenset per distinct group of users: most orgs share their admins (and members), and
    a set costs ~200 bytes, so an estate of 100,000 orgs keeps a few hundred instead of 200,000."""

    def __missing__(self, emails: tuple[str, ...]) -> frozenset[str]:
        group = self[emails] = frozenset(emails)
        return group


def _subscriptions(db: sqlite3.Connection) -> dict[str, Subscription]:
    apps: defaultdict[str, dict[str, str | None]] = defaultdict(dict)
    app_names = columns.APPS
    for sub, app, site in db.execute("SELECT subscription, app, site FROM subscription_apps"):
        apps[sub][app_names[app]] = site
    pending: defaultdict[str, dict[str, str]] = defaultdict(dict)
    pending_apps = columns.PENDING_APPS
    for sub, app, site in db.execute(
        "SELECT subscription, app, site FROM operations WHERE status = 'pending' AND kind = 'provision'"
    ):
        pending[sub][pending_apps[app]] = site
    shared = _Shared()
    products, statuses, migrations = columns.PRODUCTS, columns.STATUSES, columns.MIGRATIONS
    dates = _Dates()
    no_pending: dict[str, str] = {}
    return {
        sub: Subscription(
            sub,
            shared[account],
            products[product],
            statuses[status],
            dates[start],
            dates[term_end],
            apps[sub],
            migrations[migration],
            dates[deactivated_on],
            pending.get(sub, no_pending),
        )
        for sub, account, product, status, start, term_end, migration, deactivated_on in db.execute(
            "SELECT id, billing_account, product, status, start_date, term_end, migration, deactivated_on"
            " FROM subscriptions ORDER BY id"
        )
    }


def _in_progress(db: sqlite3.Connection) -> tuple[InProgress, ...]:
    """The asynchronous operations not completed yet (an estate has a handful, not thousands)."""
    return tuple(
        InProgress(
            Action(kind),
            subscription,
            app,
            site,
            org,
            op_id,
            dt.datetime.fromtimestamp(created, dt.UTC).replace(microsecond=0),
        )
        for op_id, kind, subscription, app, site, org, created in db.execute(
            "SELECT id, kind, subscription, app, site, org, created FROM operations"
            " WHERE status = 'pending' ORDER BY created, id"
        )
    )


def read_console(db: sqlite3.Connection, actor: str | None) -> Console:
    """The whole state; the caller holds one read transaction around it.

    A value the console never writes (a date that is no date, an unknown operation kind) fails
    the whole read as damage: caught once around it, not checked row by row.
    """
    with cycle_collector_paused(), stored_values():
        return _read_console(db, actor)


def _read_console(db: sqlite3.Connection, actor: str | None) -> Console:
    meta = read_meta(db)
    plans, sandboxes = columns.JIRA, columns.SANDBOXES
    return Console(
        now=dt.date.fromisoformat(meta["now"]),
        actor=actor,
        users=frozenset(email for (email,) in db.execute("SELECT email FROM users")),
        billing_accounts=_billing_accounts(db),
        organizations=_organizations(db),
        sites={
            name: Site(name, org, plans[jira], sandboxes[sandbox])
            for name, org, jira, sandbox in db.execute(
                "SELECT name, org, jira, sandbox FROM sites ORDER BY name"
            )
        },
        subscriptions=_subscriptions(db),
        retired_site_names=frozenset(name for (name,) in db.execute("SELECT name FROM retired_site_names")),
        in_progress=_in_progress(db),
    )
