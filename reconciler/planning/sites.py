"""Declared sites: which ones the plan creates, and which declarations break a rule."""

from __future__ import annotations

from msgspec import Struct

from reconciler.model import Action, Change, DesiredSite
from reconciler.planning.facts import Facts, Finding, site_name_problem


class SitePlan(Struct, frozen=True):
    changes: tuple[Change, ...]
    findings: tuple[Finding, ...]


def create_site_id(site: str) -> str:
    return f"create-site:{site}"


def plan_sites(facts: Facts) -> SitePlan:
    changes: list[Change] = []
    findings: list[Finding] = []
    live = facts.console.sites
    # A declared site live in its declared org breaks no rule and needs no change: nearly all are.
    unsettled = [
        name
        for name, site in facts.desired.sites.items()
        if (now := live.get(name)) is None or now.org != site.org
    ]
    for name in sorted(unsettled):
        declared = facts.desired.sites[name]
        problems = _site_findings(facts, declared)
        if problems:
            findings.extend(problems)
        elif declared.create and name not in facts.console.sites and name not in facts.sites_in_progress:
            changes.append(_create_site(declared))
    return SitePlan(tuple(changes), tuple(findings))


def _finding(rule: str, message: str, declared: DesiredSite, *, at_org: bool = False) -> Finding:
    """A declared site's broken rule that blocks the site's creation in its declared org."""
    origin = declared.org_origin if at_org else declared.origin
    return Finding(rule, message, origin, site=declared.name, action=Action.CREATE_SITE, org=declared.org)


def _site_findings(facts: Facts, declared: DesiredSite) -> list[Finding]:
    name = declared.name
    live = facts.console.sites.get(name)
    if live is not None:
        return _live_site_findings(declared, live.org)
    creating = facts.sites_in_progress.get(name)
    if creating is not None:
        # Being created: judged as the site it is about to be, not as a name to take.
        return _live_site_findings(declared, creating)
    if not declared.create:
        message = f"site {name} does not exist; declare it with create: true to have the plan create it"
        return [_finding("site-exists", message, declared)]
    findings: list[Finding] = []
    org_known = declared.org in facts.console.organizations
    if not org_known:
        message = f"site {name} would be created in org {declared.org}, which does not exist"
        findings.append(_finding("site-org", message, declared, at_org=True))
    name_problem = site_name_problem(name, facts.console.retired_site_names)
    if name_problem is not None:
        findings.append(_finding("site-name", name_problem, declared))
    admin_problem = facts.org_admin_problem(declared.org) if org_known else None
    if admin_problem is not None:
        findings.append(_finding("org-admin", admin_problem, declared))
    return findings


def _live_site_findings(declared: DesiredSite, live_org: str) -> list[Finding]:
    """A site that exists (or is being created) in `live_org`: no creation is asked of the plan, so
    what a wrong org blocks is what goes on the site, in the org it is really in."""
    name = declared.name
    if live_org == declared.org:
        return []
    message = f"site {name} is in org {live_org}, but desired state declares it in org {declared.org}"
    findings = [
        Finding("site-org", message, declared.org_origin, site=name, action=Action.PROVISION, org=live_org)
    ]
    if declared.create:
        # A site to create needs a name that is live nowhere: this one is taken elsewhere.
        taken = f"site name {name} is already taken by a site in org {live_org}; pick another name"
        findings.append(_finding("site-name", taken, declared))
    return findings


def _create_site(declared: DesiredSite) -> Change:
    return Change(
        id=create_site_id(declared.name),
        action=Action.CREATE_SITE,
        subscription=None,
        app=None,
        site=declared.name,
        org=declared.org,
        depends_on=(),
        reason=f"site {declared.name} does not exist; declared with create: true in org {declared.org}",
        source=declared.origin.span(),
    )
