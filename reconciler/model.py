"""Core types shared by every pipeline stage.

Loading produces a `DesiredState`, a provider observes a `Console`, the planner turns both into
a `Plan` of `Change`s, and apply executes changes through a provider, which answers with
`Operation`s. Everything here is an immutable value; no module in this file does I/O.

Every type here is a frozen msgspec Struct rather than a frozen dataclass: the same immutable
value, built by a constructor in C (a frozen dataclass's __init__ sets each field through
object.__setattr__, about eight times as slow), and created in a tenth of the time when the
module is imported (a frozen dataclass costs 1.5 ms of start-up each, for the methods it
generates). The types a big estate has one of per subscription, site or org, being acyclic,
are never tracked by the cycle collector (`gc=False`). `msgspec.structs.replace` is their
`dataclasses.replace`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol

from msgspec import Struct
from msgspec import field as msgspec_field

# --- the domain vocabulary -------------------------------------------------------------------


class App(StrEnum):
    JIRA_ALIGN = "jira-align"
    FOCUS = "focus"
    TALENT = "talent"


class Product(StrEnum):
    STRATEGY_COLLECTION = "strategy-collection"
    JIRA_ALIGN = "jira-align"
    FOCUS = "focus"
    TALENT = "talent"


#: The apps each product carries: a collection has all three, a standalone product only its own.
PRODUCT_APPS: Mapping[str, tuple[str, ...]] = {
    Product.STRATEGY_COLLECTION: (App.JIRA_ALIGN, App.FOCUS, App.TALENT),
    Product.JIRA_ALIGN: (App.JIRA_ALIGN,),
    Product.FOCUS: (App.FOCUS,),
    Product.TALENT: (App.TALENT,),
}

#: Apps that only run on a site hosting Jira Premium or Enterprise.
PREMIUM_APPS: frozenset[str] = frozenset({App.FOCUS, App.TALENT})
PREMIUM_PLANS: frozenset[str] = frozenset({"premium", "enterprise"})
JIRA_PLANS: tuple[str, ...] = ("free", "standard", "premium", "enterprise")
#: A site whose Jira is observed but whose edition nobody declared (the Admin API does not show it).
JIRA_UNDECLARED = "undeclared"


class Status(StrEnum):
    UPCOMING = "upcoming"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"


#: A site name's characters (the <name> of <name>.atlassian.net). Always used with fullmatch: with
#: match or search, `$` also matches before a final newline, and "old-acme\n" would pass.
SITE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]")
#: A commit id as git prints it: SHA-1 (40) or SHA-256 (64) lowercase hexadecimal digits. What CI
#: says the commit is, or an API answers, is checked against it (with fullmatch, as SITE_NAME).
COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")

#: A cancelled subscription is deactivated this long after its term ends ...
DEACTIVATION_GRACE = dt.timedelta(days=15)
#: ... and its data is deleted this long after deactivation.
DATA_RETENTION = dt.timedelta(days=60)
#: The last day a console's clock may show: a renewal a year on, then the grace and the retention,
#: must still fall before the calendar ends (9999-12-31), so no lifecycle date overflows.
LAST_CLOCK_DAY = dt.date.max - dt.timedelta(days=366) - DEACTIVATION_GRACE - DATA_RETENTION


class Action(StrEnum):
    CREATE_SITE = "create-site"
    PROVISION = "provision"
    CANCEL = "cancel"
    REACTIVATE = "reactivate"


# --- where things come from --------------------------------------------------------------------


class SourceSpan(Struct, frozen=True, order=True):
    """A position in a desired-state file: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Origin(Protocol):
    """Where a declared value came from, resolved only when someone asks.

    Locating a value costs a parse with positions, so loading records origins and the
    position is computed on demand (a plan with ten changes locates ten values, not ten thousand).
    """

    def span(self) -> SourceSpan: ...


class KnownOrigin(Struct, frozen=True):
    """An origin whose position is already known."""

    source: SourceSpan

    def span(self) -> SourceSpan:
        return self.source


class Diagnostic(Struct, frozen=True):
    """One problem found in desired state or in a seed file."""

    rule: str
    message: str
    source: SourceSpan | None
    hint: str | None = None
    severity: str = "error"

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        if self.source is None:
            return ("", 0, 0, self.rule, self.message)
        return (self.source.file, self.source.line, self.source.column, self.rule, self.message)


# --- desired state -------------------------------------------------------------------------------


class DesiredSite(Struct, frozen=True, gc=False):
    name: str
    org: str
    create: bool
    origin: Origin  # the `name` value
    org_origin: Origin  # the `org` value


class DesiredApp(Struct, frozen=True, gc=False):
    app: str
    site: str
    origin: Origin  # the app's key under `apps`
    site_origin: Origin  # the `site` value


