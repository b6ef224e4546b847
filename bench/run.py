"""How `reconciler` scales, against the floor of the machine and against two peers: one screen.

    python bench/run.py [--quick] [--sizes 1000 10000 100000] [--runs 5] [--big-runs 5]
                        [--warmup 1] [--out bench/out] [--no-peer] [--no-http]

For the repository's example estate and for generated estates of each size (bench/generate.py:
orgs, sites, collections and standalone apps, 3% of subscriptions with changes pending), it
times whole `reconciler` processes, start-up included: `validate`, `plan` (the sandbox provider)
and `apply --auto-approve` of the pending changes (each apply on a fresh copy of the seeded
console, provisioning delay 0). `validate` and `plan` each run in turn with their floor
(bench/floor.py: the same files parsed, the same database read, a plan-sized JSON written; for
validate, parsing and the schema check), and the ratio is the median of the pairs' ratios.
The peers: octoDNS's `octodns-sync` dry run on as many records with the same share of changes,
and, where `terraform` is on PATH, `terraform plan` of N `terraform_data` resources with 2% changed
against `reconciler plan` of N subscriptions with 2% pending. And an HTTP apply of 1,000
provisions at 50 ms of latency, at parallelism 16 and 64, against its ideal: right after the
example estate, before the big estates' minutes of full load slow the machine's cores.
Estates, consoles, zones and workspaces are cached under --out and remade only when their inputs change.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import peer
import report
import terraform_peer
from harness import (
    HERE,
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
from report import EXAMPLE, HttpRow, Paired, Row, TerraformRow
from targets import header, verdicts

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
BIG = 100_000  # from this size on: --big-runs runs, no warm-up, one run of the peers
PENDING = 0.03
TERRAFORM_PENDING = 0.02
TERRAFORM_MAX = 10_000  # terraform plan of 10,000 resources takes minutes; 100,000 would take hours
APPLIED = re.compile(r"Applied (\d+) changes? in")
PLANNED = re.compile(
    r"Plan: (\d+) sites? to create, (\d+) apps? to provision, (\d+) to reactivate, (\d+) to cancel"
)
HTTP_PROVISIONS, HTTP_LATENCY, HTTP_PARALLELISM = 1000, 50.0, (16, 64)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _checked(what: str, cwd: Path, run: ChildRun) -> ChildRun:
    if run.returncode != 0:
        raise SystemExit(f"{what} failed in {cwd} (exit {run.returncode}):\n{run.output.rstrip()[-3000:]}")
    return run


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
        run = _checked(what, cwd, run_child(command, cwd, env or clean_env(), cwd / f"{what}.log"))
        if number >= warmup:
            done.append(run)
    return Measured(tuple(done))


def measure_pair(
    what: str, command: Sequence[str], floor: Sequence[str], cwd: Path, *, runs: int, warmup: int,
    floor_env: dict[str, str] | None = None,
) -> Paired:  # fmt: skip
    """`command` and its `floor` in turn, A B A B ...: a change in the machine's load hits both."""
    done: list[ChildRun] = []
    floors: list[ChildRun] = []
    for number in range(warmup + runs):
        run = _checked(what, cwd, run_child(command, cwd, clean_env(), cwd / f"{what}.log"))
        base = _checked(
            f"{what} floor", cwd, run_child(floor, cwd, floor_env or clean_env(), cwd / "floor.log")
        )
        if number >= warmup:
            done.append(run)
            floors.append(base)
    return Paired(Measured(tuple(done)), Measured(tuple(floors)))


def floor_command(command: str, folder: Path) -> list[str]:
    return [sys.executable, str(HERE / "floor.py"), command, str(folder)]


def _runs(count: int) -> str:
    return f"{count} run{'' if count == 1 else 's'}"


def compile_package() -> None:
    """Bytecode for the package, as installing it writes (pip compiles every module it installs).

    An editable checkout has none, and where PYTHONDONTWRITEBYTECODE is set Python never caches
    it: every run would compile the whole package again, which no installed copy does.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-m", "compileall", "-q", str(REPO / "reconciler")]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def example_estate(out: Path) -> Path:
    """The repository's desired-state/ and the example console it describes, in a folder of their own."""
    folder = out / "estate-example"
    shutil.rmtree(folder / "desired-state", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "desired-state", folder / "desired-state")
    example = REPO / "reconciler" / "sandbox" / "example-console.yaml"
    shutil.copy(example, folder / "console.yaml")
    return folder


