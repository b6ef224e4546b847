"""`reconciler plan`: observe, diff, check every rule, show the plan. Writes nothing to the console."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from reconciler.commands.show import render_plan
from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.model import Plan
from reconciler.options import GlobalOptions
from reconciler.pipeline import make_plan
from reconciler.planning.planfile import write_plan
from reconciler.terminal import info


def exit_code(plan: Plan, detailed_exitcode: bool) -> int:
    """1 for any blocked change, even with --detailed-exitcode; then 2 for changes when asked."""
    if plan.blocked:
        return EXIT_ERROR
    if detailed_exitcode and plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


def run(
    options: GlobalOptions, paths: Sequence[str], fmt: str, out: str | None, detailed_exitcode: bool
) -> int:
    # Only the JSON and Markdown forms show the observed fingerprint: the text plan does without it.
    planned = make_plan(options, paths, fingerprint=fmt in ("json", "markdown") or out is not None)
    plan = planned.plan
    if fmt == "runbook":
        from reconciler.rendering.runbook import render_runbook

        sys.stdout.write(render_runbook(plan, planned.console))
    else:
        sys.stdout.write(render_plan(plan, fmt))
    sys.stdout.flush()
    if out:
        write_plan(out, plan)
        info(f"Saved the plan to {out} (checksum {plan.checksum}).")
    if plan.blocked:
        them = "it is" if len(plan.blocked) == 1 else "they are"
        info(f"{len(plan.blocked)} blocked: the plan cannot be applied until {them} fixed.")
    return exit_code(plan, detailed_exitcode)
