"""Properties of any plan over random estates: order-free, no dangling dependency, rules never broken."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import PREMIUM_APPS, PRODUCT_APPS, Action, Plan
from reconciler.planning import plan_changes
from tests.planning.builders import console, desired
from tests.planning.conftest import BASE_SEED, sub

SITES = [s["name"] for s in BASE_SEED["sites"]] + ["new-a", "new-b", "missing"]
PRODUCTS = list(PRODUCT_APPS)
STATUSES = ["upcoming", "active", "active", "active", "cancelled", "deactivated", "deleted"]
GOOD_SITES = ["acme", "labs", "labs-2", "new-a"] * 3


@st.composite
def estates(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    seed = copy.deepcopy(BASE_SEED)
    declared = []
    for n in range(draw(st.integers(1, 8))):
        product = draw(st.sampled_from(PRODUCTS))
        apps = PRODUCT_APPS[product]
        live_apps = {app: draw(st.sampled_from([*[None] * 14, *SITES[:7]])) for app in apps}
        status = draw(st.sampled_from(STATUSES))
        account = draw(st.sampled_from(["AC-1", "AC-1", "AC-1", "AC-P"]))
        extra = {"deactivated_on": "2026-11-01"} if status == "deactivated" else {}
        seed["subscriptions"].append(
            sub(f"SUB-{n}", product, status=status, account=account, apps=live_apps, **extra)
        )
        # Mostly the product's own apps on sites that can host them, sometimes anything anywhere.
        wanted = draw(st.lists(st.sampled_from([*apps, *apps, *apps, "focus"]), unique=True, max_size=3))
        declared.append(
            {
                "id": f"SUB-{n}",
                "status": draw(st.sampled_from(["active", "active", "active", "cancelled"])),
                "apps": {app: {"site": draw(st.sampled_from([*GOOD_SITES, *SITES]))} for app in wanted},
            }
        )
    sites = [
        {"name": "new-a", "org": "acme-corp", "create": True},
        {"name": "new-b", "org": draw(st.sampled_from(["acme-labs", "other-org", "no-org"])), "create": True},
    ]
    return seed, sites, declared


def planned(seed: dict[str, Any], sites: list[dict[str, Any]], declared: list[dict[str, Any]]) -> Plan:
    return plan_changes(desired(sites, declared), console(seed))


@settings(max_examples=150, deadline=None)
@given(estates(), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_declaration_order(estate: Any, rng: Any) -> None:
    seed, sites, declared = estate
    shuffled_seed = copy.deepcopy(seed)
    rng.shuffle(shuffled_seed["subscriptions"])
    rng.shuffle(shuffled_seed["sites"])
    reordered = list(declared)
    rng.shuffle(reordered)
    assert planned(shuffled_seed, list(reversed(sites)), reordered) == planned(seed, sites, declared)


@settings(max_examples=150, deadline=None)
@given(estates())
def test_no_plan_breaks_a_rule_it_checks(estate: Any) -> None:
    seed, sites, declared = estate
    plan = planned(seed, sites, declared)
    live = console(seed)
    ids = {c.id for c in plan.changes}
    created = {c.site: c.org for c in plan.changes if c.action == Action.CREATE_SITE}
    held: dict[tuple[str | None, str | None], str] = {}
    for s in live.subscriptions.values():
        if s.status != "deleted":
            for app, site in s.apps.items():
                if site is not None:
                    held[(live.sites[site].org, app)] = s.id
    for change in plan.changes:
        assert all(d in ids for d in change.depends_on)
        if change.action != Action.PROVISION:
            continue
        assert change.site in live.sites or change.site in created
        if change.app in PREMIUM_APPS:
            assert change.site not in created and live.sites[str(change.site)].hosts_premium_jira
        key = (change.org, change.app)
        assert held.get(key, change.subscription) == change.subscription, "one-per-org broken"
        held[key] = str(change.subscription)
        owner = live.subscriptions[str(change.subscription)]
        assert change.app in PRODUCT_APPS[owner.product] and owner.apps.get(str(change.app)) is None
