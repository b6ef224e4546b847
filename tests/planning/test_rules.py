"""Every rule of docs/rules.md: what blocks, the message a reviewer reads, and where it points."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from msgspec import structs

from reconciler.model import Plan
from reconciler.planning import plan_changes
from reconciler.rendering.text import blocked_subject
from tests.planning.builders import console, desired
from tests.planning.conftest import sub
from tests.planning.test_actions import make_plan


def blocked(plan: Plan) -> list[tuple[str, str, str]]:
    """(rule, where, message) of each blocked entry."""
    return [(b.rule, b.source.file if b.source else "", b.message) for b in plan.blocked]


def provisions(plan: Plan) -> list[str]:
    return [c.id for c in plan.changes]


def focus_on(site: str, sub_id: str = "SUB-1") -> dict[str, Any]:
    return {"id": sub_id, "apps": {"focus": {"site": site}}}


def test_unknown_subscription(seed: dict[str, Any]) -> None:
    plan = make_plan(seed, subs=[focus_on("acme", "SUB-404")])
    assert blocked(plan) == [
        ("unknown-subscription", "SUB-404/id", "subscription SUB-404 does not exist in the console")
    ]


@pytest.mark.parametrize(
    ("declared", "odd"),
    [
        ("SUB\u20101", "U+2010 HYPHEN"),
        ("SUB\u22121", "U+2212 MINUS SIGN"),
        ("\u0405UB-1", "U+0405 CYRILLIC CAPITAL LETTER DZE"),
        ("SUB-\uff11", "U+FF11 FULLWIDTH DIGIT ONE"),
        ("SUB-1\u200b", "U+200B ZERO WIDTH SPACE"),
    ],
    ids=["hyphen", "minus", "cyrillic", "fullwidth", "zero-width"],
)
def test_an_unknown_subscription_drawn_like_a_known_one_names_it(
    seed: dict[str, Any], declared: str, odd: str
) -> None:
    # On screen the declared id and the console's are the same; only the message can tell them apart.
    plan = make_plan(seed, live=[sub("SUB-1")], subs=[focus_on("acme", declared)])
    assert [b.message for b in plan.blocked] == [
        f"subscription {declared} does not exist in the console; SUB-1 does, which it is drawn like: "
        f"it holds {odd} where SUB-1 has ASCII"
    ]


def test_an_unknown_subscription_unlike_any_known_one_says_only_that(seed: dict[str, Any]) -> None:
    plan = make_plan(seed, live=[sub("SUB-1")], subs=[focus_on("acme", "SUB\u20109")])
    assert [b.message for b in plan.blocked] == ["subscription SUB\u20109 does not exist in the console"]


def test_subscription_mismatch_names_what_the_console_has(seed: dict[str, Any]) -> None:
    declared = {
        "id": "SUB-1",
        "billing_account": "AC-9",
        "product": "talent",
        "apps": {"focus": {"site": "acme"}},
    }
    plan = make_plan(seed, live=[sub("SUB-1", "focus")], subs=[declared])
    assert blocked(plan) == [
        (
            "subscription-mismatch",
            "SUB-1/billing_account",
            "SUB-1 is declared with billing_account AC-9, but the console has AC-1",
        ),
        (
            "subscription-mismatch",
            "SUB-1/product",
            "SUB-1 is declared with product talent, but the console has focus",
        ),
    ]
    assert plan.changes == ()


def test_subscription_mismatch_points_at_the_id_when_the_value_was_not_located(seed: dict[str, Any]) -> None:
    seed["subscriptions"].append(sub("SUB-1", "focus"))
    state = desired(subscriptions=[{"id": "SUB-1", "product": "talent"}])
    unlocated = msgspec.structs.replace(state.subscriptions["SUB-1"], product_origin=None)
    plan = plan_changes(structs.replace(state, subscriptions={"SUB-1": unlocated}), console(seed))
    assert blocked(plan) == [
        (
            "subscription-mismatch",
            "SUB-1/id",
            "SUB-1 is declared with product talent, but the console has focus",
        )
    ]


def test_app_in_product(seed: dict[str, Any]) -> None:
    plan = make_plan(
        seed, live=[sub("SUB-1", "focus")], subs=[{"id": "SUB-1", "apps": {"talent": {"site": "acme"}}}]
    )
    assert blocked(plan) == [
        (
            "app-in-product",
            "SUB-1/apps/talent",
            "talent is not part of SUB-1: its product focus carries only focus",
        )
    ]


def test_migration_is_never_self_provisioned(seed: dict[str, Any]) -> None:
    plan = make_plan(seed, live=[sub("SUB-1", migration=True)], subs=[focus_on("acme")])
    assert blocked(plan) == [
        (
            "migration",
            "SUB-1/apps/focus",
            "SUB-1 is a migration: Atlassian provisions its apps, not the reconciler",
        )
    ]


@pytest.mark.parametrize(
    ("declared_sites", "message", "where"),
    [
        ([], "site nowhere does not exist and is not declared with create: true", "SUB-1/apps/focus/site"),
        (
            [{"name": "nowhere", "org": "acme-corp"}],
            "site nowhere does not exist; it is declared without create: true",
            "SUB-1/apps/focus/site",
        ),
    ],
)
def test_site_exists(
    seed: dict[str, Any], declared_sites: list[dict[str, Any]], message: str, where: str
) -> None:
    plan = make_plan(seed, live=[sub("SUB-1")], sites=declared_sites, subs=[focus_on("nowhere")])
    assert ("site-exists", where, message) in blocked(plan)
    assert plan.changes == ()


def test_a_declared_site_that_does_not_exist_without_create_is_blocked_itself(seed: dict[str, Any]) -> None:
    plan = make_plan(seed, sites=[{"name": "nowhere", "org": "acme-corp"}])
    assert blocked(plan) == [
        (
            "site-exists",
            "nowhere/name",
            "site nowhere does not exist; declare it with create: true to have the plan create it",
        )
    ]


def test_site_org_when_the_declared_org_is_not_the_live_one(seed: dict[str, Any]) -> None:
    plan = make_plan(
        seed, live=[sub("SUB-1")], sites=[{"name": "acme", "org": "acme-labs"}], subs=[focus_on("acme")]
    )
    assert blocked(plan) == [
        (
            "site-org",
            "acme/org",
            "site acme is in org acme-corp, but desired state declares it in org acme-labs",
        ),
        (
            "site-org",
            "SUB-1/apps/focus/site",
            "site acme is in org acme-corp, but desired state declares it in org acme-labs",
        ),
    ]


def what_is_blocked(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(rule, where, what it blocks as the plan words it, the JSON `action`) of each blocked entry."""
    return [
        (b.rule, b.source.file if b.source else "", blocked_subject(b), str(b.action)) for b in plan.blocked
    ]