class DesiredSubscription(Struct, frozen=True, gc=False):
    id: str
    status: str  # Status.ACTIVE or Status.CANCELLED
    apps: tuple[DesiredApp, ...]
    billing_account: str | None
    product: str | None
    origin: Origin  # the `id` value
    status_origin: Origin  # the `status` value, or the `id` value when status is defaulted
    #: the `billing_account` and `product` values, where a mismatch with the console points
    #: (None: not declared, or not located by the loader; the plan then points at `id`)
    billing_account_origin: Origin | None = None
    product_origin: Origin | None = None


class DesiredState(Struct, frozen=True):
    sites: Mapping[str, DesiredSite]
    subscriptions: Mapping[str, DesiredSubscription]
    files: tuple[str, ...]
    digest: str  # sha256 over every file's path and bytes


# --- observed state (the console) ------------------------------------------------------------------


class DeclaredFact(Struct, frozen=True):
    """A fact the provider could not observe and took from the declared billing facts instead."""

    fact: str  # what is declared, for people: "SUB-1001: strategy-collection, active"
    source: SourceSpan | None  # where it is declared


def fact_key(kind: str, subject: str = "") -> str:
    """A key of `Console.declared`: `subscription:SUB-1001`, `billing-account:AC-1`,
    `org-people:acme-corp`, `site-jira:acme`, `placement:SUB-1001:focus`, `retired-site-names`."""
    return f"{kind}:{subject}" if subject else kind


class BillingAccount(Struct, frozen=True, gc=False):
    id: str
    managed_by: str  # "direct" | "partner"
    partner: str | None
    billing_admins: frozenset[str]


class Organization(Struct, frozen=True, gc=False):
    id: str
    name: str
    admins: frozenset[str]
    members: frozenset[str]


class Site(Struct, frozen=True, gc=False):
    name: str
    org: str
    jira: str | None  # one of JIRA_PLANS, or None when the site has no Jira
    sandbox: bool = False

    @property
    def hosts_premium_jira(self) -> bool:
        return self.jira in PREMIUM_PLANS and not self.sandbox


class Subscription(Struct, frozen=True, gc=False):
    id: str
    billing_account: str
    product: str
    status: str
    start_date: dt.date | None
    term_end: dt.date | None
    apps: Mapping[str, str | None]  # app -> site name, or None for "Site setup required"
    migration: bool = False
    deactivated_on: dt.date | None = None
    #: apps whose provisioning was requested and has not completed yet: app -> target site
    pending: Mapping[str, str] = msgspec_field(default_factory=dict)

    @property
    def deactivation_date(self) -> dt.date | None:
        """When a cancelled subscription's apps go off; None when unknown, or past the calendar."""
        return _days_after(self.term_end, DEACTIVATION_GRACE)

    @property
    def deletion_date(self) -> dt.date | None:
        """When a deactivated subscription's data is deleted; None when unknown, or past the calendar."""
        return _days_after(self.deactivated_on, DATA_RETENTION)


def _days_after(day: dt.date | None, span: dt.timedelta) -> dt.date | None:
    # A console (a peer over HTTP, declared facts) may send a term ending 9999-12-31: the date
    # after it does not exist, and the plan says "15 days after the term ends" instead.
    if day is None or day > dt.date.max - span:
        return None
    return day + span


class InProgress(Struct, frozen=True):
    """Work the console accepted and has not finished: a site being created, an app being provisioned.

    The plan lists it and never plans it again; apply waits for it instead of asking twice.
    """

    action: Action  # create-site or provision: the console's asynchronous writes
    subscription: str | None
    app: str | None
    site: str | None
    org: str | None
    operation: str  # the console's operation id, to poll
    since: dt.datetime | None = None  # when the console accepted it (UTC)

    @property
    def change_id(self) -> str:
        """The id of the change whose effect this is: what a change that waits for it depends on."""
        if self.action == Action.CREATE_SITE:
            return f"create-site:{self.site}"
        return f"{self.action}:{self.subscription}" + (f":{self.app}" if self.app else "")


def in_progress_sort_key(work: InProgress) -> tuple[str, str, str, str, str]:
    return (str(work.action), work.site or "", work.subscription or "", work.app or "", work.operation)


class Console(Struct, frozen=True):
    """Everything a provider observed, in one consistent read."""

    now: dt.date
    actor: str | None
    users: frozenset[str]
    billing_accounts: Mapping[str, BillingAccount]
    organizations: Mapping[str, Organization]
    sites: Mapping[str, Site]
    subscriptions: Mapping[str, Subscription]
    retired_site_names: frozenset[str]
    #: what the provider took from declared facts rather than observing, by `fact_key`; empty for a
    #: provider that observes everything (the sandbox, the console API)
    declared: Mapping[str, DeclaredFact] = msgspec_field(default_factory=dict)
    #: what the provider noticed while reading and a reviewer should know (shown as plan warnings)
    notes: tuple[str, ...] = ()
    #: the console's operations still in progress (a provision is also in its subscription's `pending`)
    in_progress: tuple[InProgress, ...] = ()
    #: what was observed and what declared, in a line each ("observed: 2 organizations, ...")
    provenance: tuple[str, ...] = ()

    @property
    def sites_in_progress(self) -> dict[str, str]:
        """Sites being created: name -> org."""
        return {
            w.site: w.org
            for w in self.in_progress
            if w.action == Action.CREATE_SITE and w.site is not None and w.org is not None
        }


