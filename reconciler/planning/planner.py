"""The planner: desired state + the observed console -> a Plan. Pure: no I/O, no provider.

sites         declared sites -> create-site changes, site rule findings
subscriptions declared subscriptions -> cancel / reactivate, app candidates, deferred, notes
provisions    candidates -> one-per-org over all of them -> provision changes or findings
assemble      findings -> blocked (or warnings, for deferred ones); one sort order for each list
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet

from reconciler.model import (
    Blocked,
    Change,
    Console,
    DesiredState,
    Plan,
    PlanWarning,
    Status,
    Unmanaged,
    change_sort_key,
    in_progress_sort_key,
)
from reconciler.planning.facts import Facts, Finding
from reconciler.planning.fingerprint import observed_fingerprint
from reconciler.planning.provenance import with_provenance
from reconciler.planning.provisions import Candidate, check_one_per_org, provision_change
from reconciler.planning.sites import plan_sites
from reconciler.planning.subscriptions import Note, deferred_entry, plan_subscriptions


def plan_changes(
    desired: DesiredState,
    console: Console,
    *,
    paths: Sequence[str] = (),
    provider: str = "",
    fingerprint: bool = True,
) -> Plan:
    """The plan; with fingerprint=False its observed_fingerprint is "", for a caller that neither
    shows nor saves it (the text plan, apply): hashing the whole console is a third of planning."""
    facts = Facts(desired, console)
    sites = plan_sites(facts)
    draft = plan_subscriptions(facts)
    candidates = check_one_per_org(facts, draft.candidates)

    findings = [*sites.findings, *draft.findings]
    notes = list(draft.notes)
    provisions = []
    for candidate in candidates:
        if candidate.deferred:
            notes.extend(_deferred_note(candidate, f) for f in candidate.findings)
        elif candidate.findings:
            findings.extend(candidate.findings)
        else:
            provisions.append(provision_change(candidate))
    in_progress = tuple(sorted(console.in_progress, key=in_progress_sort_key))
    changes = _without_orphans(
        [*sites.changes, *draft.changes, *provisions], {w.change_id for w in in_progress}
    )
    marked, blocked = with_provenance(changes, [_blocked(f) for f in findings], desired, console)
    notes.extend(Note(note, None) for note in console.notes)

    return Plan(
        changes=tuple(sorted(marked, key=change_sort_key)),
        blocked=tuple(sorted(blocked, key=_blocked_key)),
        deferred=tuple(
            sorted((deferred_entry(d, live) for d, live in draft.deferred), key=lambda d: d.subscription)
        ),
        unmanaged=_unmanaged(desired, console),
        warnings=tuple(sorted((_warning(n) for n in notes), key=_warning_key)),
        desired_digest=desired.digest,
        observed_fingerprint=observed_fingerprint(console) if fingerprint else "",
        paths=tuple(paths),
        provider=provider,
        actor=console.actor,
        observed_on=console.now,
        in_progress=in_progress,
        provenance=console.provenance,
    )


def _without_orphans(changes: Iterable[Change], in_progress: AbstractSet[str]) -> list[Change]:
    """Drop changes whose prerequisite is not planned (it was blocked), so depends_on never dangles.

    A prerequisite the console has in progress is there: apply waits for it before executing.

    The rules block such dependents on their own (the same org-admin or billing-admin check
    stops both); this is the guarantee apply relies on, not the explanation a reviewer reads.
    """
    kept = list(changes)
    while True:
        ids = {c.id for c in kept} | in_progress
        remaining = [c for c in kept if all(d in ids for d in c.depends_on)]
        if len(remaining) == len(kept):
            return kept
        kept = remaining


def _deferred_note(candidate: Candidate, finding: Finding) -> Note:
    sub = candidate.subscription.id
    return Note(f"{sub} will be blocked when it starts: [{finding.rule}] {finding.message}", finding.origin)


def _blocked(finding: Finding) -> Blocked:
    return Blocked(
        rule=finding.rule,
        message=finding.message,
        subscription=finding.subscription,
        app=finding.app,
        site=finding.site,
        source=finding.origin.span(),
        action=finding.action,
        org=finding.org,
    )


def _blocked_key(blocked: Blocked) -> tuple[str, str, str, str, str]:
    return (blocked.subscription or "", blocked.app or "", blocked.site or "", blocked.rule, blocked.message)


def _warning(note: Note) -> PlanWarning:
    return PlanWarning(note.message, note.origin.span() if note.origin is not None else None)


def _warning_key(warning: PlanWarning) -> tuple[str, int, int, str]:
    source = warning.source
    if source is None:
        return ("", 0, 0, warning.message)
    return (source.file, source.line, source.column, warning.message)


def _unmanaged(desired: DesiredState, console: Console) -> tuple[Unmanaged, ...]:
    live, declared = console.subscriptions, desired.subscriptions
    # Sorted once picked: a big estate declares nearly every subscription it has.
    picked = sorted(
        sub_id for sub_id, sub in live.items() if sub_id not in declared and sub.status != Status.DELETED
    )
    return tuple(
        Unmanaged(sub.id, sub.product, sub.status, dict(sorted(sub.apps.items())))
        for sub in map(live.__getitem__, picked)
    )
