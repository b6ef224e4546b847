"""What the planner knows: desired state and the console, indexed for constant-time questions.

Every question a rule asks ("which org is this site in?", "who already runs focus in this org?")
is answered from dictionaries built once, so planning stays linear in the size of the estate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from msgspec import Struct

from reconciler.model import (
    JIRA_UNDECLARED,
    SITE_NAME,
    Action,
    Console,
    DesiredState,
    Origin,
    Status,
    Subscription,
)


@dataclass(frozen=True, slots=True)
class Finding:
    """A broken rule, before its position is resolved (resolving costs a parse, so it waits)."""

    rule: str
    message: str
    origin: Origin
    subscription: str | None = None
    app: str | None = None
    site: str | None = None
    #: what the broken rule blocks: the action, and the org of its site (None for a subscription's)
    action: Action = field(kw_only=True)
    org: str | None = field(default=None, kw_only=True)


class Target(Struct, frozen=True):
    """A site an app can go to: its org, and whether this plan creates it or the console is creating it."""

    site: str
    org: str
    created: bool
    in_progress: bool = False

    @property
    def new(self) -> bool:
        """The site does not exist yet: what goes on it waits for its creation."""
        return self.created or self.in_progress


class Instance(NamedTuple):
    """An app of a subscription on a site of an org, live or pending (a tuple: there are many)."""

    subscription: str
    site: str


def site_name_problem(name: str, retired: frozenset[str]) -> str | None:
    """Why a new site cannot have this name, or None when it can."""
    if not 3 <= len(name) <= 63:
        return f"site name {name!r} must be 3 to 63 characters long (it has {len(name)})"
    if not SITE_NAME.fullmatch(name):
        return (
            f"site name {name!r} may only use lowercase letters, digits and inner hyphens "
            f"(pattern ^[a-z0-9][a-z0-9-]*[a-z0-9]$)"
        )
    if name in retired:
        return f"site name {name!r} was used before and is retired; retired names are never reused"
    return None


def list_people(people: frozenset[str]) -> str:
    return ", ".join(sorted(people)) if people else "none"


class Facts:
    """Desired state and the console, with the indexes the rules need."""

    def __init__(self, desired: DesiredState, console: Console) -> None:
        self.desired = desired
        self.console = console
        #: sites the console is creating: name -> org (they count as there, without Jira yet)
        self.sites_in_progress = console.sites_in_progress

    def live_instances(self, orgs: Collection[str]) -> Mapping[tuple[str, str], list[Instance]]:
        """(org, app) -> the instances there now, counting pending provisioning, in the given orgs.

        Deleted subscriptions hold none. Only the orgs a plan provisions to are asked about (a few
        percent of a big estate), so only their instances are gathered, in one pass over the console.
        """
        index: dict[tuple[str, str], list[Instance]] = defaultdict(list)
        # The sites in those orgs, by name: then each app of each subscription costs one lookup.
        org_of: dict[str | None, str] = {n: s.org for n, s in self.console.sites.items() if s.org in orgs}
        deleted = Status.DELETED.value
        new = tuple.__new__  # Instance(sub, site) without the NamedTuple's Python-level __new__
        for sub in self.console.subscriptions.values():
            if sub.status == deleted:
                continue
            for app, site in (live_placements(sub) if sub.pending else sub.apps).items():
                org = org_of.get(site)  # None: not on a site of those orgs, or on no site at all
                if org is not None:
                    index[(org, app)].append(new(Instance, (sub.id, site)))
        return index

    def org_of(self, site: str) -> str | None:
        """The org an app sent to `site` would land in: the live site's, else the declared one's."""
        live = self.console.sites.get(site)
        if live is not None:
            return live.org
        declared = self.desired.sites.get(site)
        return None if declared is None else declared.org

    def resolve_site(self, name: str) -> Target | tuple[str, str]:
        """Where an app targeting `name` would land, or (rule, message) saying why it cannot."""
        declared = self.desired.sites.get(name)
        live = self.console.sites.get(name)
        if live is not None:
            if declared is not None and declared.org != live.org:
                return (
                    "site-org",
                    f"site {name} is in org {live.org}, but desired state declares it in org {declared.org}",
                )
            return Target(name, live.org, created=False)
        creating = self.sites_in_progress.get(name)
        if creating is not None:
            if declared is not None and declared.org != creating:
                return (
                    "site-org",
                    f"site {name} is being created in org {creating}, but desired state declares it "
                    f"in org {declared.org}",
                )
            return Target(name, creating, created=False, in_progress=True)
        if declared is None:
            return ("site-exists", f"site {name} does not exist and is not declared with create: true")
        if not declared.create:
            return ("site-exists", f"site {name} does not exist; it is declared without create: true")
        if declared.org not in self.console.organizations:
            return ("site-org", f"site {name} would be created in org {declared.org}, which does not exist")
        problem = site_name_problem(name, self.console.retired_site_names)
        if problem is not None:
            return ("site-name", problem)
        return Target(name, declared.org, created=True)

    # --- the actor's rights ----------------------------------------------------------------------

    def billing_admin_problem(self, sub: Subscription) -> str | None:
        account = self.console.billing_accounts.get(sub.billing_account)
        admins = account.billing_admins if account is not None else frozenset()
        actor = self.console.actor
        if actor is None:
            return (
                f"no acting user is known, so nobody can be checked as a billing admin of "
                f"{sub.billing_account}; set --actor or RECONCILER_ACTOR"
            )
        if actor in admins:
            return None
        admins_now = list_people(admins)
        return f"{actor} is not a billing admin of {sub.billing_account} (its billing admins: {admins_now})"

    def org_admin_problem(self, org_id: str) -> str | None:
        org = self.console.organizations.get(org_id)
        admins = org.admins if org is not None else frozenset()
        actor = self.console.actor
        if actor is None:
            return (
                f"no acting user is known, so nobody can be checked as an admin of org {org_id}; "
                f"set --actor or RECONCILER_ACTOR"
            )
        if actor in admins:
            return None
        return f"{actor} is not an admin of org {org_id} (its admins: {list_people(admins)})"

    # --- the site and the org an app goes to ---------------------------------------------------

    def premium_problem(self, app: str, target: Target) -> str | None:
        needs = f"{app} needs a site with Jira Premium or Enterprise; "
        if target.created:
            return needs + f"{target.site} is created by this plan and has no Jira"
        if target.in_progress:
            return needs + f"{target.site} is being created and has no Jira"
        site = self.console.sites[target.site]
        if site.sandbox:
            return needs + f"{target.site} is a sandbox site"
        if site.jira is None:
            return needs + f"{target.site} has no Jira"
        if site.jira == JIRA_UNDECLARED:
            return needs + (
                f"{target.site} has Jira, but its edition is not declared (the Admin API does not show it); "
                f"declare it under sites: in the billing facts"
            )
        if not site.hosts_premium_jira:
            return needs + f"{target.site} has Jira {site.jira.capitalize()}"
        return None

    def partner_problem(self, sub: Subscription, org_id: str) -> str | None:
        account = self.console.billing_accounts.get(sub.billing_account)
        if account is None or account.managed_by != "partner":
            return None
        org = self.console.organizations.get(org_id)
        people = (org.admins | org.members) if org is not None else frozenset()
        if account.billing_admins & people:
            return None
        partner = account.partner or "a partner"
        return (
            f"{sub.billing_account} is managed by {partner}, and none of its billing admins "
            f"({list_people(account.billing_admins)}) is a member or admin of org {org_id}; "
            f"add one to the org first"
        )


def live_placements(sub: Subscription) -> dict[str, str]:
    """app -> site for every app that is on a site or on its way there."""
    placed = {app: site for app, site in sub.apps.items() if site is not None}
    for app, site in sub.pending.items():
        placed.setdefault(app, site)
    return placed


def placement(sub: Subscription, app: str) -> str | None:
    """The site `app` is on or on its way to, or None when it shows Site setup required."""
    return sub.apps.get(app) or sub.pending.get(app)
