"""The runbook: each change of a plan as the exact admin.atlassian.com steps, names filled in.

No public Atlassian API provisions, cancels or reactivates a subscription, so on a real estate a
billing admin makes each change in the billing console. The steps follow Atlassian's own support
articles (docs/atlassian.md cites them). A site is created in the flow that provisions its first
app ("create a new site" on the app's page), so a create-site change and the first provision onto
that site are one step. `plan --format runbook` prints the Markdown checklist for a pull request;
`apply` walks the same steps one at a time on a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.model import PREMIUM_APPS, SITE_NAME, Action, Change, Console, DeclaredFact, Plan
from reconciler.rendering.markdown import where
from reconciler.rendering.mdsafe import code, prose
from reconciler.terminal import printable

MARKER = "<!-- reconciler-runbook -->"
BILLING = "https://admin.atlassian.com/billing"
APP_NAMES = {"jira-align": "Jira Align", "focus": "Focus", "talent": "Talent"}
PRODUCT_NAMES = {
    "strategy-collection": "Strategy Collection",
    "jira-align": "Jira Align",
    "focus": "Focus",
    "talent": "Talent",
}


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    title: str
    changes: tuple[Change, ...]
    actions: tuple[str, ...]  # Markdown, one checklist item each
    done_when: str

    @property
    def change_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.changes)

    @property
    def declared(self) -> tuple[DeclaredFact, ...]:
        facts = {(f.fact, f.source): f for c in self.changes for f in c.declared}
        return tuple(facts.values())


def runbook_steps(plan: Plan, console: Console | None) -> list[Step]:
    """The plan's changes as steps, in dependency order (plan order already puts a site first)."""
    names = _Names(console)
    merged: set[str] = set()
    steps: list[Step] = []
    for change in plan.changes:
        if change.id in merged:
            continue
        first_app = None
        if change.action is Action.CREATE_SITE:
            first_app = next(
                (c for c in plan.changes if c.action is Action.PROVISION and change.id in c.depends_on), None
            )
            if first_app is not None:
                merged.add(first_app.id)
        steps.append(_step(len(steps) + 1, change, first_app, names))
    return steps


class _Names:
    """Display names the console knows; plain ids without one (a saved plan has no console)."""

    def __init__(self, console: Console | None) -> None:
        self.console = console

    def org(self, org_id: str | None) -> str:
        org = self.console.organizations.get(org_id or "") if self.console else None
        return f"**{prose(org.name) or code(org.name)}** ({code(org.id)})" if org else code(str(org_id))

    def subscription(self, sub_id: str | None) -> str:
        live = self.console.subscriptions.get(sub_id or "") if self.console else None
        if live is None:
            return f"the subscription {code(str(sub_id))}"
        return f"**{PRODUCT_NAMES.get(live.product, code(live.product))}** ({code(live.id)})"

    def account_step(self, sub_id: str | None) -> str:
        live = self.console.subscriptions.get(sub_id or "") if self.console else None
        account = f"the billing account {code(live.billing_account)}" if live else "its billing account"
        return f"Go to {BILLING} and select {account} (if you have several)."

    def partner_note(self, sub_id: str | None) -> str | None:
        console = self.console
        live = console.subscriptions.get(sub_id or "") if console else None
        account = console.billing_accounts.get(live.billing_account) if console and live else None
        if account is None or account.managed_by != "partner":
            return None
        admins = ", ".join(code(a) for a in sorted(account.billing_admins)) or "its billing admin"
        return (
            f"{code(account.id)} is managed by {prose(account.partner or 'a partner')}: its billing admin "
            f"({admins}) takes this step, and must be in the organization."
        )


def _app(app: str | None) -> str:
    return APP_NAMES.get(app or "") or code(str(app))


def _site_url(site: str | None) -> str:
    """The site's address, a link in the comment only when the name is a site name."""
    url = f"https://{site}.atlassian.net"
    return url if site is not None and SITE_NAME.fullmatch(site) else code(url)


def _step(number: int, change: Change, first_app: Change | None, names: _Names) -> Step:
    if change.action is Action.CREATE_SITE:
        return _create_site_step(number, change, first_app, names)
    if change.action is Action.PROVISION:
        return _provision_step(number, change, names)
    return _lifecycle_step(number, change, names)


def _app_actions(app_change: Change, names: _Names) -> list[str]:
    app = _app(app_change.app)
    actions = [names.account_step(app_change.subscription)]
    note = names.partner_note(app_change.subscription)
    if note is not None:
        actions.insert(0, note)
    product = names.subscription(app_change.subscription)
    return [
        *actions,
        f"Select **Subscriptions** in the side navigation, then {product}.",
        f'On the subscription details page, select **{app}**: it shows "Set up required".',
        f"Select the organization {names.org(app_change.org)}.",
    ]


