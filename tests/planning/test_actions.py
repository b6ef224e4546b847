"""Each action the planner plans, with its id, subject, reason, source and dependencies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reconciler.model import Action, Blocked, Change, Plan, SourceSpan
from reconciler.planning import plan_changes
from tests.planning.builders import console, desired
from tests.planning.conftest import sub


def make_plan(
    seed: dict[str, Any],
    *,
    live: list[dict[str, Any]] = (),  # type: ignore[assignment]
    sites: list[dict[str, Any]] | None = None,
    subs: list[dict[str, Any]] | None = None,
    actor: str | None = "alice@acme.example",
) -> Plan:
    seed["subscriptions"] += list(live)
    return plan_changes(desired(sites, subs), console(seed, actor))


def at(label: str) -> SourceSpan:
    return SourceSpan(label, 1, 1)


def only_change(plan: Plan) -> Change:
    assert plan.blocked == ()
    assert len(plan.changes) == 1, plan.changes
    return plan.changes[0]


def test_provision_an_app_that_shows_site_setup_required(seed: dict[str, Any]) -> None:
    plan = make_plan(
        seed, live=[sub("SUB-1", "focus")], subs=[{"id": "SUB-1", "apps": {"focus": {"site": "acme"}}}]
    )
    assert only_change(plan) == Change(
        id="provision:SUB-1:focus",
        action=Action.PROVISION,
        subscription="SUB-1",
        app="focus",
        site="acme",
        org="acme-corp",
        depends_on=(),
        reason="focus of SUB-1 shows Site setup required; provision it to acme (acme-corp)",
        source=at("SUB-1/apps/focus"),
    )


def test_an_app_already_on_its_site_or_on_its_way_there_needs_nothing(seed: dict[str, Any]) -> None:
    live = [
        sub("SUB-1", "focus", apps={"focus": "acme"}),
        sub("SUB-2", "jira-align", pending={"jira-align": "labs"}),
    ]
    declared = [
        {"id": "SUB-1", "apps": {"focus": {"site": "acme"}}},
        {"id": "SUB-2", "apps": {"jira-align": {"site": "labs"}}},
    ]
    plan = make_plan(seed, live=live, subs=declared)
    assert (plan.changes, plan.blocked, plan.warnings) == ((), (), ())


def test_create_site_comes_first_and_what_goes_on_it_depends_on_it(seed: dict[str, Any]) -> None:
    plan = make_plan(
        seed,
        live=[sub("SUB-1")],
        sites=[{"name": "acme-align", "org": "acme-corp", "create": True}],
        subs=[{"id": "SUB-1", "apps": {"jira-align": {"site": "acme-align"}, "focus": {"site": "acme"}}}],
    )
    assert plan.blocked == ()
    create, focus, align = plan.changes
    assert create == Change(
        id="create-site:acme-align",
        action=Action.CREATE_SITE,
        subscription=None,
        app=None,
        site="acme-align",
        org="acme-corp",
        depends_on=(),
        reason="site acme-align does not exist; declared with create: true in org acme-corp",
        source=at("acme-align/name"),
    )
    assert (focus.id, focus.depends_on) == ("provision:SUB-1:focus", ())
    assert (align.id, align.depends_on) == ("provision:SUB-1:jira-align", ("create-site:acme-align",))


def test_a_declared_site_that_exists_is_not_created_again(seed: dict[str, Any]) -> None:
    plan = make_plan(seed, sites=[{"name": "acme", "org": "acme-corp", "create": True}])
    assert (plan.changes, plan.blocked) == ((), ())


def test_cancel_lists_every_app_it_takes_down_and_the_date(seed: dict[str, Any]) -> None:
    live = [sub("SUB-1", apps={"jira-align": "acme-std", "focus": "acme"}, pending={"talent": "acme"})]
    plan = make_plan(seed, live=live, subs=[{"id": "SUB-1", "status": "cancelled"}])
    assert only_change(plan) == Change(
        id="cancel:SUB-1",
        action=Action.CANCEL,
        subscription="SUB-1",
        app=None,
        site=None,
        org=None,
        depends_on=(),
        reason="SUB-1 is declared cancelled: jira-align (acme-std), focus (acme) and talent (acme) "
        "go off on 2027-10-15",
        source=at("SUB-1/status"),
        takes_down={"jira-align": "acme-std", "focus": "acme", "talent": "acme"},
        deactivation_date=dt.date(2027, 10, 15),
    )


def test_cancel_of_a_standalone_app_without_a_site(seed: dict[str, Any]) -> None:
    plan = make_plan(seed, live=[sub("SUB-1", "talent")], subs=[{"id": "SUB-1", "status": "cancelled"}])
    assert only_change(plan).reason == "SUB-1 is declared cancelled: talent (no site) goes off on 2027-10-15"


def test_an_upcoming_subscription_declared_cancelled_is_cancelled(seed: dict[str, Any]) -> None:
    plan = make_plan(
        seed, live=[sub("SUB-1", "focus", status="upcoming")], subs=[{"id": "SUB-1", "status": "cancelled"}]
    )
    assert only_change(plan).id == "cancel:SUB-1"


def test_nothing_to_cancel_once_cancelled_deactivated_or_deleted(seed: dict[str, Any]) -> None:
    live = [
        sub("SUB-1", "focus", status="cancelled"),
        sub("SUB-2", "focus", status="deactivated", deactivated_on="2026-11-01"),
        sub("SUB-3", "focus", status="deleted"),
    ]
    declared = [{"id": s, "status": "cancelled"} for s in ("SUB-1", "SUB-2", "SUB-3")]
    plan = make_plan(seed, live=live, subs=declared)
    assert (plan.changes, plan.blocked, plan.unmanaged) == ((), (), ())


def test_reactivate_a_cancelled_subscription_then_provision_what_is_missing(seed: dict[str, Any]) -> None:
    live = [sub("SUB-1", "focus", status="cancelled", term_end="2026-12-31")]
    plan = make_plan(seed, live=live, subs=[{"id": "SUB-1", "apps": {"focus": {"site": "acme"}}}])
    assert plan.blocked == ()
    reactivate, provision = plan.changes
    assert reactivate == Change(
        id="reactivate:SUB-1",
        action=Action.REACTIVATE,
        subscription="SUB-1",
        app=None,
        site=None,
        org=None,
        depends_on=(),
        reason="SUB-1 was cancelled (deactivates on 2027-01-15); declared active",
        source=at("SUB-1/id"),
    )
    assert provision.depends_on == ("reactivate:SUB-1",)
    assert provision.reason == "focus of SUB-1 has no site; provision it to acme (acme-corp)"


def test_reactivate_a_deactivated_subscription_before_its_data_is_deleted(seed: dict[str, Any]) -> None:
    live = [sub("SUB-1", "focus", status="deactivated", deactivated_on="2026-11-01", apps={"focus": "acme"})]
    plan = make_plan(
        seed, live=live, subs=[{"id": "SUB-1", "status": "active", "apps": {"focus": {"site": "acme"}}}]
    )
    assert only_change(plan).reason == (
        "SUB-1 was deactivated on 2026-11-01 (data deleted on 2026-12-31); declared active"
    )
    assert plan.changes[0].source == at("SUB-1/status")


def test_upcoming_subscriptions_are_deferred_with_their_start_date(seed: dict[str, Any]) -> None:
    live = [sub("SUB-1", "talent", status="upcoming", start_date="2026-12-15")]
    plan = make_plan(seed, live=live, subs=[{"id": "SUB-1", "apps": {"talent": {"site": "labs"}}}])
    assert (plan.changes, plan.blocked, plan.warnings) == ((), (), ())
    (deferred,) = plan.deferred
    assert (deferred.subscription, deferred.start_date, dict(deferred.apps), deferred.source) == (
        "SUB-1",
        dt.date(2026, 12, 15),
        {"talent": "labs"},
        at("SUB-1/id"),
    )


def test_a_deferred_subscription_that_would_break_a_rule_warns_instead_of_blocking(
    seed: dict[str, Any],
) -> None:
    live = [sub("SUB-1", "talent", status="upcoming")]
    plan = make_plan(seed, live=live, subs=[{"id": "SUB-1", "apps": {"talent": {"site": "acme-std"}}}])
    assert (plan.changes, plan.blocked) == ((), ())
    assert [(w.message, w.source) for w in plan.warnings] == [
        (
            "SUB-1 will be blocked when it starts: [premium-site] talent needs a site with Jira Premium "
            "or Enterprise; acme-std has Jira Standard",
            at("SUB-1/apps/talent/site"),
        )
    ]


def test_live_subscriptions_no_file_declares_are_unmanaged_except_deleted_ones(seed: dict[str, Any]) -> None:
    live = [
        sub("SUB-1", "jira-align", apps={"jira-align": "labs"}),
        sub("SUB-2", "focus", status="deleted"),
        sub("SUB-3", "talent", status="cancelled"),
    ]
    plan = make_plan(seed, live=live)
    assert [(u.subscription, u.product, u.status, dict(u.apps)) for u in plan.unmanaged] == [
        ("SUB-1", "jira-align", "active", {"jira-align": "labs"}),
        ("SUB-3", "talent", "cancelled", {"talent": None}),
    ]
    assert plan.changes == ()


def test_apps_declared_under_a_cancelled_subscription_are_not_provisioned_and_say_so(
    seed: dict[str, Any],
) -> None:
    live = [sub("SUB-1", "focus", status="cancelled")]
    subs = [{"id": "SUB-1", "status": "cancelled", "apps": {"focus": {"site": "acme"}}}]
    plan = make_plan(seed, live=live, subs=subs)
    assert plan.changes == ()
    assert [(w.message, w.source) for w in plan.warnings] == [
        ("SUB-1 is declared cancelled, so its apps are not provisioned: focus (acme)", at("SUB-1/status"))
    ]


def test_every_list_comes_out_in_one_order(seed: dict[str, Any]) -> None:
    live = [sub(f"SUB-{n}", "jira-align") for n in (3, 1, 2)] + [sub("SUB-9", "focus", status="cancelled")]
    subs = [
        {"id": "SUB-3", "apps": {"jira-align": {"site": "other"}}},
        {"id": "SUB-1", "apps": {"jira-align": {"site": "nowhere"}}},
        {"id": "SUB-2", "apps": {"jira-align": {"site": "new-site"}}},
        {"id": "SUB-9", "apps": {"focus": {"site": "acme"}}},
    ]
    sites = [{"name": "new-site", "org": "acme-labs", "create": True}]
    plan = make_plan(seed, live=live, subs=subs, sites=sites, actor="alice@acme.example")
    assert [c.id for c in plan.changes] == [
        "create-site:new-site",
        "reactivate:SUB-9",
        "provision:SUB-9:focus",
        "provision:SUB-2:jira-align",
    ]
    assert [(b.subscription, b.rule) for b in plan.blocked] == [
        ("SUB-1", "site-exists"),
        ("SUB-3", "org-admin"),
    ]
    assert plan.blocked[1] == Blocked(
        rule="org-admin",
        message="alice@acme.example is not an admin of org other-org (its admins: dana@acme.example)",
        subscription="SUB-3",
        app="jira-align",
        site="other",
        source=at("SUB-3/apps/jira-align"),
        action=Action.PROVISION,
        org="other-org",
    )
