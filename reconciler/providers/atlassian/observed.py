"""What the Admin API showed, completed by the declared billing facts: one `Console`.

Observed: organizations, sites (each workspace's `hostUrl`), whether a site hosts Jira, sandbox
children, and where each Strategy Collection app runs (its workspace). Declared: subscriptions,
billing accounts and their admins, the people of each organization, Jira editions, retired names.
Everything declared is recorded in `Console.declared`, so the plan can say which decisions rest on
it. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping

from reconciler.adminwire import DEFAULT_APP_TYPE_KEYS, DEFAULT_JIRA_TYPE_KEYS, Org, Workspace
from reconciler.loading.facts import BillingFacts, SubscriptionFact
from reconciler.model import (
    JIRA_UNDECLARED,
    PRODUCT_APPS,
    BillingAccount,
    Console,
    DeclaredFact,
    Organization,
    Site,
    Status,
    Subscription,
    fact_key,
)

#: A subscription in one of these statuses may own a workspace: its apps are (or were) on a site.
_HOLDS_APPS = frozenset({Status.ACTIVE, Status.CANCELLED, Status.DEACTIVATED})


def build_console(
    orgs: Iterable[Org],
    workspaces: Mapping[str, list[Workspace]],
    facts: BillingFacts,
    *,
    now: dt.date,
    actor: str | None,
) -> Console:
    builder = _Builder(facts)
    organizations = {org.id: builder.organization(org) for org in orgs}
    sites = builder.sites(workspaces)
    subscriptions = builder.subscriptions(workspaces, sites)
    accounts = {a.id: builder.account(a.id) for a in facts.accounts.values()}
    people = {actor} if actor else set()
    for account in accounts.values():
        people |= account.billing_admins
    for org in organizations.values():
        people |= org.admins | org.members
    builder.retired()
    return Console(
        now=now,
        actor=actor,
        users=frozenset(people),
        billing_accounts=accounts,
        organizations=organizations,
        sites=sites,
        subscriptions=subscriptions,
        retired_site_names=facts.retired_site_names,
        declared=dict(sorted(builder.declared.items())),
        notes=tuple(builder.notes),
        provenance=_provenance(organizations, sites, workspaces, facts),
    )


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _provenance(
    orgs: Mapping[str, Organization],
    sites: Mapping[str, Site],
    workspaces: Mapping[str, list[Workspace]],
    facts: BillingFacts,
) -> tuple[str, ...]:
    instances = sum(len(found) for found in workspaces.values())
    observed = (
        f"observed: {_count(len(orgs), 'organization')}, {_count(len(sites), 'site')}, "
        f"{_count(instances, 'workspace')} (the Admin API)"
    )
    declared = (
        f"declared: {_count(len(facts.subscriptions), 'subscription')}, "
        f"{_count(len(facts.accounts), 'billing account')}, "
        f"the people of {_count(len(facts.organizations), 'organization')}, "
        f"{_count(len(facts.site_jira), 'Jira edition')} ({', '.join(facts.files)})"
    )
    return (observed, declared)


def _people(emails: frozenset[str]) -> str:
    return ", ".join(sorted(emails)) or "none"


class _Builder:
    def __init__(self, facts: BillingFacts) -> None:
        self.facts = facts
        self.declared: dict[str, DeclaredFact] = {}
        self.notes: list[str] = []
        keys = {**DEFAULT_APP_TYPE_KEYS, **facts.type_keys}
        self.app_of_type = {type_key: app for app, type_key in keys.items()}

    def organization(self, org: Org) -> Organization:
        people = self.facts.organizations.get(org.id)
        key = fact_key("org-people", org.id)
        if people is None:
            self.declared[key] = DeclaredFact(f"org {org.id}: no admins or members declared", None)
            return Organization(org.id, org.name, frozenset(), frozenset())
        text = f"org {org.id}: admins {_people(people.admins)}; members {_people(people.members)}"
        self.declared[key] = DeclaredFact(text, people.origin.span())
        return Organization(org.id, org.name, people.admins, people.members)

    def account(self, account_id: str) -> BillingAccount:
        account = self.facts.accounts[account_id]
        managed = f"managed by partner {account.partner}" if account.managed_by == "partner" else "direct"
        text = f"billing account {account.id}: {managed}, billing admins {_people(account.billing_admins)}"
        self.declared[fact_key("billing-account", account.id)] = DeclaredFact(text, account.origin.span())
        return BillingAccount(account.id, account.managed_by, account.partner, account.billing_admins)

    def retired(self) -> None:
        names = self.facts.retired_site_names
        origin = self.facts.retired_origin
        text = (
            f"retired site names: {', '.join(sorted(names))}" if names else "no retired site names declared"
        )
        self.declared[fact_key("retired-site-names")] = DeclaredFact(text, origin.span() if origin else None)

    # --- sites ------------------------------------------------------------------------------------------

    def sites(self, workspaces: Mapping[str, list[Workspace]]) -> dict[str, Site]:
        org_of: dict[str, str] = {}
        has_jira: set[str] = set()
        child: set[str] = set()
        for org_id in sorted(workspaces):
            for workspace in workspaces[org_id]:
                site = workspace.site
                if site is None:
                    continue  # a product that is not on a <name>.atlassian.net site
                org_of.setdefault(site, org_id)
                if workspace.type_key in DEFAULT_JIRA_TYPE_KEYS:
                    has_jira.add(site)
                if workspace.sandbox_child:
                    child.add(site)
        sites = {
            name: Site(name, org, self._jira(name, name in has_jira), name in child)
            for name, org in org_of.items()
        }
        for name in sorted(set(self.facts.site_jira) - has_jira):
            edition = self.facts.site_jira[name][0]
            self.notes.append(
                f"the billing facts declare Jira {edition.capitalize()} on {name}, but no Jira workspace is "
                f"observed there; the plan treats {name} as having no Jira"
            )
        return dict(sorted(sites.items()))

    def _jira(self, site: str, observed: bool) -> str | None:
        if not observed:
            return None
        key = fact_key("site-jira", site)
        declared = self.facts.site_jira.get(site)
        if declared is None:
            self.declared[key] = DeclaredFact(f"site {site}: Jira edition not declared", None)
            return JIRA_UNDECLARED
        edition, origin = declared
        self.declared[key] = DeclaredFact(f"site {site}: Jira {edition.capitalize()}", origin.span())
        return edition

    # --- subscriptions and the workspaces they own --------------------------------------------------------

    def subscriptions(
        self, workspaces: Mapping[str, list[Workspace]], sites: Mapping[str, Site]
    ) -> dict[str, Subscription]:
        placed: dict[str, dict[str, str | None]] = {
            sub.id: dict.fromkeys(PRODUCT_APPS[sub.product]) for sub in self.facts.subscriptions.values()
        }
        instances = {
            (site, self.app_of_type[w.type_key])
            for ws in workspaces.values()
            for w in ws
            if (site := w.site) is not None and site in sites and w.type_key in self.app_of_type
        }
        unclaimed = self._claim_declared(placed, instances)
        self._claim_observed(placed, unclaimed)
        return {
            sub.id: self._subscription(sub, placed[sub.id])
            for sub in sorted(self.facts.subscriptions.values(), key=lambda s: s.id)
        }

    def _claim_declared(
        self, placed: dict[str, dict[str, str | None]], instances: set[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """Workspaces the facts attribute (`apps:`) go to their subscription; the rest are returned."""
        for sub in self.facts.subscriptions.values():
            for app, site in (sub.apps or {}).items():
                if site is None:
                    continue
                if (site, app) in instances:
                    instances.discard((site, app))
                    placed[sub.id][app] = site
                    text = f"{app} of {sub.id} is the {app} workspace on {site}"
                    self.declared[fact_key("placement", f"{sub.id}:{app}")] = DeclaredFact(
                        text, sub.origin.span()
                    )
                else:
                    self.notes.append(
                        f"the billing facts put {app} of {sub.id} on {site}, but no {app} workspace is "
                        f"observed there; the plan treats it as not provisioned"
                    )
        return sorted(instances)

    def _claim_observed(
        self, placed: dict[str, dict[str, str | None]], unclaimed: list[tuple[str, str]]
    ) -> None:
        """An unattributed workspace belongs to the one subscription that can hold it, if only one can."""
        waiting: dict[str, list[SubscriptionFact]] = defaultdict(list)
        for sub in sorted(self.facts.subscriptions.values(), key=lambda s: s.id):
            if sub.status not in _HOLDS_APPS:
                continue
            for app in PRODUCT_APPS[sub.product]:
                if (sub.apps or {}).get(app) is None:
                    waiting[app].append(sub)
        for site, app in unclaimed:
            candidates = [s for s in waiting[app] if placed[s.id][app] is None]
            if len(candidates) == 1:
                placed[candidates[0].id][app] = site
            elif candidates:
                owners = " or ".join(s.id for s in candidates)
                self.notes.append(
                    f"the {app} workspace on {site} could belong to {owners}; say which under apps: in the "
                    f"billing facts"
                )
            else:
                self.notes.append(
                    f"a {app} workspace is observed on {site}, but no declared subscription accounts for it"
                )

    def _subscription(self, sub: SubscriptionFact, apps: dict[str, str | None]) -> Subscription:
        text = f"{sub.id}: {sub.product}, {sub.status}, billing account {sub.billing_account}"
        self.declared[fact_key("subscription", sub.id)] = DeclaredFact(text, sub.origin.span())
        return Subscription(
            id=sub.id,
            billing_account=sub.billing_account,
            product=sub.product,
            status=sub.status,
            start_date=sub.start_date,
            term_end=sub.term_end,
            apps=apps,
            migration=sub.migration,
            deactivated_on=sub.deactivated_on,
        )