def _create_site_step(number: int, change: Change, first_app: Change | None, names: _Names) -> Step:
    site = code(str(change.site))
    url = _site_url(change.site)
    if first_app is None:
        actions = [
            f"In https://admin.atlassian.com select the organization {names.org(change.org)}, then "
            f"**Products** → **Add product**, and create the site {site} ({url}).",
        ]
        return Step(
            number,
            f"create site {site} in org {code(str(change.org))}",
            (change,),
            tuple(actions),
            f"a product workspace is observed on {url}",
        )
    app = _app(first_app.app)
    actions = [
        *_app_actions(first_app, names),
        f"Select the option to create a new site, enter {site} in the **Your site** text box, "
        "and select **Create site**.",
        f'After a few minutes, check that the subscription shows {site} instead of "Site setup required".',
    ]
    title = (
        f"create site {site} in org {code(str(change.org))} and provision {app} of "
        f"{code(str(first_app.subscription))} to it"
    )
    return Step(number, title, (change, first_app), tuple(actions), f"a {app} workspace is observed on {url}")


def _provision_step(number: int, change: Change, names: _Names) -> Step:
    app = _app(change.app)
    site = code(str(change.site))
    url = _site_url(change.site)
    choose = f"Select **Add to an existing site** and select the site {site} ({url})."
    if change.app in PREMIUM_APPS:
        choose += " It must be your Jira Premium or Enterprise site."
    actions = [
        *_app_actions(change, names),
        choose,
        f'After a few minutes, check that the subscription shows {site} instead of "Site setup required"; '
        f"{app} is then in the app switcher.",
    ]
    title = f"provision {app} of {code(str(change.subscription))} to {site} (org {code(str(change.org))})"
    return Step(number, title, (change,), tuple(actions), f"a {app} workspace is observed on {url}")


def _lifecycle_step(number: int, change: Change, names: _Names) -> Step:
    sub = code(str(change.subscription))
    record = _status_fact(change)
    if change.action is Action.CANCEL:
        takes = ", ".join(_app(a) for a in (change.takes_down or {})) or "its apps"
        when = f"on {change.deactivation_date}" if change.deactivation_date else "15 days after the term ends"
        verb, status = "Cancel", "cancelled"
        effect = (
            f"Confirm: {takes} go off {when}; until then they stay usable and the cancellation can be undone."
        )
    else:
        verb, status = "Reactivate", "active"
        effect = "Confirm the reactivation: the apps come back with their data."
    actions = [
        names.account_step(change.subscription),
        f"Select **Subscriptions** in the side navigation, then {names.subscription(change.subscription)}.",
        f"Select **{verb} subscription**. {effect}",
        f"Record it in the billing facts: set `status: {status}` for {sub}{record} (no public API shows a "
        "subscription's status).",
    ]
    done = f"the billing facts declare {sub} {status}"
    return Step(number, f"{verb.lower()} {sub}", (change,), tuple(actions), done)


def _status_fact(change: Change) -> str:
    for fact in change.declared:
        if fact.fact.startswith(f"{change.subscription}:") and fact.source is not None:
            return f" ({where(fact.source)})"
    return ""


# --- rendering --------------------------------------------------------------------------------------


_CONVERGED = "No steps: the console already matches desired state."


def render_runbook(plan: Plan, console: Console | None = None) -> str:
    steps = runbook_steps(plan, console)
    lines = [MARKER, f"## reconciler runbook: {_count(len(steps))} in admin.atlassian.com", ""]
    if plan.blocked:
        lines += [
            f"> [!CAUTION]\n> {len(plan.blocked)} blocked: nothing can be applied until every blocked entry "
            "is fixed (`reconciler plan` shows them).",
            "",
        ]
    if not steps:
        # Blocked entries are no steps yet, and the console does not match until they are fixed.
        ending = "No steps until the blocked entries are fixed." if plan.blocked else _CONVERGED
        return "\n".join([*lines, ending]) + "\n"
    lines += [
        "No public Atlassian API makes these changes: a billing admin makes them in admin.atlassian.com, "
        "in this order. `reconciler apply` shows each step, waits until it observes it done, and journals "
        "who confirmed it.",
        "",
        f"Plan {code(plan.checksum)} against {code(plan.provider)}"
        + (f" as {code(plan.actor)}" if plan.actor else ""),
    ]
    for step in steps:
        lines += ["", *step_markdown(step, len(steps))]
    return "\n".join(lines) + "\n"


def step_markdown(step: Step, total: int) -> list[str]:
    lines = [f"### Step {step.number} of {total}: {step.title}", ""]
    lines += [f"- [ ] {action}" for action in step.actions]
    ids = ", ".join(code(i) for i in step.change_ids)
    lines += ["", f"Done when: {step.done_when} ({ids})."]
    if step.declared:
        facts = "; ".join(f"{prose(f.fact)} ({where(f.source)})" for f in step.declared)
        lines += ["", f"📝 Rests on declared facts: {facts}"]
    return lines


def step_text(step: Step, total: int) -> str:
    """One step for a terminal: the Markdown without its markup."""
    lines = [f"Step {step.number} of {total}: {_plain(step.title)}"]
    lines += [f"  {i}. {_plain(action)}" for i, action in enumerate(step.actions, 1)]
    lines.append(f"  Done when: {_plain(step.done_when)}.")
    return "\n".join(lines) + "\n"


_MARKUP = re.compile(r"\*\*|`")


def _plain(text: str) -> str:
    # Names come from the API and the facts files: nothing in them may drive the terminal.
    return printable(_MARKUP.sub("", text))


def _count(n: int) -> str:
    return f"{n} step" + ("" if n == 1 else "s")


def remaining_steps(steps: Sequence[Step], done: set[str]) -> list[Step]:
    return [s for s in steps if not set(s.change_ids) <= done]
