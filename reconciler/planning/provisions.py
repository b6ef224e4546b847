"""Declared apps: which ones need provisioning, and every rule each provision would break.

Each declared app that is not yet where desired state says becomes a `Candidate`. Rules about one
app are checked as it is built; `one-per-org` needs all candidates at once (two planned instances
in one org are both blocked), so it runs afterwards over the whole set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from msgspec import Struct, structs

from reconciler.model import PREMIUM_APPS, PRODUCT_APPS, Action, Change, DesiredApp, Origin, Subscription
from reconciler.planning.facts import Facts, Finding, Instance, Target, placement
from reconciler.planning.sites import create_site_id


class Candidate(Struct, frozen=True):
    """An app that desired state puts on a site where it is not yet."""

    subscription: Subscription
    app: DesiredApp
    target: Target | None  # None when the site (or the app itself) cannot be resolved
    findings: tuple[Finding, ...]
    deferred: bool  # an upcoming subscription: provisioned once it starts
    after_reactivate: bool  # the plan reactivates the subscription first


def reactivate_id(subscription: str) -> str:
    return f"reactivate:{subscription}"


def provision_id(subscription: str, app: str) -> str:
    return f"provision:{subscription}:{app}"


def app_candidates(
    facts: Facts, sub: Subscription, apps: Sequence[DesiredApp], *, deferred: bool, after_reactivate: bool
) -> list[Candidate]:
    # Most declared apps are already where they belong: settle those with two lookups, before
    # anything is sorted or checked (what _app_findings would say of them: nothing to do).
    product_apps, live = PRODUCT_APPS.get(sub.product, ()), sub.apps
    apps = [a for a in apps if a.app not in product_apps or not live.get(a.app) or live[a.app] != a.site]
    candidates = []
    for declared in sorted(apps, key=lambda a: a.app) if len(apps) > 1 else apps:
        findings = _app_findings(facts, sub, declared)
        if findings is None:
            continue  # already there, or on its way there
        target = None
        if not findings:
            findings, target = _target_findings(facts, sub, declared)
        candidates.append(Candidate(sub, declared, target, tuple(findings), deferred, after_reactivate))
    return candidates


def _finding(
    facts: Facts, rule: str, message: str, origin: Origin, sub: Subscription, declared: DesiredApp
) -> Finding:
    """A broken rule of one declared app: it blocks that app's provision to its declared site."""
    site = declared.site
    return Finding(
        rule, message, origin, sub.id, declared.app, site, action=Action.PROVISION, org=facts.org_of(site)
    )


def _app_findings(facts: Facts, sub: Subscription, declared: DesiredApp) -> list[Finding] | None:
    """None when nothing is to be done; otherwise the rules that stop the app before any site check."""
    app, site = declared.app, declared.site
    product_apps = PRODUCT_APPS.get(sub.product, ())
    if app not in product_apps:
        message = (
            f"{app} is not part of {sub.id}: its product {sub.product} carries only {', '.join(product_apps)}"
        )
        return [_finding(facts, "app-in-product", message, declared.origin, sub, declared)]
    placed = placement(sub, app)
    if placed == site:
        return None
    if placed is not None:
        state = "is being provisioned to" if sub.apps.get(app) is None else "is provisioned to"
        message = (
            f"{app} of {sub.id} {state} {placed}; moving it to {site} is a support case, not self-service"
        )
        return [_finding(facts, "no-move", message, declared.site_origin, sub, declared)]
    return []


def _target_findings(
    facts: Facts, sub: Subscription, declared: DesiredApp
) -> tuple[list[Finding], Target | None]:
    app, site = declared.app, declared.site
    findings = []

    def add(rule: str, message: str | None, at_site: bool) -> None:
        if message is not None:
            origin = declared.site_origin if at_site else declared.origin
            findings.append(_finding(facts, rule, message, origin, sub, declared))

    if sub.migration:
        add("migration", f"{sub.id} is a migration: Atlassian provisions its apps, not the reconciler", False)
    add("billing-admin", facts.billing_admin_problem(sub), False)
    resolved = facts.resolve_site(site)
    if not isinstance(resolved, Target):
        add(resolved[0], resolved[1], True)
        return findings, None
    if app in PREMIUM_APPS:
        add("premium-site", facts.premium_problem(app, resolved), True)
    add("partner-in-org", facts.partner_problem(sub, resolved.org), True)
    add("org-admin", facts.org_admin_problem(resolved.org), False)
    return findings, resolved


def check_one_per_org(facts: Facts, candidates: Sequence[Candidate]) -> list[Candidate]:
    """Add a `one-per-org` finding to every candidate that would share an org with another instance."""
    claims: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        if candidate.target is not None:
            claims[(candidate.target.org, candidate.app.app)].append(candidate)
    live = facts.live_instances({org for org, _ in claims})
    checked = []
    for candidate in candidates:
        finding = _one_per_org_finding(candidate, claims, live)
        if finding is not None:
            candidate = structs.replace(candidate, findings=(*candidate.findings, finding))
        checked.append(candidate)
    return checked


def _one_per_org_finding(
    candidate: Candidate,
    claims: dict[tuple[str, str], list[Candidate]],
    instances: Mapping[tuple[str, str], list[Instance]],
) -> Finding | None:
    if candidate.target is None:
        return None
    org, app, sub = candidate.target.org, candidate.app.app, candidate.subscription.id
    live = sorted(i for i in instances.get((org, app), ()) if i.subscription != sub)
    if live:
        held = ", ".join(f"{i.subscription} on {i.site}" for i in live)
        message = f"org {org} already has {app}: {held}"
    else:
        # A deferred candidate meets every other claim; a planned one only other planned ones,
        # because a deferred subscription is not provisioned by this plan.
        others = [
            c
            for c in claims[(org, app)]
            if c.subscription.id != sub and (candidate.deferred or not c.deferred)
        ]
        if not others:
            return None
        also = ", ".join(f"{c.subscription.id} on {c.app.site}" for c in others)
        message = f"org {org} would hold {app} twice: desired state also puts it there for {also}"
    origin = candidate.app.site_origin
    return Finding(
        "one-per-org", message, origin, sub, app, candidate.app.site, action=Action.PROVISION, org=org
    )


def provision_change(candidate: Candidate) -> Change:
    target = candidate.target
    assert target is not None, "only a candidate with a resolved site becomes a change"
    sub, app = candidate.subscription.id, candidate.app.app
    depends_on: list[str] = []
    if target.new:
        # Also while the console creates it: the approved plan's change is this one, unchanged.
        depends_on.append(create_site_id(target.site))
    if candidate.after_reactivate:
        depends_on.append(reactivate_id(sub))
        shows = "has no site"
    else:
        shows = "shows Site setup required"
    return Change(
        id=provision_id(sub, app),
        action=Action.PROVISION,
        subscription=sub,
        app=app,
        site=target.site,
        org=target.org,
        depends_on=tuple(sorted(depends_on)),
        reason=f"{app} of {sub} {shows}; provision it to {target.site} ({target.org})",
        source=candidate.app.origin.span(),
    )