def test_a_wrong_org_on_an_existing_site_blocks_what_goes_on_it_not_a_creation(seed: dict[str, Any]) -> None:
    plan = make_plan(
        seed, live=[sub("SUB-1")], sites=[{"name": "acme", "org": "acme-labs"}], subs=[focus_on("acme")]
    )
    assert what_is_blocked(plan) == [
        ("site-org", "acme/org", "the provision of every app to acme (acme-corp)", "provision"),
        (
            "site-org",
            "SUB-1/apps/focus/site",
            "the provision of focus of SUB-1 to acme (acme-corp)",
            "provision",
        ),
    ]


def test_a_site_to_create_whose_name_is_live_elsewhere_blocks_its_creation_and_what_goes_on_it(
    seed: dict[str, Any],
) -> None:
    plan = make_plan(seed, sites=[{"name": "labs", "org": "acme-corp", "create": True}])
    assert what_is_blocked(plan) == [
        ("site-name", "labs/name", "the creation of site labs in org acme-corp", "create-site"),
        ("site-org", "labs/org", "the provision of every app to labs (acme-labs)", "provision"),
    ]


def test_a_site_to_create_whose_name_is_live_in_another_org_breaks_site_name_too(
    seed: dict[str, Any],
) -> None:
    # "not live anywhere" is part of site-name; the declared org differing is site-org: both hold.
    plan = make_plan(seed, sites=[{"name": "labs", "org": "acme-corp", "create": True}])
    assert blocked(plan) == [
        (
            "site-name",
            "labs/name",
            "site name labs is already taken by a site in org acme-labs; pick another name",
        ),
        (
            "site-org",
            "labs/org",
            "site labs is in org acme-labs, but desired state declares it in org acme-corp",
        ),
    ]
    assert plan.changes == ()


