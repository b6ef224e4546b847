"""The plan for a terminal: Terraform-like, one `+` / `~` / `-` line per change, then why and where.

Colour is the caller's decision (`terminal.color_enabled`): on a TTY, never with NO_COLOR.
Lines fit in 100 columns where the names allow it. Every name, path and message comes from
desired state, the console or a plan file, all untrusted: each is made printable (escapes,
bidi overrides and line breaks shown, never acted on) and clipped (a value past 200 characters
shows its start and how many more it has) before it is laid out.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Iterable, Mapping

from reconciler.model import (
    Action,
    Blocked,
    Change,
    DeclaredFact,
    Deferred,
    InProgress,
    Plan,
    PlanWarning,
    SourceSpan,
    Unmanaged,
)
from reconciler.planning.planfile import summary
from reconciler.terminal import paint, plural, visible

WIDTH = 100
DETAIL = " " * 6

_SIGN = {Action.CREATE_SITE: "+", Action.PROVISION: "+", Action.REACTIVATE: "~", Action.CANCEL: "-"}
_COLOR = {"+": "green", "~": "yellow", "-": "red"}


def render_text(plan: Plan, *, color: bool = False) -> str:
    sections = [
        _header(plan),
        _changes(plan.changes, color),
        _in_progress(plan.in_progress),
        _blocked(plan.blocked, color),
        _deferred(plan.deferred, plan.observed_on),
        _unmanaged(plan.unmanaged),
        _warnings(plan.warnings, color),
        _footer(plan, color),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def _header(plan: Plan) -> str:
    paths = ", ".join(visible(path) for path in plan.paths) or "(none)"
    console = f" (console date {plan.observed_on})" if plan.observed_on else ""
    actor = visible(plan.actor) if plan.actor else "(none: billing-admin and org-admin cannot be checked)"
    return "\n".join(
        [
            f"Desired state: {paths}",
            f"Provider:      {visible(plan.provider) or '(unknown)'}{console}",
            f"Actor:         {actor}",
            *(f"{kind.capitalize() + ':':<15}{visible(rest)}" for kind, _, rest in _provenance(plan)),
        ]
    )


def _provenance(plan: Plan) -> list[tuple[str, str, str]]:
    return [line.partition(": ") for line in plan.provenance]


def _where(source: SourceSpan | None) -> str:
    return visible(str(source)) if source is not None else "(no location)"


def _wrapped(text: str) -> list[str]:
    text = visible(text)
    if text.isascii() and text.isprintable() and "  " not in text and text == text.strip():
        # Plain words one space apart: laid out as textwrap would, without its ~20 us a reason (it
        # rewrites tabs, newlines and other whitespace: those go its way, and words too long for a line).
        lines = _greedy(text)
        if lines is not None:
            return lines
    # Names are hyphenated (acme-corp, jira-align): never break a line inside one.
    lines = textwrap.wrap(
        text, WIDTH, initial_indent=DETAIL, subsequent_indent=DETAIL, break_on_hyphens=False
    )
    return lines or [DETAIL]


def _greedy(text: str) -> list[str] | None:
    """Each line takes as many words as fit, as textwrap.wrap does with break_on_hyphens=False, for
    words one space apart: the last space that fits ends a line. None: a word longer than a line."""
    room = WIDTH - len(DETAIL)
    lines = []
    while len(text) > room:
        cut = text.rfind(" ", 0, room + 1)
        if cut < 0:
            return None
        lines.append(DETAIL + text[:cut])
        text = text[cut + 1 :]
    lines.append(DETAIL + text)
    return lines


def change_title(change: Change) -> str:
    """What a change does, in a few words: `provision SUB-1001 focus -> acme (acme-corp)`."""
    site, org, sub = (visible(str(value)) for value in (change.site, change.org, change.subscription))
    if change.action == Action.CREATE_SITE:
        return f"create-site {site} in org {org}"
    if change.action == Action.PROVISION:
        return f"provision   {sub} {visible(str(change.app))} -> {site} ({org})"
    return f"{change.action:<11} {sub}"


def _changes(changes: Iterable[Change], color: bool) -> str:
    changes = tuple(changes)
    titles = [change_title(c) for c in changes]
    # Locations start in one column, after the longest title, so the eye can run down them.
    column = max(map(len, titles), default=0) + 2
    lines = []
    for change, title in zip(changes, titles, strict=True):
        sign = _SIGN[change.action]
        where = paint(_where(change.source), "dim", color)
        lines.append(f"  {paint(sign, _COLOR[sign], color)} {title.ljust(column)}{where}")
        lines.extend(_wrapped(change.reason))
        if change.depends_on:
            lines.append(f"{DETAIL}after {visible(', '.join(change.depends_on))}")
        lines.extend(declared_lines(change.declared))
    return "Changes:\n" + "\n".join(lines) if lines else ""


def in_progress_title(work: InProgress) -> str:
    """`create-site acme-align in org acme-corp`, `provision SUB-1001 focus -> acme (acme-corp)`."""
    if work.action == Action.CREATE_SITE:
        title = f"create-site {work.site} in org {work.org}"
    else:
        title = f"provision   {work.subscription} {work.app} -> {work.site} ({work.org})"
    # What a console says is untrusted: an id with an escape sequence must not drive the terminal.
    return visible(title)


def in_progress_since(work: InProgress) -> str:
    since = "" if work.since is None else f", since {work.since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    return f"operation {visible(work.operation)}{since}"


def _in_progress(in_progress: tuple[InProgress, ...]) -> str:
    if not in_progress:
        return ""
    lines = [
        f"In progress: {plural(len(in_progress), 'operation')} the console has not finished "
        "(never planned again; apply waits for them)"
    ]
    for work in in_progress:
        lines.append(f"  ~ {in_progress_title(work)}")
        lines.append(f"{DETAIL}{in_progress_since(work)}")
    return "\n".join(lines)


def _blocked(blocked: tuple[Blocked, ...], color: bool) -> str:
    if not blocked:
        return ""
    head = paint(
        f"Blocked: {plural(len(blocked), 'broken rule')}; nothing can be applied until "
        + ("it is fixed" if len(blocked) == 1 else "they are fixed"),
        "red",
        color,
    )
    lines = [head]
    for entry in blocked:
        mark = paint("x", "red", color)
        lines.append(f"  {mark} {paint(visible(entry.rule), 'bold', color)}  {_where(entry.source)}")
        lines.extend(_wrapped(f"blocks {blocked_subject(entry)}"))
        lines.extend(_wrapped(entry.message))
        lines.extend(declared_lines(entry.declared))
    return "\n".join(lines)


def declared_lines(facts: tuple[DeclaredFact, ...]) -> list[str]:
    """The declared (not observed) facts a decision rests on, one per line, each where it is declared."""
    lines: list[str] = []
    for fact in facts:
        lines.extend(_wrapped(f"declared: {fact.fact} ({_where(fact.source)})"))
    return lines


def blocked_subject(entry: Blocked, value: Callable[[str], str] = str) -> str:
    """What a blocked entry blocks, the same words for every rule: `the cancel of SUB-1002`,
    `the provision of focus of SUB-1001 to acme (acme-corp)`, `the provision of every app to acme
    (acme-corp)` (an existing site's, declared in another org). `value` formats each name."""
    sub = value(entry.subscription or "?")
    org = f" ({value(entry.org)})" if entry.org else ""
    if entry.action == Action.CREATE_SITE:
        return f"the creation of site {value(entry.site or '?')}" + (
            f" in org {value(entry.org)}" if entry.org else ""
        )
    if entry.action == Action.CANCEL:
        return f"the cancel of {sub}"
    if entry.action == Action.REACTIVATE:
        return f"the reactivation of {sub}"
    if entry.subscription is None:
        return f"the provision of every app to {value(entry.site or '?')}{org}"
    if entry.app is None:
        return f"the provision of every app of {sub}"
    return f"the provision of {value(entry.app)} of {sub} to {value(entry.site or '?')}{org}"


def starts_in(start: dt.date | None, today: dt.date | None) -> str:
    if start is None:
        return "start date unknown"
    if today is None:
        return f"starts on {start}"
    days = (start - today).days
    if days > 0:
        return f"starts on {start} (in {plural(days, 'day')})"
    return f"starts on {start} (today)" if days == 0 else f"start date {start} has passed"


def apps_text(apps: Mapping[str, str | None], arrow: str = " -> ") -> str:
    """`focus -> acme, talent: Site setup required`: where each app goes (or is, with arrow=" on ")."""
    parts = [f"{app}{arrow}{site}" if site else f"{app}: Site setup required" for app, site in apps.items()]
    return visible(", ".join(parts)) or "no apps declared"


def _deferred(deferred: tuple[Deferred, ...], today: dt.date | None) -> str:
    if not deferred:
        return ""
    lines = [f"Deferred: {plural(len(deferred), 'upcoming subscription')}, provisioned once started"]
    for entry in deferred:
        lines.append(
            f"  {visible(entry.subscription)} {starts_in(entry.start_date, today)}  {_where(entry.source)}"
        )
        lines.extend(_wrapped(apps_text(entry.apps)))
    return "\n".join(lines)


def _unmanaged(unmanaged: tuple[Unmanaged, ...]) -> str:
    if not unmanaged:
        return ""
    lines = [f"Unmanaged: {plural(len(unmanaged), 'live subscription')} no file declares (left alone)"]
    for entry in unmanaged:
        text = visible(f"{entry.subscription} {entry.product}, {entry.status}: ") + apps_text(
            entry.apps, " on "
        )
        # A collection's three apps on long site names wrap under the subscription, never mid-name.
        lines.extend(
            textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent=DETAIL, break_on_hyphens=False)
        )
    return "\n".join(lines)


