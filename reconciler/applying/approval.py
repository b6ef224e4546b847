"""What must hold before apply writes anything: the plan is the approved one, nothing is blocked,
cancellations are allowed, and someone said yes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import TextIO

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Change, Console, Plan, Status, canonical_change
from reconciler.planning.fingerprint import observed_fingerprint
from reconciler.planning.planout import plan_out_command
from reconciler.terminal import is_tty
from reconciler.userpaths import shown


class Refusal(ReconcilerError):
    """Apply will not run this plan; nothing was written."""


def normalise_checksum(checksum: str) -> str:
    text = checksum.strip()
    return text if text.startswith("sha256:") else f"sha256:{text}"


def _comparable(change: Change, planned: AbstractSet[str]) -> dict[str, object]:
    """What a change is, with its dependencies narrowed to changes still planned.

    A dependency that is done (the site exists now) or in progress on the console drops out of a
    re-plan; the approval of what depends on it still holds.
    """
    canonical = canonical_change(change)
    canonical["depends_on"] = [d for d in sorted(change.depends_on) if d in planned]
    return canonical


def plan_difference(
    approved: tuple[Change, ...], current: tuple[Change, ...], done: AbstractSet[str] = frozenset()
) -> list[str]:
    """One line per change id added, removed or changed between the approved plan and now.

    `done` holds the approved changes the console shows done (or under way): the others that are
    no longer planned were dropped, not done.
    """
    planned = {c.id for c in current}
    before = {c.id: _comparable(c, planned) for c in approved}
    after = {c.id: _comparable(c, planned) for c in current}
    lines = []
    for change_id in sorted(before.keys() | after.keys()):
        if change_id not in before:
            lines.append(f"  + {change_id}: planned now, not in the approved plan")
        elif change_id not in after:
            lines.append(f"  - {change_id}: in the approved plan, {_why_not_planned(change_id in done)}")
        elif before[change_id] != after[change_id]:
            fields = [
                f"{key} {before[change_id][key]} -> {after[change_id][key]}"
                for key in sorted(before[change_id])
                if before[change_id][key] != after[change_id].get(key)
            ]
            lines.append(f"  ~ {change_id}: {', '.join(fields)}")
    return lines


def _why_not_planned(done: bool) -> str:
    return "done on the console" if done else "no longer planned, yet the console does not show it done"


def within_approval(approved: tuple[Change, ...], current: tuple[Change, ...]) -> bool:
    """Whether every change planned now is an approved one, unchanged.

    The rest of the approved plan is either done on the console (`approved_and_done`) or no longer
    asked for by the desired state; neither runs anything the review did not see.
    """
    planned = {c.id for c in current}
    before = {c.id: c for c in approved}
    return all(
        c.id in before and _comparable(before[c.id], planned) == _comparable(c, planned) for c in current
    )


def done_on_console(change: Change, console: Console) -> bool:
    """Whether the console shows this change made.

    Only that, or the console having it under way, makes an approved change that is no longer
    planned done: a change the desired state stopped asking for is not done, and applying the
    rest would report a success that is not one.
    """
    if change.action == Action.CREATE_SITE:
        site = console.sites.get(change.site or "")
        return site is not None and site.org == change.org
    live = console.subscriptions.get(change.subscription or "")
    if live is None:
        return False
    if change.action == Action.PROVISION:
        return change.site is not None and live.apps.get(change.app or "") == change.site
    if change.action == Action.REACTIVATE:
        return live.status == Status.ACTIVE
    return live.status in (Status.CANCELLED, Status.DEACTIVATED, Status.DELETED)


def approved_and_done(
    approved: tuple[Change, ...], current: tuple[Change, ...], console: Console
) -> set[str]:
    """The approved changes no longer planned that the console shows done or has under way."""
    planned = {c.id for c in current}
    under_way = {(w.change_id, w.site) for w in console.in_progress}
    return {
        c.id
        for c in approved
        if c.id not in planned and ((c.id, c.site) in under_way or done_on_console(c, console))
    }


def why_stale(saved: Plan, current: Plan, fingerprint_now: Callable[[], str]) -> str:
    """What moved since the plan was made: the desired state, the console, or both.

    The console's fingerprint is only computed here, on the way to a refusal: hashing a large
    console costs a third of planning, and an apply that goes ahead never needs it.
    """
    desired = saved.desired_digest != current.desired_digest
    if not saved.observed_fingerprint:
        known = "the desired state changed" if desired else "the desired state is unchanged"
        return f"{known}; the saved plan has no console fingerprint to compare"
    console = saved.observed_fingerprint != fingerprint_now()
    if desired and console:
        return "both the desired state and the console changed since it was made"
    if desired:
        return "the desired state changed since it was made; the console did not"
    if console:
        return "the console changed since it was made; the desired state did not"
    return f"the desired state and the console are unchanged, {_unexplained(saved, current)}"


def _unexplained(saved: Plan, current: Plan) -> str:
    """Why a plan differs from what its own desired state and console give now.

    The planner reads nothing else but the acting user (the console's fingerprint leaves it out).
    """
    if saved.actor != current.actor:
        made, now = saved.actor or "no actor", current.actor or "no actor"
        return f"but it was made as {made}, and apply acts as {now}"
    return (
        "yet its changes are not what they give: was the file edited, or made by another version "
        "of reconciler?"
    )


def check_saved_plan(current: Plan, saved: Plan, plan_file: str, console: Console) -> tuple[str, ...]:
    """Refuse unless every change planned now is one the saved plan approved, unchanged.

    Returns the approved changes that are no longer planned and that the console does not show
    done: the desired state stopped asking for them. They do not make the plan stale (nothing
    outside the approval would run), but apply must not call them done.
    """
    done = approved_and_done(saved.changes, current.changes, console)
    planned = {c.id for c in current.changes}
    dropped = tuple(sorted(c.id for c in saved.changes if c.id not in planned and c.id not in done))
    if current.checksum == saved.checksum or within_approval(saved.changes, current.changes):
        return dropped
    difference = plan_difference(saved.changes, current.changes, done)
    fingerprint_now = functools.partial(observed_fingerprint, console)
    raise Refusal(
        f"the saved plan {shown(plan_file)} is stale: {why_stale(saved, current, fingerprint_now)}; "
        f"re-planning now gives {current.checksum}, the saved plan has {saved.checksum}; "
        "nothing was applied\n" + "\n".join(difference),
        hint=f"make the plan again ({plan_out_command(plan_file)}), review it, then apply it",
    )


def check_checksum_of_saved(approved: str, saved: Plan) -> None:
    wanted = normalise_checksum(approved)
    if saved.checksum != wanted:
        raise Refusal(
            f"--checksum {wanted} is not the checksum of the saved plan ({saved.checksum}); "
            "nothing was applied",
            hint="pass the checksum the reviewed plan shows, or leave --checksum out",
        )


def check_checksum(current: Plan, approved: str) -> None:
    """Without a saved plan: an empty re-plan is done; otherwise the checksum must be the approved one."""
    wanted = normalise_checksum(approved)
    if current.checksum == wanted or not current.changes:
        return
    lines = [f"  {c.id}" for c in current.changes]
    raise Refusal(
        f"the plan's checksum is now {current.checksum}, not the approved {wanted}; nothing was applied\n"
        "the changes planned now:\n" + "\n".join(lines),
        hint="review the current plan ('reconciler plan') and approve its checksum",
    )


def check_not_blocked(plan: Plan) -> None:
    if not plan.blocked:
        return
    lines = [f"  [{b.rule}] {b.source if b.source else '(no location)'}: {b.message}" for b in plan.blocked]
    count = len(plan.blocked)
    raise Refusal(
        f"the plan has {count} blocked {'entry' if count == 1 else 'entries'}; nothing was applied\n"
        + "\n".join(lines),
        hint="fix the desired state where each entry points ('reconciler plan' explains them), "
        "then apply again",
    )


def check_cancels_allowed(plan: Plan, allow_cancel: bool, allowed: AbstractSet[str] = frozenset()) -> None:
    """Every cancel needs --allow-cancel, or its subscription named by --allow-cancel-of."""
    if allow_cancel:
        return
    refused = [c for c in plan.destructive if c.subscription not in allowed]
    if not refused:
        return
    lines = [f"  - {c.id}: {c.reason}" for c in refused]
    what = "1 subscription" if len(refused) == 1 else f"{len(refused)} subscriptions"
    if allowed:
        given = f"--allow-cancel-of allows only {', '.join(sorted(allowed))}"
        cause = f"the plan also cancels {what} not allowed by name ({given})"
    else:
        cause = f"the plan cancels {what} and neither --allow-cancel nor --allow-cancel-of was given"
    flags = " ".join(f"--allow-cancel-of {c.subscription}" for c in refused)
    raise Refusal(
        f"{cause}; nothing was applied\n" + "\n".join(lines),
        hint=f"review what each cancellation takes down, then apply again with {flags} "
        "(or --allow-cancel for every cancel)",
    )


def ask(
    plan: Plan,
    render: Callable[[Plan], str],
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> None:
    """No approval came with the command: ask on the terminal, or refuse when there is none."""
    stdin = stdin or sys.stdin
    out = out or sys.stderr
    if not is_tty(stdin):
        raise Refusal(
            "apply needs an approval and there is no terminal to ask on; nothing was applied",
            hint="review the plan, then pass --auto-approve, or apply a reviewed plan with "
            "--plan PLAN or --checksum SHA",
        )
    sys.stdout.write(render(plan))
    sys.stdout.flush()
    count = len(plan.changes)
    out.write(
        f"\nApply {count} change{'' if count == 1 else 's'} to {plan.provider}? Only 'yes' is accepted: "
    )
    out.flush()
    answer = stdin.readline()
    if answer.strip() != "yes":
        raise Refusal("apply cancelled: the answer was not 'yes'; nothing was applied")
