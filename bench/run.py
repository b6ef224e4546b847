"""How `reconciler` scales, and how it compares to octoDNS doing the same kind of work: one screen.

    python bench/run.py [--sizes 1000 10000 100000] [--runs 5] [--big-runs 2] [--warmup 1]
                        [--out bench/out] [--no-peer]

For the repository's example estate and for generated estates of each size (bench/generate.py:
orgs, sites, collections and standalone apps, 3% of subscriptions with changes pending), it
times whole `reconciler` processes, start-up included: `validate`, `plan` (the sandbox provider)
and `apply --auto-approve` of the pending changes (each apply on a fresh copy of the seeded
console, provisioning delay 0). Beside them it times octoDNS's `octodns-sync` dry run from one
YamlProvider to another on as many records, with the same share of changes, and prints
plan / octoDNS. Wall time is the median of several runs after a warm-up (from 100,000 on: fewer
runs, no warm-up); peak is the largest resident set of one run's process, from wait4.
Estates, seeded consoles and zones are cached under --out and remade only when their inputs change.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import peer
from harness import (
    OUT,
    REPO,
    ChildRun,
    Measured,
    clean_env,
    estate_summary,
    fresh_console,
    generated_estate,
    reconciler_command,
    run_child,
    seeded_console,
)

SIZES = (1_000, 10_000, 100_000)
BIG = 100_000  # from this size on: --big-runs runs, no warm-up
PENDING = 0.03
APPLIED = re.compile(r"Applied (\d+) changes? in")
EXAMPLE = "example"


@dataclass(frozen=True)
class Target:
    estate: str  # EXAMPLE or a size
    command: str
    seconds: float
    megabytes: float | None = None


TARGETS = (
    Target(EXAMPLE, "validate", 0.3),
    Target(EXAMPLE, "plan", 0.5),
    Target("10000", "plan", 1.0, 250),
    Target("100000", "plan", 10.0, 2000),
)


@dataclass(frozen=True)
class Row:
    """One estate's measurements (None: not measured for this estate)."""

    estate: str
    runs: int
    validate: Measured
    plan: Measured
    apply: Measured | None = None
    changes: int | None = None
    peer: Measured | None = None
    creates: int | None = None


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(
    what: str,
    command: Sequence[str],
    cwd: Path,
    *,
    runs: int,
    warmup: int,
    env: dict[str, str] | None = None,
    before: Callable[[], None] | None = None,
) -> Measured:
    """`warmup` + `runs` runs of `command` in `cwd`; any run that fails stops the benchmark."""
    done: list[ChildRun] = []
    for number in range(warmup + runs):
        if before is not None:
            before()
        run = run_child(command, cwd, env or clean_env(), cwd / f"{what}.log")
        if run.returncode != 0:
            raise SystemExit(
                f"{what} failed in {cwd} (exit {run.returncode}):\n{run.output.rstrip()[-3000:]}"
            )
        if number >= warmup:
            done.append(run)
    return Measured(tuple(done))


def _runs(count: int) -> str:
    return f"{count} run{'' if count == 1 else 's'}"


def example_estate(out: Path) -> Path:
    """The repository's desired-state/ and the example console it describes, in a folder of their own."""
    folder = out / "estate-example"
    shutil.rmtree(folder / "desired-state", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "desired-state", folder / "desired-state")
    example = REPO / "reconciler" / "sandbox" / "example-console.yaml"
    shutil.copy(example, folder / "console.yaml")
    return folder


def measure_example(out: Path, runs: int, warmup: int) -> Row:
    folder = example_estate(out)
    fresh_console(folder, seeded_console(folder))
    progress(f"example estate: validate and plan, {_runs(runs)} each")
    validate = measure("validate", reconciler_command("validate"), folder, runs=runs, warmup=warmup)
    plan = measure("plan", reconciler_command("plan"), folder, runs=runs, warmup=warmup)
    return Row(EXAMPLE, runs, validate, plan)


def measure_size(out: Path, size: int, runs: int, warmup: int, with_peer: bool) -> Row:
    progress(f"{size:,} subscriptions: preparing the estate and the console (cached after the first time)")
    folder = generated_estate(out / f"estate-{size}", size, pending=PENDING)
    pristine = seeded_console(folder)
    fresh_console(folder, pristine)
    progress(f"{size:,} subscriptions: validate, plan and apply, {_runs(runs)} each")
    validate = measure("validate", reconciler_command("validate"), folder, runs=runs, warmup=warmup)
    plan = measure("plan", reconciler_command("plan"), folder, runs=runs, warmup=warmup)
    apply = measure(
        "apply",
        reconciler_command("apply", "--auto-approve"),
        folder,
        runs=runs,
        warmup=warmup,
        env=clean_env(RECONCILER_SANDBOX_DELAY="0"),
        before=lambda: fresh_console(folder, pristine),
    )
    fresh_console(folder, pristine)  # leave the estate ready for a `reconciler plan` by hand
    applied = APPLIED.search(apply.last.output)
    row = Row(str(size), runs, validate, plan, apply, int(applied.group(1)) if applied else None)
    if not with_peer:
        return row
    zones, due = peer.zones(out / f"octodns-{size}", size, PENDING)
    progress(f"{size:,} records: octodns-sync dry run, {_runs(runs)}")
    synced = measure("octodns", peer.command(), zones, runs=runs, warmup=warmup)
    planned = peer.creates(synced.last)
    if planned != due:
        tail = synced.last.output.rstrip()[-3000:]
        raise SystemExit(f"octodns-sync planned {planned} creates, expected {due}:\n{tail}")
    return Row(row.estate, runs, validate, plan, apply, row.changes, synced, planned)


