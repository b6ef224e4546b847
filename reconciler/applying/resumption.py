"""What apply says about an approved plan it resumes or finds finished.

An approved change that is no longer planned is either done on the console or no longer asked for
by the desired state; the two are told apart, so a plan the files dropped is never reported done.
"""

from __future__ import annotations

from reconciler.model import Plan
from reconciler.terminal import plural, visible
from reconciler.userpaths import shown


def nothing_left(saved: Plan, current: Plan, plan_file: str, dropped: tuple[str, ...]) -> str:
    """The re-plan is empty: how much of the approved plan is done, and how much was dropped."""
    approved = shown(plan_file)
    count = plural(len(saved.changes), "change")
    if not dropped:
        return (
            f"Nothing left to do: every change of the approved plan {approved} is done ({count}); "
            "nothing was applied.\n"
        )
    done = len(saved.changes) - len(dropped)
    done_part = "none is done on the console" if done == 0 else f"{done} {_is(done)} done on the console"
    dropped_part = f"all {len(dropped)}" if done == 0 and len(dropped) > 1 else str(len(dropped))
    return (
        f"Nothing left to do: of the {count} of the approved plan {approved}, {done_part} and "
        f"{dropped_part} {_is(len(dropped))} {_no_longer_planned(saved, current, dropped)}; "
        "nothing was applied.\n"
    )


def resuming(saved: Plan, current: Plan, plan_file: str, dropped: tuple[str, ...]) -> str:
    """A re-run of an approved plan that is partly done, or partly dropped, says how much of it is."""
    if len(current.changes) >= len(saved.changes):
        return ""
    done = len(saved.changes) - len(current.changes) - len(dropped)
    counted = [f"{done} {_is(done)} done already"] if done else []
    if dropped:
        counted.append(f"{len(dropped)} {_is(len(dropped))} {_no_longer_planned(saved, current, dropped)}")
    first_count, first_rest = counted[0].split(" ", 1)
    of_its = f"{first_count} of its {plural(len(saved.changes), 'change')} {first_rest}"
    return (
        f"Resuming the approved plan {shown(plan_file)}: {' and '.join([of_its, *counted[1:]])}; "
        f"applying the other {len(current.changes)}.\n"
    )


def _no_longer_planned(saved: Plan, current: Plan, dropped: tuple[str, ...]) -> str:
    them = "it" if len(dropped) == 1 else "them"
    # The planner reads only the desired state and the console: with the same files, it is the
    # console that no longer needs the change, though it does not show it done.
    if saved.desired_digest == current.desired_digest:
        cause = f"re-planning no longer gives {them}, and the console does not show {them} done"
    else:
        cause = f"the desired state no longer asks for {them}"
    # Ids come from the files: shown printable, and a list of thousands cut short.
    return f"no longer planned ({cause}: {visible(', '.join(dropped))})"


def _is(count: int) -> str:
    return "is" if count == 1 else "are"
