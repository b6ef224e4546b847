"""Declared subscriptions: what each one's live status and declared status call for.

The table in docs/rules.md ("Statuses") is implemented by `_plan_one`: upcoming ones are deferred,
active ones get their missing apps provisioned, cancelled or deactivated ones declared active are
reactivated first, deleted ones are blocked by `retention`, and `status: cancelled` cancels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from msgspec import Struct
from msgspec import field as msgspec_field

from reconciler.model import (
    PRODUCT_APPS,
    Action,
    Change,
    Deferred,
    DesiredSubscription,
    Origin,
    Status,
    Subscription,
)
from reconciler.planning.facts import Facts, Finding, live_placements
from reconciler.planning.lookalike import lookalike_note
from reconciler.planning.provisions import Candidate, app_candidates


class Note(Struct, frozen=True):
    """A warning, before its position is resolved."""

    message: str
    origin: Origin | None


class Draft(Struct):
    """What the subscriptions call for, gathered while walking them (internal to the planner)."""

    changes: list[Change] = msgspec_field(default_factory=list)
    findings: list[Finding] = msgspec_field(default_factory=list)
    candidates: list[Candidate] = msgspec_field(default_factory=list)
    deferred: list[tuple[DesiredSubscription, Subscription]] = msgspec_field(default_factory=list)
    notes: list[Note] = msgspec_field(default_factory=list)


def plan_subscriptions(facts: Facts) -> Draft:
    draft = Draft()
    declared = facts.desired.subscriptions
    for sub_id in sorted(_unsettled(declared, facts.console.subscriptions)):
        _plan_one(facts, declared[sub_id], draft)
    return draft


def _unsettled(declared: Mapping[str, DesiredSubscription], live: Mapping[str, Subscription]) -> list[str]:
    """The ids of the subscriptions `_plan_one` has something to say about. Nearly all of a big
    estate are active in the console as declared, with every app on its declared site: for those
    it would find no mismatch and no app to provision, so they are settled here with a few
    lookups each."""
    active, cancelled, carried_by = Status.ACTIVE.value, Status.CANCELLED.value, PRODUCT_APPS.get
    left = []
    for sub_id, sub in declared.items():
        now = live.get(sub.id)
        if (
            now is not None
            and now.status == active
            and sub.status != cancelled
            and (sub.billing_account is None or sub.billing_account == now.billing_account)
            and (sub.product is None or sub.product == now.product)
        ):
            carried, placed = carried_by(now.product, ()), now.apps
            for app in sub.apps:  # a loop, not all(): a generator per subscription costs more
                site = placed.get(app.app)
                if not site or site != app.site or app.app not in carried:
                    break
            else:
                continue
        left.append(sub_id)
    return left


def _plan_one(facts: Facts, declared: DesiredSubscription, draft: Draft) -> None:
    live = facts.console.subscriptions.get(declared.id)
    if live is None:
        message = f"subscription {declared.id} does not exist in the console"
        message += lookalike_note(declared.id, facts.console.subscriptions)
        draft.findings.append(_finding("unknown-subscription", message, declared.origin, declared, None))
        return
    mismatches = _mismatches(declared, live)
    if mismatches:
        draft.findings.extend(mismatches)
        return
    if declared.status == Status.CANCELLED:
        _plan_cancelled(facts, declared, live, draft)
        return
    apps = declared.apps
    if live.status == Status.UPCOMING:
        draft.deferred.append((declared, live))
        draft.candidates += app_candidates(facts, live, apps, deferred=True, after_reactivate=False)
    elif live.status == Status.ACTIVE:
        draft.candidates += app_candidates(facts, live, apps, deferred=False, after_reactivate=False)
    elif live.status in (Status.CANCELLED, Status.DEACTIVATED):
        if _plan_reactivate(facts, declared, live, draft):
            draft.candidates += app_candidates(facts, live, apps, deferred=False, after_reactivate=True)
    else:
        draft.findings.append(_retention(declared, live))


def blocked_action(declared: DesiredSubscription, live: Subscription | None) -> Action:
    """What a rule about a whole subscription blocks: what its declared status asks of the console.

    `status: cancelled` asks for a cancel; `active` for a reactivation when the console has it
    cancelled, deactivated or deleted, else for the provision of its declared apps.
    """
    if declared.status == Status.CANCELLED:
        return Action.CANCEL
    ended = (Status.CANCELLED, Status.DEACTIVATED, Status.DELETED)
    return Action.REACTIVATE if live is not None and live.status in ended else Action.PROVISION


def _finding(
    rule: str, message: str, origin: Origin, declared: DesiredSubscription, live: Subscription | None
) -> Finding:
    action = blocked_action(declared, live)
    return Finding(rule, message, origin, declared.id, action=action)


def _mismatches(declared: DesiredSubscription, live: Subscription) -> list[Finding]:
    stated_account, stated_product = declared.billing_account, declared.product
    if (stated_account is None or stated_account == live.billing_account) and (
        stated_product is None or stated_product == live.product
    ):
        return []  # the usual case, without building the pairs below
    findings = []
    for key, stated, actual, origin in (
        ("billing_account", declared.billing_account, live.billing_account, declared.billing_account_origin),
        ("product", declared.product, live.product, declared.product_origin),
    ):
        if stated is not None and stated != actual:
            message = f"{declared.id} is declared with {key} {stated}, but the console has {actual}"
            where = origin or declared.origin
            findings.append(_finding("subscription-mismatch", message, where, declared, live))
    return findings


def _plan_cancelled(facts: Facts, declared: DesiredSubscription, live: Subscription, draft: Draft) -> None:
    placed = live_placements(live)
    waiting = [f"{a.app} ({a.site})" for a in declared.apps if placed.get(a.app) != a.site]
    if waiting:
        draft.notes.append(
            Note(
                f"{declared.id} is declared cancelled, so its apps are not provisioned: {', '.join(waiting)}",
                declared.status_origin,
            )
        )
    if live.status not in (Status.UPCOMING, Status.ACTIVE):
        return  # already cancelled, deactivated or deleted: nothing left to cancel
    problem = facts.billing_admin_problem(live)
    if problem is not None:
        draft.findings.append(_finding("billing-admin", problem, declared.status_origin, declared, live))
        return
    # In the product's own order (jira-align, focus, talent), as the console lists them.
    order = {app: i for i, app in enumerate(PRODUCT_APPS.get(live.product, ()))}
    placed_now = live_placements(live)
    takes_down = {app: placed_now.get(app) for app in sorted(live.apps, key=lambda a: (order.get(a, 9), a))}
    reason = _cancel_reason(live, takes_down)
    draft.changes.append(
        _lifecycle_change(Action.CANCEL, declared, reason, takes_down, live.deactivation_date)
    )


def _lifecycle_change(
    action: Action,
    declared: DesiredSubscription,
    reason: str,
    takes_down: dict[str, str | None] | None = None,
    deactivation_date: dt.date | None = None,
) -> Change:
    """A cancel or a reactivation: a change of the whole subscription, declared at its `status`."""
    return Change(
        id=f"{action}:{declared.id}",
        action=action,
        subscription=declared.id,
        app=None,
        site=None,
        org=None,
        depends_on=(),
        reason=reason,
        source=declared.status_origin.span(),
        takes_down=takes_down,
        deactivation_date=deactivation_date,
    )


def _cancel_reason(live: Subscription, takes_down: dict[str, str | None]) -> str:
    when = f"on {live.deactivation_date}" if live.deactivation_date else "15 days after the term ends"
    named = [f"{app} ({site or 'no site'})" for app, site in takes_down.items()]
    if not named:
        return f"{live.id} is declared cancelled: it is deactivated {when}"
    verb = "goes" if len(named) == 1 else "go"
    apps = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return f"{live.id} is declared cancelled: {apps} {verb} off {when}"


def _plan_reactivate(facts: Facts, declared: DesiredSubscription, live: Subscription, draft: Draft) -> bool:
    """Add the reactivation (or what blocks it); True when the apps can be planned after it."""
    deletion = live.deletion_date
    if live.status == Status.DEACTIVATED and deletion is not None and deletion <= facts.console.now:
        draft.findings.append(_retention(declared, live))
        return False
    if live.status == Status.CANCELLED:
        was = f"{live.id} was cancelled (deactivates on {live.deactivation_date or 'its term end + 15 days'})"
    else:
        gone = f"data deleted on {deletion}" if deletion else "data not yet deleted"
        was = f"{live.id} was deactivated on {live.deactivated_on or 'an unknown date'} ({gone})"
    problem = facts.billing_admin_problem(live)
    if problem is not None:
        draft.findings.append(_finding("billing-admin", problem, declared.status_origin, declared, live))
    else:
        draft.changes.append(_lifecycle_change(Action.REACTIVATE, declared, f"{was}; declared active"))
    return True


def _retention(declared: DesiredSubscription, live: Subscription) -> Finding:
    when = f" on {live.deletion_date}" if live.deletion_date else ""
    message = (
        f"{declared.id} was deleted{when} and its data is gone; it cannot be reactivated: "
        f"declare it cancelled or remove it"
    )
    return _finding("retention", message, declared.status_origin, declared, live)


def deferred_entry(declared: DesiredSubscription, live: Subscription) -> Deferred:
    return Deferred(
        subscription=declared.id,
        start_date=live.start_date,
        apps={a.app: a.site for a in sorted(declared.apps, key=lambda a: a.app)},
        source=declared.origin.span(),
    )