def _cells(measured: Measured | None) -> str:
    if measured is None:
        return f"{'-':>6} {'':>5}"
    return f"{measured.wall:6.2f} {measured.peak_mb:5.0f}"


def _name(estate: str) -> str:
    return estate if estate == EXAMPLE else f"{int(estate):,}"


def _estate_label(row: Row) -> str:
    return f"{_name(row.estate)} ({row.runs})"


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def table(rows: Sequence[Row]) -> list[str]:
    lines = [
        f"{'':<17} {'validate':^12} {'plan':^12} {'apply':^20} {'octoDNS dry run':^20}  plan /",
        f"{'estate (runs)':<17} {'s':>6} {'MB':>5} {'s':>6} {'MB':>5} {'s':>6} {'MB':>5} {'changes':>7}"
        f" {'s':>6} {'MB':>5} {'creates':>7}  octoDNS",
    ]
    for row in rows:
        ratio = f"{row.plan.wall / row.peer.wall:6.2f}x" if row.peer is not None else f"{'-':>7}"
        lines.append(
            f"{_estate_label(row):<17} {_cells(row.validate)} {_cells(row.plan)} {_cells(row.apply)}"
            f" {_count(row.changes):>7} {_cells(row.peer)} {_count(row.creates):>7}  {ratio}"
        )
    return lines


def verdicts(rows: Sequence[Row]) -> list[str]:
    by_estate = {row.estate: row for row in rows}
    lines = []
    for target in TARGETS:
        row = by_estate.get(target.estate)
        if row is None:
            continue
        measured: Measured = getattr(row, target.command)
        wanted = f"{target.seconds:g} s" + (f" and {_size(target.megabytes)}" if target.megabytes else "")
        got = f"{measured.wall:.2f} s, {measured.peak_mb:.0f} MB"
        met = measured.wall <= target.seconds and (
            target.megabytes is None or measured.peak_mb <= target.megabytes
        )
        label = f"{_name(target.estate)} {target.command}"
        lines.append(f"  {label:<17} at most {wanted:<16} {got:<18} {'met' if met else 'NOT MET'}")
    return lines


def _size(megabytes: float) -> str:
    return f"{megabytes / 1000:g} GB" if megabytes >= 1000 else f"{megabytes:g} MB"


def header(with_peer: bool, load: float) -> list[str]:
    from reconciler import __version__

    cpu = _cpu_model()
    versus = f" against octoDNS {peer.version()}" if with_peer else " (octoDNS not run)"
    return [
        f"reconciler {__version__}{versus}; {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        f"load average when the run started: {load:.2f} (other work on the machine slows every row)",
        "s: median wall seconds of whole processes, start-up included; MB: peak resident set (10^6 bytes)",
        f"{PENDING:.0%} of subscriptions have changes pending; for octoDNS, {PENDING:.0%} of records are new",
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), metavar="N")
    parser.add_argument("--runs", type=int, default=5, help="runs per command below 100,000")
    parser.add_argument("--big-runs", type=int, default=2, help="runs per command from 100,000 on")
    parser.add_argument("--warmup", type=int, default=1, help="runs not counted, below 100,000")
    parser.add_argument("--out", type=Path, default=OUT, help="where estates and zones are cached")
    parser.add_argument("--no-peer", action="store_true", help="do not run octoDNS")
    args = parser.parse_args(argv)
    with_peer = not args.no_peer and peer.version() is not None
    if not args.no_peer and not with_peer:
        progress("octoDNS is not installed (pip install -e '.[bench]'): measuring reconciler alone")
    load = os.getloadavg()[0]  # before our own processes add to it
    started = time.perf_counter()
    rows = [measure_example(args.out, args.runs, args.warmup)]
    for size in sorted(args.sizes):
        big = size >= BIG
        runs = max(1, args.big_runs if big else args.runs)
        rows.append(measure_size(args.out, size, runs, 0 if big else args.warmup, with_peer))
    elapsed = time.perf_counter() - started
    print("\n".join(header(with_peer, load)))
    print()
    print("\n".join(table(rows)))
    for size in sorted(args.sizes):
        print(f"  {size:,}: {estate_summary(args.out / f'estate-{size}')}")
    print()
    print("targets:")
    print("\n".join(verdicts(rows)))
    print(f"\nfinished in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
