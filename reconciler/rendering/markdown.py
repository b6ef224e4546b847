"""The plan as a pull-request comment: loud about what is blocked or destructive, quiet about the rest.

Order: the marker line, a summary table, blocked entries, cancellations (each app it takes down
and the date), then the changes grouped by org and site, then deferred and unmanaged
subscriptions collapsed, and the checksum a reviewer approves. GitHub refuses comments over
65,536 characters, so past 60,000 the comment lists as many entries as fit (`mdbudget`) and says
how many more the JSON plan holds. Every word from YAML goes through `mdsafe`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from reconciler.model import Action, Blocked, Change, DeclaredFact, Plan, SourceSpan
from reconciler.planning.planfile import summary
from reconciler.rendering.links import SourceLinks
from reconciler.rendering.mdsafe import cell, code, prose
from reconciler.rendering.text import apps_text, blocked_subject, starts_in

LIMIT = 60_000
#: The first line of every Markdown plan: a CI step finds (and updates) its own comment by it.
MARKER = "<!-- reconciler-plan -->"

_ICON = {Action.CREATE_SITE: "🆕", Action.PROVISION: "📦", Action.REACTIVATE: "🔄", Action.CANCEL: "🗑️"}


def where(source: SourceSpan | None, links: SourceLinks | None = None) -> str:
    """`file:line:column`, linked to that line of the repository when CI says where it is."""
    if source is None:
        return "(no location)"
    url = links.url(source) if links is not None else None
    return f"[{code(str(source))}]({url})" if url else code(str(source))


def render_markdown(plan: Plan, *, limit: int = LIMIT, links: SourceLinks | None = None) -> str:
    full = "\n\n".join(
        part
        for part in (
            MARKER + "\n" + title(plan),
            summary_table(plan),
            blocked_section(plan.blocked, links),
            cancels_section(plan.changes, links),
            _grouped_changes(plan.changes, links),
            _in_progress(plan),
            _warnings(plan, links),
            _deferred(plan, links),
            _unmanaged(plan),
            checksums(plan),
        )
        if part
    )
    if len(full) + 1 <= limit:
        return full + "\n"
    from reconciler.rendering.mdbudget import shortened

    return shortened(plan, len(full) + 1, limit, links)


def title(plan: Plan) -> str:
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


def summary_table(plan: Plan) -> str:
    counts = summary(plan)
    rows = [
        ("⛔ blocked", counts["blocked"]),
        ("🗑️ subscriptions to cancel", counts["cancel"]),
        ("🆕 sites to create", counts["create_site"]),
        ("📦 apps to provision", counts["provision"]),
        ("🔄 subscriptions to reactivate", counts["reactivate"]),
        # Only a console that has work under way shows the row: other plans keep their exact form.
        *([("⏳ in progress on the console", len(plan.in_progress))] if plan.in_progress else []),
        ("⏳ deferred (upcoming)", counts["deferred"]),
        ("👻 unmanaged", counts["unmanaged"]),
        ("⚠️ warnings", counts["warnings"]),
    ]
    lines = ["| | count |", "|---|---:|", *(f"| {label} | {count} |" for label, count in rows)]
    return "\n".join(lines)


def declared_note(facts: tuple[DeclaredFact, ...], links: SourceLinks | None = None) -> str:
    """` 📝 declared: ...`: the facts a decision rests on that were declared, not observed ("" if none)."""
    if not facts:
        return ""
    listed = "; ".join(f"{prose(f.fact)} ({where(f.source, links)})" for f in facts)
    return f" 📝 declared: {listed}"


BLOCKED_HEAD = (
    "> [!CAUTION]\n"
    "> Nothing can be applied until every blocked entry is fixed at the place shown.\n"
    "\n"
    "| rule | blocks | where | why |\n"
    "|---|---|---|---|"
)
CANCELS_NOTE = (
    "> [!WARNING]\n"
    "> Cancelling takes every app of the subscription down on its deactivation date. "
    "`apply` runs it only with `--allow-cancel`."
)


def table_row(*cells: str) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def blocked_row(entry: Blocked, links: SourceLinks | None) -> str:
    subject = blocked_subject(entry, code)
    why = prose(entry.message) + declared_note(entry.declared, links)
    return table_row(code(entry.rule), subject, where(entry.source, links), why)


def blocked_title(count: int) -> str:
    return f"### ⛔ Blocked ({count})"


def blocked_section(blocked: Iterable[Blocked], links: SourceLinks | None) -> str:
    rows = [blocked_row(b, links) for b in blocked]
    return "\n".join([blocked_title(len(rows)), "", BLOCKED_HEAD, *rows]) if rows else ""


def cancel_block(change: Change, links: SourceLinks | None) -> str:
    when = f"**{change.deactivation_date}**" if change.deactivation_date else "15 days after the term ends"
    takes_down = change.takes_down or {}
    apps = [
        f"  - {code(app)} " + (f"on {code(site)}" if site else "(no site)")
        for app, site in takes_down.items()
    ]
    head = (
        f"- 🗑️ **cancel {code(str(change.subscription))}**: its apps go off on {when} "
        f"({where(change.source, links)})"
    )
    return "\n".join([head, *apps])


def cancels_title(count: int) -> str:
    return f"### 🗑️ Destructive: {count} subscription{'s' if count != 1 else ''} to cancel"


def cancels_section(changes: Iterable[Change], links: SourceLinks | None) -> str:
    cancels = [c for c in changes if c.action == Action.CANCEL]
    if not cancels:
        return ""
    blocks = [cancel_block(c, links) for c in cancels]
    return "\n".join([cancels_title(len(cancels)), "", CANCELS_NOTE, "", *blocks])


def change_line(change: Change, links: SourceLinks | None) -> str:
    if change.action == Action.CREATE_SITE:
        what = f"create site {code(str(change.site))}"
    elif change.action == Action.PROVISION:
        what = f"provision {code(str(change.app))} of {code(str(change.subscription))}"
    else:
        what = f"{change.action} {code(str(change.subscription))}"
    after = f" (after {', '.join(code(d) for d in change.depends_on)})" if change.depends_on else ""
    reason = prose(change.reason)
    return (
        f"- {_ICON[change.action]} {what}{after}: {reason} ({where(change.source, links)})"
        + declared_note(change.declared, links)
    )


def org_heading(org: str) -> str:
    return f"#### Org {code(org)}"


def site_heading(site: str) -> str:
    return f"**{code(site)}**"


LIFECYCLE_HEADING = "#### Subscriptions"


def by_org_and_site(changes: Iterable[Change]) -> tuple[dict[str, dict[str, list[Change]]], list[Change]]:
    """Changes of a site, by org and site (both sorted), and those of a whole subscription."""
    by_org: dict[str, dict[str, list[Change]]] = defaultdict(lambda: defaultdict(list))
    lifecycle = []
    for change in changes:
        if change.org is not None and change.site is not None:
            by_org[change.org][change.site].append(change)
        else:
            lifecycle.append(change)
    ordered = {org: {site: by_org[org][site] for site in sorted(by_org[org])} for org in sorted(by_org)}
    return ordered, lifecycle


def _grouped_changes(changes: tuple[Change, ...], links: SourceLinks | None) -> str:
    if not changes:
        return ""
    by_org, lifecycle = by_org_and_site(changes)
    lines = [f"### Changes ({len(changes)})"]
    for org, sites in by_org.items():
        lines += ["", org_heading(org)]
        for site, site_changes in sites.items():
            lines += ["", site_heading(site), "", *(change_line(c, links) for c in site_changes)]
    if lifecycle:
        lines += ["", LIFECYCLE_HEADING, "", *(change_line(c, links) for c in lifecycle)]
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


def _warnings(plan: Plan, links: SourceLinks | None) -> str:
    if not plan.warnings:
        return ""
    lines = [f"### ⚠️ Warnings ({len(plan.warnings)})", ""]
    lines += [f"- {prose(w.message)} ({where(w.source, links)})" for w in plan.warnings]
    return "\n".join(lines)


def _details(summary_text: str, body: list[str]) -> str:
    return "\n".join(["<details>", f"<summary>{summary_text}</summary>", "", *body, "", "</details>"])


def _deferred(plan: Plan, links: SourceLinks | None) -> str:
    if not plan.deferred:
        return ""
    rows = [
        table_row(
            code(d.subscription),
            starts_in(d.start_date, plan.observed_on),
            prose(apps_text(d.apps)),
            where(d.source, links),
        )
        for d in plan.deferred
    ]
    body = ["| subscription | starts | apps | where |", "|---|---|---|---|", *rows]
    title = f"⏳ Deferred: {len(plan.deferred)} upcoming, provisioned on the first run after the start date"
    return _details(title, body)


def _unmanaged(plan: Plan) -> str:
    if not plan.unmanaged:
        return ""
    rows = [
        table_row(code(u.subscription), code(u.product), code(u.status), prose(apps_text(u.apps, " on ")))
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


def checksums(plan: Plan) -> str:
    digests = f"<sub>desired {code(plan.desired_digest)} · observed {code(plan.observed_fingerprint)}</sub>"
    if not plan.changes:
        return digests
    return f"Checksum: {code(plan.checksum)}\n\n{digests}"
