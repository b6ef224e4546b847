"""How long planning a large estate takes, stage by stage and as a whole command.

    python bench/plan_speed.py [--subscriptions 10000] [--runs 7] [--out bench/out/plan]

Generates an estate with bench/generate.py (reused when already there: one file per ~100
subscriptions, and the same estate in a single file), seeds a sandbox database from it, then prints
the median, minimum and maximum over several runs of: loading desired state, observing the
console, the pure planner, each renderer, and the whole `reconciler plan` process (start-up,
parsing, observation and rendering included), for both file layouts.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from harness import clean_env, generated_estate, reconciler_command

from reconciler.loading.desired import load_desired
from reconciler.model import DesiredState
from reconciler.planning import plan_changes
from reconciler.planning.fingerprint import observed_fingerprint
from reconciler.rendering.markdown import render_markdown
from reconciler.rendering.planjson import render_json
from reconciler.rendering.text import render_text
from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.seedfile import load_seed

HERE = Path(__file__).resolve().parent


def timed(action: Callable[[], object], runs: int, setup: Callable[[], None] | None = None) -> list[float]:
    """Seconds per run, with the cycle collector paused as `reconciler plan` pauses it."""
    seconds = []
    for run in range(runs + 1):  # the first run warms up: page cache, imports, lazy caches
        if setup is not None:
            setup()
        gc.disable()
        started = time.perf_counter()
        action()
        elapsed = time.perf_counter() - started
        gc.enable()
        if run:
            seconds.append(elapsed)
    return seconds


def row(label: str, seconds: list[float]) -> str:
    median, low, high = statistics.median(seconds), min(seconds), max(seconds)
    return f"{label:<44} {median * 1000:9.1f} {low * 1000:9.1f} {high * 1000:9.1f}"


def cli(workdir: Path, *args: str) -> Callable[[], object]:
    env = clean_env()

    def run() -> object:
        return subprocess.run(
            reconciler_command(*args),
            cwd=workdir,
            env=env,
            check=False,
            capture_output=True,
        )

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "plan")
    args = parser.parse_args(argv)
    split = generated_estate(args.out / f"{args.subscriptions}-split", args.subscriptions)
    single = generated_estate(args.out / f"{args.subscriptions}-single", args.subscriptions, files=1)

    database = split / ".reconciler" / "sandbox.db"
    shutil.rmtree(database.parent, ignore_errors=True)
    SandboxConsole.create(database, load_seed(split / "console.yaml")).close()
    (single / ".reconciler").mkdir(exist_ok=True)
    shutil.copy(database, single / ".reconciler" / "sandbox.db")

    os.chdir(split)
    sandbox = SandboxConsole(Path(".reconciler/sandbox.db"))
    console = sandbox.observe(sandbox.default_actor())
    desired = load_desired(["desired-state"])
    plan = plan_changes(desired, console, paths=["desired-state"], provider="sandbox:.reconciler/sandbox.db")
    print(
        f"{args.subscriptions} subscriptions: {len(plan.changes)} changes, {len(plan.blocked)} blocked, "
        f"{len(plan.deferred)} deferred, {len(plan.unmanaged)} unmanaged; {args.runs} runs each, ms"
    )
    print(f"{'':<44} {'median':>9} {'min':>9} {'max':>9}")
    print(row("load desired state (split files)", timed(lambda: load_desired(["desired-state"]), args.runs)))

    def observe_anew() -> object:  # as a CLI run does: open the database, read it all, close it
        with SandboxConsole(database.relative_to(split)) as opened:
            return opened.observe(console.actor)

    print(row("open and observe the sandbox console", timed(observe_anew, args.runs)))
    fresh: list[DesiredState] = []

    def reload() -> None:
        fresh[:] = [load_desired(["desired-state"])]  # positions not yet located

    # As `reconciler plan` runs it for the text plan: the fingerprint only for JSON, Markdown, --out.
    located = timed(lambda: plan_changes(fresh[0], console, fingerprint=False), args.runs, setup=reload)
    print(row("plan_changes, locating what it shows", located))
    print(
        row(
            "plan_changes, positions already located",
            timed(lambda: plan_changes(desired, console, fingerprint=False), args.runs),
        )
    )
    print(
        row(
            "observed fingerprint (JSON, Markdown, --out)",
            timed(lambda: observed_fingerprint(console), args.runs),
        )
    )
    print(row("render text", timed(lambda: render_text(plan), args.runs)))
    print(row("render markdown", timed(lambda: render_markdown(plan), args.runs)))
    print(row("render json", timed(lambda: render_json(plan), args.runs)))
    sandbox.close()
    for label, workdir in (("split files", split), ("one file", single)):
        command = cli(workdir, "plan", "--format", "json")
        print(row(f"`reconciler plan --format json` ({label})", timed(command, args.runs)))
        command = cli(workdir, "plan")
        print(row(f"`reconciler plan` ({label})", timed(command, args.runs)))


if __name__ == "__main__":
    main()