def test_site_org_when_the_org_of_a_site_to_create_does_not_exist(seed: dict[str, Any]) -> None:
    sites = [{"name": "new-site", "org": "no-org", "create": True}]
    plan = make_plan(
        seed,
        live=[sub("SUB-1")],
        sites=sites,
        subs=[{"id": "SUB-1", "apps": {"jira-align": {"site": "new-site"}}}],
    )
    assert blocked(plan) == [
        ("site-org", "new-site/org", "site new-site would be created in org no-org, which does not exist"),
        (
            "site-org",
            "SUB-1/apps/jira-align/site",
            "site new-site would be created in org no-org, which does not exist",
        ),
    ]
    assert plan.changes == ()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ab", "site name 'ab' must be 3 to 63 characters long (it has 2)"),
        (
            "Bad_Name",
            "site name 'Bad_Name' may only use lowercase letters, digits and inner hyphens "
            "(pattern ^[a-z0-9][a-z0-9-]*[a-z0-9]$)",
        ),
        ("old-acme", "site name 'old-acme' was used before and is retired; retired names are never reused"),
    ],
)
def test_site_name(seed: dict[str, Any], name: str, message: str) -> None:
    sites = [{"name": name, "org": "acme-corp", "create": True}]
    plan = make_plan(
        seed, live=[sub("SUB-1")], sites=sites, subs=[{"id": "SUB-1", "apps": {"jira-align": {"site": name}}}]
    )
    assert blocked(plan) == [
        ("site-name", f"{name}/name", message),
        ("site-name", "SUB-1/apps/jira-align/site", message),
    ]
    assert plan.changes == ()


@pytest.mark.parametrize(
    ("site", "why"),
    [
        ("acme-std", "acme-std has Jira Standard"),
        ("acme-sandbox", "acme-sandbox is a sandbox site"),
        ("acme-bare", "acme-bare has no Jira"),
        ("new-site", "new-site is created by this plan and has no Jira"),
    ],
)
def test_premium_site(seed: dict[str, Any], site: str, why: str) -> None:
    sites = [{"name": "new-site", "org": "acme-corp", "create": True}]
    plan = make_plan(seed, live=[sub("SUB-1")], sites=sites, subs=[focus_on(site)])
    assert blocked(plan) == [
        (
            "premium-site",
            "SUB-1/apps/focus/site",
            f"focus needs a site with Jira Premium or Enterprise; {why}",
        )
    ]


def test_jira_align_needs_no_premium_site(seed: dict[str, Any]) -> None:
    plan = make_plan(
        seed, live=[sub("SUB-1")], subs=[{"id": "SUB-1", "apps": {"jira-align": {"site": "acme-bare"}}}]
    )
    assert provisions(plan) == ["provision:SUB-1:jira-align"]


def test_one_per_org_counts_live_instances(seed: dict[str, Any]) -> None:
    live = [sub("SUB-1"), sub("SUB-2", "focus", apps={"focus": "acme"})]
    plan = make_plan(seed, live=live, subs=[focus_on("acme"), focus_on("acme", "SUB-2")])
    assert blocked(plan) == [
        ("one-per-org", "SUB-1/apps/focus/site", "org acme-corp already has focus: SUB-2 on acme")
    ]


