"""A plan too long for one comment: as many entries as fit, and how many more the JSON plan holds.

The comment keeps the marker, the title, the summary table and the checksum, and fills the rest
of the limit with entries in the order a reviewer needs them: blocked entries, cancellations,
then the other changes by org and site (subscription-wide ones last). Entries are taken whole and
in that order until the next one would not fit, so the same plan always gives the same comment,
and the last lines count what was left out. Deferred and unmanaged subscriptions and warnings are
left to the JSON plan and counted there too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from reconciler.model import Action, Plan
from reconciler.rendering import markdown as md
from reconciler.rendering.links import SourceLinks
from reconciler.terminal import plural


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of the comment, with the headings it opens (written only if it is shown)."""

    text: str
    is_blocked: bool


def _blocked_entries(plan: Plan, links: SourceLinks | None) -> Iterator[Entry]:
    for i, entry in enumerate(plan.blocked):
        row = md.blocked_row(entry, links)
        lead = f"\n\n{md.blocked_title(len(plan.blocked))}\n\n{md.BLOCKED_HEAD}\n" if i == 0 else "\n"
        yield Entry(lead + row, True)


def _cancel_entries(plan: Plan, links: SourceLinks | None) -> Iterator[Entry]:
    cancels = [c for c in plan.changes if c.action == Action.CANCEL]
    for i, change in enumerate(cancels):
        lead = f"\n\n{md.cancels_title(len(cancels))}\n\n{md.CANCELS_NOTE}\n\n" if i == 0 else "\n"
        yield Entry(lead + md.cancel_block(change, links), False)


def _change_entries(plan: Plan, links: SourceLinks | None) -> Iterator[Entry]:
    others = [c for c in plan.changes if c.action != Action.CANCEL]
    by_org, lifecycle = md.by_org_and_site(others)
    lead = f"\n\n### Other changes ({len(others)})"
    for org, sites in by_org.items():
        lead += f"\n\n{md.org_heading(org)}"
        for site, changes in sites.items():
            lead += f"\n\n{md.site_heading(site)}\n"
            for change in changes:
                yield Entry(f"{lead}\n{md.change_line(change, links)}", False)
                lead = ""
    lead += f"\n\n{md.LIFECYCLE_HEADING}\n"
    for change in lifecycle:
        yield Entry(f"{lead}\n{md.change_line(change, links)}", False)
        lead = ""


def _note(full_length: int) -> str:
    return (
        f"> [!NOTE]\n> The whole plan is {full_length:,} characters, more than one comment holds. "
        "This one lists blocked entries and cancellations first, then the other changes by org and "
        "site, as many as fit; the JSON plan has them all (`reconciler show plan.json` prints it)."
    )


def _left_out(plan: Plan, blocked: int, changes: int) -> str:
    parts = []
    if blocked < len(plan.blocked):
        parts.append(plural(len(plan.blocked) - blocked, "more blocked entry", "more blocked entries"))
    if changes < len(plan.changes):
        parts.append(plural(len(plan.changes) - changes, "more change"))
    parts += [plural(n, what) for n, what in _unlisted(plan) if n]
    if plan.in_progress:
        parts.append(plural(len(plan.in_progress), "operation in progress", "operations in progress"))
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"\n\n**…and {listed} in the JSON plan.**"


def _unlisted(plan: Plan) -> list[tuple[int, str]]:
    return [
        (len(plan.warnings), "warning"),
        (len(plan.deferred), "deferred subscription"),
        (len(plan.unmanaged), "unmanaged subscription"),
    ]


def shortened(plan: Plan, full_length: int, limit: int, links: SourceLinks | None) -> str:
    head = "\n\n".join([md.MARKER + "\n" + md.title(plan), md.summary_table(plan), _note(full_length)])
    foot = "\n\n" + md.checksums(plan) + "\n"
    body: list[str] = []
    size, blocked, changes = len(head) + len(foot), 0, 0
    entries = (*_blocked_entries(plan, links), *_cancel_entries(plan, links), *_change_entries(plan, links))
    for entry in entries:
        after = (blocked + 1, changes) if entry.is_blocked else (blocked, changes + 1)
        if size + len(entry.text) + len(_left_out(plan, *after)) > limit:
            break
        body.append(entry.text)
        size += len(entry.text)
        blocked, changes = after
    text = head + "".join(body) + _left_out(plan, blocked, changes) + foot
    # Only a title longer than the limit (thousands of paths) can get here: cut it, never exceed.
    return text if len(text) <= limit else text[: limit - 1] + "\n"
