"""The plan as a pull-request comment: loud about what is blocked or destructive, quiet about the rest.

Order: a summary table, blocked entries, cancellations (each app it takes down and the date),
then the changes grouped by org and site, then deferred and unmanaged subscriptions collapsed, and
the checksum a reviewer approves. GitHub refuses comments over 65,536 characters, so past
60,000 the comment keeps the summary and what is blocked or destructive, and points at the JSON plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from reconciler.model import Action, Blocked, Change, DeclaredFact, Plan, SourceSpan
from reconciler.planning.planfile import summary
from reconciler.rendering.text import apps_text, starts_in
from reconciler.terminal import printable

LIMIT = 60_000
#: room kept for the blocked and destructive lists when the full comment is too long
SHORT_BUDGET = 50_000

_ICON = {Action.CREATE_SITE: "🆕", Action.PROVISION: "📦", Action.REACTIVATE: "🔄", Action.CANCEL: "🗑️"}


def escape(text: str) -> str:
    """Keep user-supplied words from turning into markup (tables, HTML, emphasis, code)."""
    text = printable(text)  # a line break would end a table row; bidi overrides reorder the comment
    for char in ("\\", "`", "*", "|"):
        text = text.replace(char, "\\" + char)
    return text.replace("<", "&lt;")


def code(text: str) -> str:
    return f"`{printable(text).replace('`', '')}`"


def where(source: SourceSpan | None) -> str:
    return code(str(source)) if source is not None else "(no location)"


def render_markdown(plan: Plan, *, limit: int = LIMIT) -> str:
    full = "\n\n".join(
        part
        for part in (
            _title(plan),
            _summary_table(plan),
            _blocked(plan.blocked),
            _cancels(plan.changes),
            _grouped_changes(plan.changes),
            _in_progress(plan),
            _warnings(plan),
            _deferred(plan),
            _unmanaged(plan),
            _checksums(plan),
        )
        if part
    )
    if len(full) + 1 <= limit:
        return full + "\n"
    return _shortened(plan, len(full) + 1, limit)


def _title(plan: Plan) -> str:
    counts = summary(plan)
    changes = f"{counts['changes']} change{'' if counts['changes'] == 1 else 's'}"
    if plan.blocked:
        headline = f"⛔ {counts['blocked']} blocked, {changes}"
    elif plan.changes:
        headline = changes + (f" (🗑️ {counts['cancel']} to cancel)" if counts["cancel"] else "")
    else:
        headline = "no changes"
    actor = f" as {code(plan.actor)}" if plan.actor else ""
    paths = ", ".join(code(p) for p in plan.paths) or "(no paths)"
    date = f" on {plan.observed_on}" if plan.observed_on else ""
    return f"## reconciler plan: {headline}\n\n{paths} against {code(plan.provider)}{actor}{date}"


def _summary_table(plan: Plan) -> str:
    counts = summary(plan)
    rows = [
        ("⛔ blocked", counts["blocked"]),
        ("🗑️ subscriptions to cancel", counts["cancel"]),
        ("🆕 sites to create", counts["create_site"]),
        ("📦 apps to provision", counts["provision"]),
        ("🔄 subscriptions to reactivate", counts["reactivate"]),
        ("⏳ deferred (upcoming)", counts["deferred"]),
        ("👻 unmanaged", counts["unmanaged"]),
        ("⚠️ warnings", counts["warnings"]),
    ]
    lines = ["| | count |", "|---|---:|", *(f"| {label} | {count} |" for label, count in rows)]
    return "\n".join(lines)


def declared_note(facts: tuple[DeclaredFact, ...]) -> str:
    """` 📝 declared: ...`: the facts a decision rests on that were declared, not observed ("" if none)."""
    if not facts:
        return ""
    listed = "; ".join(f"{escape(f.fact)} ({where(f.source)})" for f in facts)
    return f" 📝 declared: {listed}"


def _blocked_lines(blocked: Iterable[Blocked]) -> list[str]:
    return [
        f"| {code(b.rule)} | {where(b.source)} | {escape(b.message)}{declared_note(b.declared)} |"
        for b in blocked
    ]


def _blocked(blocked: tuple[Blocked, ...], shown: int | None = None) -> str:
    if not blocked:
        return ""
    rows = _blocked_lines(blocked[:shown] if shown is not None else blocked)
    more = len(blocked) - len(rows)
    lines = [
        f"### ⛔ Blocked ({len(blocked)})",
        "",
        "> [!CAUTION]",
        "> Nothing can be applied until every blocked entry is fixed at the place shown.",
        "",
        "| rule | where | why |",
        "|---|---|---|",
        *rows,
    ]
    if more:
        lines += ["", f"…and {more} more in the JSON plan."]
    return "\n".join(lines)


def _cancel_block(change: Change) -> str:
    when = f"**{change.deactivation_date}**" if change.deactivation_date else "15 days after the term ends"
    takes_down = change.takes_down or {}
    apps = [
        f"  - {code(app)} " + (f"on {code(site)}" if site else "(no site)")
        for app, site in takes_down.items()
    ]
    head = (
        f"- 🗑️ **cancel {code(str(change.subscription))}**: its apps go off on {when} ({where(change.source)})"
    )
    return "\n".join([head, *apps])


def _cancels(changes: tuple[Change, ...], shown: int | None = None) -> str:
    cancels = [c for c in changes if c.action == Action.CANCEL]
    if not cancels:
        return ""
    listed = cancels[:shown] if shown is not None else cancels
    lines = [
        f"### 🗑️ Destructive: {len(cancels)} subscription{'s' if len(cancels) != 1 else ''} to cancel",
        "",
        "> [!WARNING]",
        "> Cancelling takes every app of the subscription down on its deactivation date. "
        "`apply` runs it only with `--allow-cancel`.",
        "",
        *(_cancel_block(c) for c in listed),
    ]
    if len(cancels) > len(listed):
        lines += ["", f"…and {len(cancels) - len(listed)} more in the JSON plan."]
    return "\n".join(lines)


def _change_line(change: Change) -> str:
    if change.action == Action.CREATE_SITE:
        what = f"create site {code(str(change.site))}"
    elif change.action == Action.PROVISION:
        what = f"provision {code(str(change.app))} of {code(str(change.subscription))}"
    else:
        what = f"{change.action} {code(str(change.subscription))}"
    after = f" (after {', '.join(code(d) for d in change.depends_on)})" if change.depends_on else ""
    return (
        f"- {_ICON[change.action]} {what}{after}: {escape(change.reason)} ({where(change.source)})"
        + declared_note(change.declared)
    )


def _grouped_changes(changes: tuple[Change, ...]) -> str:
    if not changes:
        return ""
    by_org: dict[str, dict[str, list[Change]]] = defaultdict(lambda: defaultdict(list))
    lifecycle = []
    for change in changes:
        if change.org is not None and change.site is not None:
            by_org[change.org][change.site].append(change)
        else:
            lifecycle.append(change)
    lines = [f"### Changes ({len(changes)})"]
    for org in sorted(by_org):
        lines += ["", f"#### Org {code(org)}"]
        for site in sorted(by_org[org]):
            lines += ["", f"**{code(site)}**", "", *(_change_line(c) for c in by_org[org][site])]
    if lifecycle:
        lines += ["", "#### Subscriptions", "", *(_change_line(c) for c in lifecycle)]
    return "\n".join(lines)


def _in_progress(plan: Plan) -> str:
    """Work the console had under way: not a change to review, but why a site or app is not there yet."""
    if not plan.in_progress:
        return ""
    lines = [
        f"### ⏳ In progress on the console ({len(plan.in_progress)})",
        "",
        "Accepted by the console and not finished: never planned again; `apply` waits for them.",
        "",
    ]
    for work in plan.in_progress:
        if work.action == Action.CREATE_SITE:
            what = f"create site {code(str(work.site))} in org {code(str(work.org))}"
        else:
            what = (
                f"provision {code(str(work.app))} of {code(str(work.subscription))} to {code(str(work.site))}"
            )
        since = "" if work.since is None else f", since {work.since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        lines.append(f"- {what}: operation {code(work.operation)}{since}")
    return "\n".join(lines)


def _warnings(plan: Plan) -> str:
    if not plan.warnings:
        return ""
    lines = [f"### ⚠️ Warnings ({len(plan.warnings)})", ""]
    lines += [f"- {escape(w.message)} ({where(w.source)})" for w in plan.warnings]
    return "\n".join(lines)


def _details(summary_text: str, body: list[str]) -> str:
    return "\n".join(["<details>", f"<summary>{summary_text}</summary>", "", *body, "", "</details>"])


def _deferred(plan: Plan) -> str:
    if not plan.deferred:
        return ""
    rows = [
        f"| {code(d.subscription)} | {starts_in(d.start_date, plan.observed_on)} | "
        f"{escape(apps_text(d.apps))} | {where(d.source)} |"
        for d in plan.deferred
    ]
    body = ["| subscription | starts | apps | where |", "|---|---|---|---|", *rows]
    title = f"⏳ Deferred: {len(plan.deferred)} upcoming, provisioned on the first run after the start date"
    return _details(title, body)


def _unmanaged(plan: Plan) -> str:
    if not plan.unmanaged:
        return ""
    rows = [
        f"| {code(u.subscription)} | {escape(u.product)} | {escape(u.status)} | "
        f"{escape(apps_text(u.apps, ' on '))} |"
        for u in plan.unmanaged
    ]
    body = [
        "Live subscriptions that no desired-state file declares. They are left alone; "
        "`reconciler import` writes them out.",
        "",
        "| subscription | product | status | apps |",
        "|---|---|---|---|",
        *rows,
    ]
    return _details(f"👻 Unmanaged: {len(plan.unmanaged)}", body)


def _checksums(plan: Plan) -> str:
    digests = f"<sub>desired {code(plan.desired_digest)} · observed {code(plan.observed_fingerprint)}</sub>"
    if not plan.changes:
        return digests
    return f"Checksum: {code(plan.checksum)}\n\n{digests}"


def _shortened(plan: Plan, full_length: int, limit: int) -> str:
    """The summary and what a reviewer must not miss, within the limit; the rest is in the JSON plan."""
    note = (
        f"> [!NOTE]\n> The full plan is {full_length:,} characters, too long for a comment. "
        "Read it in the JSON plan artifact (`reconciler plan --out plan.json`, "
        "then `reconciler show plan.json`)."
    )
    shown = len(plan.blocked) + len(plan.changes)
    while True:
        parts = [
            _title(plan),
            _summary_table(plan),
            note,
            _blocked(plan.blocked, shown),
            _cancels(plan.changes, shown),
            _checksums(plan),
        ]
        text = "\n\n".join(p for p in parts if p) + "\n"
        if len(text) <= min(limit, SHORT_BUDGET) or shown == 0:
            return text
        shown = shown // 2
