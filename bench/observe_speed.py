"""How long one observation of a large sandbox console takes.

    python bench/observe_speed.py [--subscriptions 10000] [--runs 15] [--out bench/out/observe]

Generates an estate with bench/generate.py (reused when already there), seeds a sandbox
database from its console.yaml, then times `SandboxConsole.observe()`: the one consistent read
every plan and apply starts with (a handful of SELECTs turned into frozen dataclasses).
Prints the median, minimum and maximum over several runs, for a console kept open (what a
server does) and for one opened anew in a fresh process each time (what a CLI run does).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness import generated_estate

from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.seedfile import load_seed

HERE = Path(__file__).resolve().parent


def timed(action: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run, after one warm-up run."""
    action()  # warm-up: page cache, imports, the first connection
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


CHILD = """
import sys, time
from pathlib import Path
from reconciler.sandbox import SandboxConsole
started, started_cpu = time.perf_counter(), time.process_time()
console = SandboxConsole(Path(sys.argv[1]))
console.observe(sys.argv[2] or None)
print(time.perf_counter() - started, time.process_time() - started_cpu)
"""


def in_child(database: Path, actor: str | None) -> tuple[float, float]:
    """Wall and CPU seconds of opening the console and observing it, in a fresh Python process."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(database), actor or ""], capture_output=True, text=True, check=True
    )
    wall, cpu = result.stdout.split()
    return float(wall), float(cpu)


def row(label: str, seconds: tuple[list[float], list[float]]) -> str:
    wall, cpu = seconds
    low, high = min(wall), max(wall)
    return (
        f"{label:<40} {statistics.median(wall) * 1000:9.1f} {low * 1000:8.1f} {high * 1000:8.1f}"
        f" {statistics.median(cpu) * 1000:9.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "observe")
    args = parser.parse_args(argv)
    out: Path = args.out / str(args.subscriptions)

    started = time.perf_counter()
    seed = load_seed(generated_estate(out, args.subscriptions) / "console.yaml")
    loaded = time.perf_counter()
    database = out / "sandbox.db"
    console = SandboxConsole.create(database, seed)
    created = time.perf_counter()
    actor = console.default_actor()
    state = console.observe(actor)
    apps = sum(len(sub.apps) for sub in state.subscriptions.values())
    print(
        f"console: {len(state.subscriptions)} subscriptions, {apps} apps, {len(state.sites)} sites, "
        f"{len(state.organizations)} organizations ({database})"
    )
    print(f"seed read and checked in {loaded - started:.2f} s; database built in {created - loaded:.2f} s")
    print(
        f"{'observe()':<40} {'median ms':>9} {'min ms':>8} {'max ms':>8} {'cpu ms':>9}   ({args.runs} runs)"
    )

    def fresh() -> tuple[float, float]:
        # What every CLI run pays: a new connection and a full read, in a process of its own (this
        # one holds the seed and earlier observations, whose heap would slow the read down).
        return in_child(database, actor)

    sub = next(iter(state.subscriptions))
    flips = iter(range(1_000_000))

    def changed() -> None:
        # A server after a write: the connection is open, the database changed, so a full read.
        flip = next(flips)
        write = console.cancel if flip % 2 == 0 else console.reactivate
        write(actor, sub, f"bench-{time.time_ns()}-{flip}")
        started, started_cpu = time.perf_counter(), time.process_time()
        console.observe(actor)
        observed[0].append(time.perf_counter() - started)
        observed[1].append(time.process_time() - started_cpu)

    observed: tuple[list[float], list[float]] = ([], [])

    fresh()  # warm-up: the page cache
    runs = [fresh() for _ in range(args.runs)]
    print(row("new process, open and full read", ([wall for wall, _ in runs], [cpu for _, cpu in runs])))
    timed(changed, args.runs)
    print(row("open connection, after a write", (observed[0][1:], observed[1][1:])))
    print(row("open connection, database unchanged", timed(lambda: console.observe(actor), args.runs)))
    console.close()


if __name__ == "__main__":
    main()
