"""What must hold before apply writes anything: the plan is the approved one, nothing is blocked,
cancellations are allowed, and someone said yes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from reconciler.errors import ReconcilerError
from reconciler.model import Change, Plan, canonical_change
from reconciler.terminal import is_tty


class Refusal(ReconcilerError):
    """Apply will not run this plan; nothing was written."""


def normalise_checksum(checksum: str) -> str:
    text = checksum.strip()
    return text if text.startswith("sha256:") else f"sha256:{text}"


def plan_difference(approved: tuple[Change, ...], current: tuple[Change, ...]) -> list[str]:
    """One line per change id added, removed or changed between the approved plan and now."""
    before = {c.id: canonical_change(c) for c in approved}
    after = {c.id: canonical_change(c) for c in current}
    lines = []
    for change_id in sorted(before.keys() | after.keys()):
        if change_id not in before:
            lines.append(f"  + {change_id}: planned now, not in the approved plan")
        elif change_id not in after:
            lines.append(f"  - {change_id}: in the approved plan, no longer needed")
        elif before[change_id] != after[change_id]:
            fields = [
                f"{key} {before[change_id][key]} -> {after[change_id][key]}"
                for key in sorted(before[change_id])
                if before[change_id][key] != after[change_id].get(key)
            ]
            lines.append(f"  ~ {change_id}: {', '.join(fields)}")
    return lines


def check_saved_plan(current: Plan, saved: Plan, plan_file: str) -> None:
    if current.checksum == saved.checksum:
        return
    difference = plan_difference(saved.changes, current.changes)
    raise Refusal(
        f"the saved plan {plan_file} is stale: re-planning now gives {current.checksum}, "
        f"the saved plan has {saved.checksum}; nothing was applied\n" + "\n".join(difference),
        hint=f"make the plan again (reconciler plan --out {plan_file}), review it, then apply it",
    )


def check_checksum(current: Plan, approved: str, saved: Plan | None) -> None:
    wanted = normalise_checksum(approved)
    if saved is not None and saved.checksum != wanted:
        raise Refusal(
            f"--checksum {wanted} is not the checksum of the saved plan ({saved.checksum}); "
            "nothing was applied",
            hint="pass the checksum the reviewed plan shows, or leave --checksum out",
        )
    if current.checksum == wanted:
        return
    lines = [f"  {c.id}" for c in current.changes] or ["  (no changes)"]
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


def check_cancels_allowed(plan: Plan, allow_cancel: bool) -> None:
    cancels = plan.destructive
    if not cancels or allow_cancel:
        return
    lines = [f"  - {c.id}: {c.reason}" for c in cancels]
    what = "1 subscription" if len(cancels) == 1 else f"{len(cancels)} subscriptions"
    raise Refusal(
        f"the plan cancels {what} and --allow-cancel was not given; nothing was applied\n" + "\n".join(lines),
        hint="review what the cancellation takes down, then apply again with --allow-cancel",
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