def test_one_per_org_counts_pending_and_cancelled_but_not_deleted(seed: dict[str, Any]) -> None:
    live = [
        sub("SUB-1"),
        sub("SUB-2", "focus", pending={"focus": "labs"}),
        sub("SUB-3", "talent", status="cancelled", apps={"talent": "acme"}),
        sub("SUB-4", "jira-align", status="deleted", apps={"jira-align": "acme"}),
    ]
    subs = [
        {
            "id": "SUB-1",
            "apps": {
                "focus": {"site": "labs-2"},
                "talent": {"site": "acme"},
                "jira-align": {"site": "acme-std"},
            },
        }
    ]
    plan = make_plan(seed, live=live, subs=subs)
    assert blocked(plan) == [
        ("one-per-org", "SUB-1/apps/focus/site", "org acme-labs already has focus: SUB-2 on labs"),
        ("one-per-org", "SUB-1/apps/talent/site", "org acme-corp already has talent: SUB-3 on acme"),
    ]
    assert provisions(plan) == ["provision:SUB-1:jira-align"]


def test_one_per_org_blocks_both_of_two_planned_instances(seed: dict[str, Any]) -> None:
    live = [sub("SUB-1", "focus"), sub("SUB-2", "focus")]
    plan = make_plan(seed, live=live, subs=[focus_on("labs", "SUB-1"), focus_on("labs-2", "SUB-2")])
    assert blocked(plan) == [
        (
            "one-per-org",
            "SUB-1/apps/focus/site",
            "org acme-labs would hold focus twice: desired state also puts it there for SUB-2 on labs-2",
        ),
        (
            "one-per-org",
            "SUB-2/apps/focus/site",
            "org acme-labs would hold focus twice: desired state also puts it there for SUB-1 on labs",
        ),
    ]
    assert plan.changes == ()


def test_a_deferred_instance_does_not_block_a_planned_one_but_is_warned(seed: dict[str, Any]) -> None:
    live = [sub("SUB-1", "focus"), sub("SUB-2", "focus", status="upcoming")]
    plan = make_plan(seed, live=live, subs=[focus_on("labs", "SUB-1"), focus_on("labs-2", "SUB-2")])
    assert provisions(plan) == ["provision:SUB-1:focus"]
    assert [w.message for w in plan.warnings] == [
        "SUB-2 will be blocked when it starts: [one-per-org] org acme-labs would hold focus twice: "
        "desired state also puts it there for SUB-1 on labs"
    ]


@pytest.mark.parametrize(
    ("live_apps", "message"),
    [
        (
            {"focus": "labs"},
            "focus of SUB-1 is provisioned to labs; moving it to acme is a support case, not self-service",
        ),
        (
            {"pending": {"focus": "labs"}},
            "focus of SUB-1 is being provisioned to labs; "
            "moving it to acme is a support case, not self-service",
        ),
    ],
)
def test_no_move(seed: dict[str, Any], live_apps: dict[str, Any], message: str) -> None:
    pending = live_apps.pop("pending", {})
    plan = make_plan(
        seed, live=[sub("SUB-1", "focus", apps=live_apps, pending=pending)], subs=[focus_on("acme")]
    )
    assert blocked(plan) == [("no-move", "SUB-1/apps/focus/site", message)]


def test_partner_in_org(seed: dict[str, Any]) -> None:
    seed["billing_accounts"][1]["billing_admins"].append("alice@acme.example")
    live = [sub("SUB-1", "focus", account="AC-P"), sub("SUB-2", "focus", account="AC-P")]
    plan = make_plan(seed, live=live, subs=[focus_on("acme", "SUB-1"), focus_on("labs", "SUB-2")])
    # acme-labs has the partner as a member; in acme-corp no billing admin... except alice, an admin there.
    assert plan.blocked == ()
    seed["billing_accounts"][1]["billing_admins"].remove("alice@acme.example")
    seed["subscriptions"] = []
    plan = make_plan(seed, live=live, subs=[focus_on("acme", "SUB-1"), focus_on("labs", "SUB-2")], actor=None)
    assert (
        "partner-in-org",
        "SUB-1/apps/focus/site",
        (
            "AC-P is managed by globex-partners, and none of its billing admins (partner@globex.example) "
            "is a member or admin of org acme-corp; add one to the org first"
        ),
    ) in blocked(plan)
    assert not any(rule == "partner-in-org" and "acme-labs" in message for rule, _, message in blocked(plan))