def _validate_and_plan(folder: Path, runs: int, warmup: int) -> tuple[Paired, Paired]:
    validate = measure_pair(
        "validate", reconciler_command("validate"), floor_command("validate", folder), folder,
        runs=runs, warmup=warmup,
    )  # fmt: skip
    plan = measure_pair(
        "plan", reconciler_command("plan"), floor_command("plan", folder), folder, runs=runs, warmup=warmup
    )
    return validate, plan


def measure_example(out: Path, runs: int, warmup: int) -> Row:
    folder = example_estate(out)
    fresh_console(folder, seeded_console(folder))
    progress(f"example estate: validate and plan with their floors, {_runs(runs)} each")
    validate, plan = _validate_and_plan(folder, runs, warmup)
    return Row(EXAMPLE, runs, validate, plan)


def measure_size(out: Path, size: int, runs: int, warmup: int, args: argparse.Namespace) -> Row:
    progress(f"{size:,} subscriptions: preparing the estate and the console (cached after the first time)")
    folder = generated_estate(out / f"estate-{size}", size, pending=PENDING)
    pristine = seeded_console(folder)
    fresh_console(folder, pristine)
    progress(f"{size:,} subscriptions: validate and plan with their floors, then apply, {_runs(runs)} each")
    validate, plan = _validate_and_plan(folder, runs, warmup)
    apply_runs = min(runs, args.apply_big_runs) if size >= BIG else runs
    apply = measure(
        "apply",
        reconciler_command("apply", "--auto-approve"),
        folder,
        runs=apply_runs,
        warmup=warmup,
        env=clean_env(RECONCILER_SANDBOX_DELAY="0"),
        before=lambda: fresh_console(folder, pristine),
    )
    fresh_console(folder, pristine)  # leave the estate ready for a `reconciler plan` by hand
    applied = APPLIED.search(apply.last.output)
    row = Row(str(size), runs, validate, plan, apply, int(applied.group(1)) if applied else None)
    if not args.with_peer:
        return row
    zones, due = peer.zones(out / f"octodns-{size}", size, PENDING)
    peer_runs = 1 if size >= BIG else runs
    progress(f"{size:,} records: octodns-sync dry run, {_runs(peer_runs)}")
    synced = measure("octodns", peer.command(), zones, runs=peer_runs, warmup=0 if size >= BIG else warmup)
    planned = peer.creates(synced.last)
    if planned != due:
        tail = synced.last.output.rstrip()[-3000:]
        raise SystemExit(f"octodns-sync planned {planned} creates, expected {due}:\n{tail}")
    return Row(row.estate, runs, validate, plan, apply, row.changes, synced, planned)


def measure_terraform(out: Path, size: int, runs: int) -> TerraformRow:
    progress(f"{size:,} subscriptions, 2% pending, and {size:,} terraform_data resources, 2% changed")
    folder = generated_estate(out / f"estate-{size}-2pct", size, pending=TERRAFORM_PENDING)
    fresh_console(folder, seeded_console(folder))
    workspace, due = terraform_peer.workspace(out / f"terraform-{size}", size, TERRAFORM_PENDING)
    progress(f"{size:,}: reconciler plan and terraform plan in turn, {_runs(runs)}")
    done: list[ChildRun] = []
    theirs: list[ChildRun] = []
    for _ in range(runs):
        done.append(
            _checked(
                "plan",
                folder,
                run_child(reconciler_command("plan"), folder, clean_env(), folder / "plan.log"),
            )
        )
        env = clean_env(TF_IN_AUTOMATION="1")
        theirs.append(
            _checked(
                "terraform plan",
                workspace,
                run_child(terraform_peer.command(), workspace, env, workspace / "plan.log"),
            )
        )
    updates = terraform_peer.updates(theirs[-1])
    if updates != due:
        raise SystemExit(f"terraform planned {updates} updates, expected {due}:\n{theirs[-1].output[-3000:]}")
    planned = PLANNED.search(done[-1].output)
    changes = sum(int(n) for n in planned.groups()) if planned else 0
    return TerraformRow(size, Paired(Measured(tuple(done)), Measured(tuple(theirs))), changes, updates)