# --- the plan --------------------------------------------------------------------------------------


class Change(Struct, frozen=True):
    """One write the plan will make. `id` is stable: the same change has the same id in every run."""

    id: str
    action: Action
    subscription: str | None
    app: str | None
    site: str | None
    org: str | None
    depends_on: tuple[str, ...]
    reason: str
    source: SourceSpan | None
    #: cancel only: every app the cancellation takes down (app -> site or None) ...
    takes_down: Mapping[str, str | None] | None = None
    #: ... and the day they go off
    deactivation_date: dt.date | None = None
    #: the declared facts (not observed) the rules that allowed this change relied on
    declared: tuple[DeclaredFact, ...] = ()


class Blocked(Struct, frozen=True):
    """A change the plan would need but may not make: which rule, why, and where to fix it.

    `action` and its subject (`subscription`, `app`, `site`, `org`) say what is blocked: the
    creation of a site, the provision of one app (or, with `app` None, of every app a
    subscription declares; with `subscription` None too, of every app to an existing site),
    a cancel or a reactivation.
    """

    rule: str
    message: str
    subscription: str | None
    app: str | None
    site: str | None
    source: SourceSpan | None
    action: Action
    org: str | None
    #: the declared facts (not observed) this rule's decision rests on
    declared: tuple[DeclaredFact, ...] = ()


class Deferred(Struct, frozen=True):
    """An upcoming subscription: its apps are provisioned on the first run after `start_date`."""

    subscription: str
    start_date: dt.date | None
    apps: Mapping[str, str]  # app -> desired site
    source: SourceSpan | None


class Unmanaged(Struct, frozen=True):
    """A live subscription that no desired-state file declares. It is left alone."""

    subscription: str
    product: str
    status: str
    apps: Mapping[str, str | None]


class PlanWarning(Struct, frozen=True):
    message: str
    source: SourceSpan | None = None


# --- operations (a provider's answer to a write) ----------------------------------------------------


class OperationStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Operation(Struct, frozen=True):
    id: str
    status: OperationStatus
    error_code: str | None = None  # a rule id when the console refused the change
    error_detail: str | None = None

    @property
    def done(self) -> bool:
        return self.status in (OperationStatus.SUCCEEDED, OperationStatus.FAILED)


# --- the plan as a whole -----------------------------------------------------------------------------

PLAN_FORMAT_VERSION = 1


def change_sort_key(change: Change) -> tuple[int, str, str, str, str]:
    """The one ordering of changes: sites first, then by subscription and app, so output is stable."""
    rank = {Action.CREATE_SITE: 0, Action.REACTIVATE: 1, Action.PROVISION: 2, Action.CANCEL: 3}[change.action]
    return (rank, change.org or "", change.site or "", change.subscription or "", change.app or "")


def canonical_change(change: Change) -> dict[str, object]:
    """What a change *is*, without where it was declared or how it is explained.

    The checksum covers exactly this, so a reviewer's approval survives moving a
    subscription to another file or rewording a reason, and nothing else. A cancel's effect
    (the apps it takes down, the day they go off) is part of what was approved: a subscription
    that gained an app since the review is a different cancel.
    """
    canonical: dict[str, object] = {
        "id": change.id,
        "action": str(change.action),
        "subscription": change.subscription,
        "app": change.app,
        "site": change.site,
        "org": change.org,
        "depends_on": sorted(change.depends_on),
    }
    if change.takes_down is not None:
        canonical["takes_down"] = dict(sorted(change.takes_down.items()))
    if change.deactivation_date is not None:
        canonical["deactivation_date"] = change.deactivation_date.isoformat()
    return canonical


def plan_checksum(changes: tuple[Change, ...]) -> str:
    import hashlib
    import json

    canonical = sorted((canonical_change(c) for c in changes), key=lambda c: str(c["id"]))
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


class Plan(Struct, frozen=True):
    changes: tuple[Change, ...]
    blocked: tuple[Blocked, ...]
    deferred: tuple[Deferred, ...]
    unmanaged: tuple[Unmanaged, ...]
    warnings: tuple[PlanWarning, ...]
    desired_digest: str
    observed_fingerprint: str
    #: the desired-state paths the plan was made from, as given on the command line
    paths: tuple[str, ...] = ()
    #: the provider, as configured (never with a credential in it)
    provider: str = ""
    actor: str | None = None
    format_version: int = PLAN_FORMAT_VERSION
    #: the console's date when it was observed (its clock, not the wall clock): "starts in N days"
    observed_on: dt.date | None = None
    #: work the console had in progress when it was observed: shown, never planned
    in_progress: tuple[InProgress, ...] = ()
    #: the console's provenance lines (empty when everything was observed)
    provenance: tuple[str, ...] = ()

    @property
    def checksum(self) -> str:
        return plan_checksum(self.changes)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def destructive(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action == Action.CANCEL)