def test_billing_admin_for_provision_cancel_and_reactivate(seed: dict[str, Any]) -> None:
    live = [
        sub("SUB-1", "focus", account="AC-P"),
        sub("SUB-2", "talent", account="AC-P"),
        sub("SUB-3", "talent", account="AC-P", status="cancelled"),
    ]
    subs = [focus_on("labs"), {"id": "SUB-2", "status": "cancelled"}, {"id": "SUB-3", "status": "active"}]
    plan = make_plan(seed, live=live, subs=subs)
    why = "alice@acme.example is not a billing admin of AC-P (its billing admins: partner@globex.example)"
    assert blocked(plan) == [
        ("billing-admin", "SUB-1/apps/focus", why),
        ("billing-admin", "SUB-2/status", why),
        ("billing-admin", "SUB-3/status", why),
    ]
    assert plan.changes == ()


def test_without_an_actor_the_actor_rules_block_and_say_how_to_set_one(seed: dict[str, Any]) -> None:
    sites = [{"name": "new-site", "org": "acme-corp", "create": True}]
    plan = make_plan(
        seed,
        live=[sub("SUB-1", "jira-align")],
        sites=sites,
        subs=[{"id": "SUB-1", "apps": {"jira-align": {"site": "new-site"}}}],
        actor=None,
    )
    assert blocked(plan) == [
        (
            "org-admin",
            "new-site/name",
            "no acting user is known, so nobody can be checked as an admin "
            "of org acme-corp; set --actor or RECONCILER_ACTOR",
        ),
        (
            "billing-admin",
            "SUB-1/apps/jira-align",
            "no acting user is known, so nobody can be checked as a billing admin of AC-1; "
            "set --actor or RECONCILER_ACTOR",
        ),
        (
            "org-admin",
            "SUB-1/apps/jira-align",
            "no acting user is known, so nobody can be checked as an admin of org acme-corp; "
            "set --actor or RECONCILER_ACTOR",
        ),
    ]
    assert plan.changes == ()


def test_org_admin_for_site_creation(seed: dict[str, Any]) -> None:
    plan = make_plan(seed, sites=[{"name": "new-site", "org": "other-org", "create": True}])
    assert blocked(plan) == [
        (
            "org-admin",
            "new-site/name",
            "alice@acme.example is not an admin of org other-org (its admins: dana@acme.example)",
        )
    ]


def test_retention(seed: dict[str, Any]) -> None:
    live = [
        sub("SUB-1", "focus", status="deleted", deactivated_on="2026-08-01"),
        sub("SUB-2", "focus", status="deactivated", deactivated_on="2026-09-22"),
    ]
    plan = make_plan(seed, live=live, subs=[focus_on("acme"), {"id": "SUB-2", "status": "active"}])
    assert blocked(plan) == [
        (
            "retention",
            "SUB-1/id",
            "SUB-1 was deleted on 2026-09-30 and its data is gone; it cannot be reactivated: "
            "declare it cancelled or remove it",
        ),
        (
            "retention",
            "SUB-2/status",
            "SUB-2 was deleted on 2026-11-21 and its data is gone; it cannot be reactivated: "
            "declare it cancelled or remove it",
        ),
    ]
    assert plan.changes == ()


def test_several_broken_rules_are_each_listed(seed: dict[str, Any]) -> None:
    live = [sub("SUB-1", "focus", account="AC-P", migration=True)]
    plan = make_plan(seed, live=live, subs=[focus_on("acme-std")])
    assert [rule for rule, _, _ in blocked(plan)] == [
        "billing-admin",
        "migration",
        "partner-in-org",
        "premium-site",
    ]