def measure_http(runs: int, parallelisms: Sequence[int]) -> list[HttpRow]:
    import http_apply

    rows = []
    for parallelism in parallelisms:
        progress(f"HTTP apply of {HTTP_PROVISIONS:,} provisions, parallelism {parallelism}, {_runs(runs)}")
        done = http_apply.apply_walls(HTTP_PROVISIONS, HTTP_LATENCY, parallelism, runs)
        ideal = HTTP_PROVISIONS * HTTP_LATENCY / 1000 / parallelism
        walls = tuple(run["wall"] for run in done)
        cpu = sorted(done, key=lambda run: run["wall"])[len(done) // 2]
        rows.append(HttpRow(parallelism, walls, ideal, cpu["apply_cpu"], cpu["server_cpu"]))
    return rows


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 only, 3 runs, no 64-way HTTP")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N")
    parser.add_argument("--runs", type=int, default=None, help="runs per command (5; --quick: 3)")
    parser.add_argument("--big-runs", type=int, default=5, help="runs of validate and plan from 100,000 on")
    parser.add_argument("--apply-big-runs", type=int, default=2, help="runs of apply from 100,000 on")
    parser.add_argument("--warmup", type=int, default=1, help="runs not counted, below 100,000")
    parser.add_argument("--out", type=Path, default=OUT, help="where estates and peers' inputs are cached")
    parser.add_argument("--no-peer", action="store_true", help="run neither octoDNS nor Terraform")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP apply")
    args = parser.parse_args(argv)
    args.sizes = sorted(args.sizes or (QUICK_SIZES if args.quick else SIZES))
    args.runs = args.runs or (3 if args.quick else 5)
    args.with_peer = not args.no_peer and peer.version() is not None
    args.terraform = not args.no_peer and terraform_peer.version() is not None
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(argv)
    if not args.no_peer and not args.with_peer:
        progress("octoDNS is not installed (pip install -e '.[bench]'): it is not run")
    load = os.getloadavg()[0]  # before our own processes add to it
    started = time.perf_counter()
    compile_package()
    rows = [measure_example(args.out, args.runs, args.warmup)]
    # HTTP apply is measured against a fixed ideal, not a floor run beside it, so it goes before
    # the minutes of full load the estates make: on a shared VM the cores are slower after them
    # (a fixed Python loop 38% slower right after the 10,000-resource terraform plan).
    http = (
        []
        if args.no_http
        else measure_http(args.runs, HTTP_PARALLELISM[:1] if args.quick else HTTP_PARALLELISM)
    )
    for size in args.sizes:
        big = size >= BIG
        rows.append(
            measure_size(args.out, size, args.big_runs if big else args.runs, 0 if big else args.warmup, args)
        )
    terraform = [
        measure_terraform(args.out, size, 1 if size >= TERRAFORM_MAX else args.runs)
        for size in args.sizes
        if args.terraform and size <= TERRAFORM_MAX
    ]
    elapsed = time.perf_counter() - started
    print("\n".join(header(args, load)))
    print()
    print("\n".join(report.table(rows)))
    for size in args.sizes:
        print(f"  {size:,}: {estate_summary(args.out / f'estate-{size}')}")
    print("\n".join(report.floors(rows)))
    print()
    if terraform:
        print("\n".join(report.terraform_table(terraform)))
    if args.terraform and any(size > TERRAFORM_MAX for size in args.sizes):
        print(
            f"  terraform plan is not run above {TERRAFORM_MAX:,} resources:"
            " its time grows faster than the estate (hours at 100,000)"
        )
    elif not args.terraform and not args.no_peer:
        print("  terraform is not on PATH: the Terraform comparison is skipped")
    if http:
        print()
        print("\n".join(report.http_table(http, HTTP_PROVISIONS, HTTP_LATENCY)))
    print()
    print("targets:")
    print("\n".join(verdicts(rows, http)))
    print(f"\nfinished in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
