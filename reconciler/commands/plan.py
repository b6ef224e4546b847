"""`reconciler plan`: observe, diff, check every rule, show the plan. Writes nothing to the console."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from reconciler.commands.show import render_plan
from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, ReconcilerError
from reconciler.model import Plan
from reconciler.options import GlobalOptions
from reconciler.pipeline import make_plan, provider_settings
from reconciler.planning.planfile import outside_working_tree, write_plan
from reconciler.planning.planout import READ_HINT, check_target
from reconciler.terminal import info, printable
from reconciler.userpaths import check_creatable, check_path, shown


def exit_code(plan: Plan, detailed_exitcode: bool) -> int:
    """1 for any blocked change, even with --detailed-exitcode; then 2 for changes when asked."""
    if plan.blocked:
        return EXIT_ERROR
    if detailed_exitcode and plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


#: The files SQLite keeps beside a database, and the lock file a sandbox console is created under.
_COMPANIONS = ("", "-wal", "-shm", "-journal", ".lock")


def check_out(options: GlobalOptions, paths: Sequence[str], out: str) -> None:
    """Refuse an --out that could not be written, is not a saved plan, or names a file this run
    reads or keeps; all before the console is read, so a refused --out shows no plan.

    The last covers names that need not exist yet: a plan at .reconciler/state.db would stand
    where the next apply opens its journal, and one at desired-state/new.yaml would be read as
    desired state by the next plan.
    """
    if not out:
        raise ReconcilerError("plan --out was given an empty path", hint="give the file to save the plan to")
    check_path(out, "the plan file")
    check_creatable(out, "the plan file", "choose a path in a directory you can write to")
    target = _resolved(out)
    for name, what in _owned_files(options, paths, target):
        if name == target:
            raise ReconcilerError(f"refusing to write the plan to {shown(out)}: {what}", hint=READ_HINT)
    check_target(out)


def _resolved(out: str) -> Path:
    try:
        return Path(out).resolve()
    except (OSError, RuntimeError):  # the name itself is a loop of links: check_target refuses a link
        return Path(out).absolute()


def _owned_files(options: GlobalOptions, paths: Sequence[str], target: Path) -> Iterator[tuple[Path, str]]:
    for database, what in _databases(options):
        for suffix in _COMPANIONS:
            yield Path(f"{database}{suffix}").resolve(), f"it is a file of {what}"
    if target.suffix.lower() in (".yaml", ".yml"):
        for given, what in _yaml_read(options, paths):
            folder = Path(given).resolve()
            if target == folder:
                yield target, what
            elif target.is_relative_to(folder):
                yield target, f"{what} (it is in {given})"


def _yaml_read(options: GlobalOptions, paths: Sequence[str]) -> Iterator[tuple[str, str]]:
    """The paths whose YAML files the next plan reads, and as what."""
    for given, read_as in read_paths(options, paths):
        reader = "plan" if read_as == "desired state" else "the atlassian provider"
        yield given, f"{reader} reads it as {read_as}"


def read_paths(options: GlobalOptions, paths: Sequence[str]) -> Iterator[tuple[str, str]]:
    """The paths (files or directories) whose YAML files plan reads, with what it reads them as:
    the desired state, and with `--provider atlassian:` the billing facts."""
    for given in paths:
        yield given, "desired state"
    if options.provider.partition(":")[0].lower() == "atlassian":
        facts = provider_settings(options, paths).facts
        if facts:
            yield facts, "billing facts"


def _databases(options: GlobalOptions) -> Iterator[tuple[Path, str]]:
    if options.provider.partition(":")[0].lower() == "sandbox":
        from reconciler.sandbox.location import sandbox_path

        yield sandbox_path(options.provider), "the sandbox console (--provider)"
    if options.state.partition(":")[0].lower() == "sqlite":
        from reconciler.store import sqlite_path

        try:
            yield sqlite_path(options.state), "the state store (--state)"
        except ReconcilerError:
            return  # plan does not open the state store: a bad --state is apply's error to report


def run(
    options: GlobalOptions, paths: Sequence[str], fmt: str, out: str | None, detailed_exitcode: bool
) -> int:
    if out is not None:
        # Before the console is read (which may create it): a refused --out leaves every file as it was.
        check_out(options, paths, out)
    # Only the JSON and Markdown forms show the observed fingerprint: the text plan does without it.
    planned = make_plan(options, paths, fingerprint=fmt in ("json", "markdown") or out is not None)
    plan = planned.plan
    if fmt == "runbook":
        from reconciler.rendering.runbook import render_runbook

        rendered = render_runbook(plan, planned.console)
    else:
        rendered = render_plan(plan, fmt)
    if out is not None:
        # Saved before it is shown: a write that still fails (a full disk) shows no plan, only why.
        write_plan(out, plan)
    sys.stdout.write(rendered)
    sys.stdout.flush()
    if out is not None:
        info(f"Saved the plan to {shown(out)} (checksum {plan.checksum}).")
        for given in outside_working_tree(plan.paths)[:1]:
            info(
                f"warning: the plan reads desired state outside the working directory ({printable(given)}): "
                f"'reconciler apply --plan {shown(out)}' refuses to read it from there; give apply the "
                "same paths, or plan from inside the tree"
            )
    if plan.blocked:
        them = "it is" if len(plan.blocked) == 1 else "they are"
        info(f"{len(plan.blocked)} blocked: the plan cannot be applied until {them} fixed.")
    return exit_code(plan, detailed_exitcode)