def _warnings(warnings: tuple[PlanWarning, ...], color: bool) -> str:
    if not warnings:
        return ""
    lines = [paint(f"Warnings: {len(warnings)}", "yellow", color)]
    for warning in warnings:
        lines.append(f"  {paint('!', 'yellow', color)} {_where(warning.source)}")
        lines.extend(_wrapped(warning.message))
    return "\n".join(lines)


def summary_line(plan: Plan) -> str:
    counts = summary(plan)
    return (
        f"Plan: {plural(counts['create_site'], 'site')} to create, "
        f"{plural(counts['provision'], 'app')} to provision, "
        f"{counts['reactivate']} to reactivate, {counts['cancel']} to cancel; "
        f"{counts['blocked']} blocked, {counts['deferred']} deferred, {counts['unmanaged']} unmanaged."
    )


def _footer(plan: Plan, color: bool) -> str:
    if not plan.changes and not plan.blocked:
        extra = f" ({plan_extras(plan)})" if plan_extras(plan) else ""
        matches = (
            "will match desired state once its work in progress is done"
            if plan.in_progress
            else ("matches desired state")
        )
        return paint("No changes.", "green", color) + f" The console {matches}{extra}."
    line = summary_line(plan)
    if plan.blocked:
        line = paint(line, "red", color)
    return f"{line}\nChecksum: {plan.checksum}" if plan.changes else line


def plan_extras(plan: Plan) -> str:
    """What a plan without changes still lists: `1 deferred, 1 unmanaged` (only what is there)."""
    counts = [
        (len(plan.in_progress), "in progress"),
        (len(plan.deferred), "deferred"),
        (len(plan.unmanaged), "unmanaged"),
        (len(plan.warnings), ""),
    ]
    parts = [f"{n} {what}" if what else plural(n, "warning") for n, what in counts if n]
    return ", ".join(parts)
