"""Apply 1,000 provisions over HTTP against `reconciler sandbox serve --latency 50`, parallelism 16.

    python bench/http_apply.py [--provisions 1000] [--latency 50] [--parallelism 16] [--runs 3]

The ideal is provisions x latency / parallelism (1,000 x 50 ms / 16 = 3.125 s): every provision is one
request, and nothing but the latency costs time. The script prints the median wall time of the whole
`reconciler apply` command, that ideal, their ratio, and where the rest goes: the execution alone
(what apply's summary line reports), the same requests sent straight through the http provider
from a thread pool (the floor set by the wire, the server and the console) with the CPU per request
of each side there (start-ups left out: `--latency 0 --parallelism 1` gives the cost of a request
alone), `reconciler plan` over the same server (start-up, one observation, planning), the
interpreter's start-up, and the CPU seconds the apply and server processes used.

Each run starts from a fresh copy of the console (1,000 active Focus subscriptions, each in its own
org with a Jira Premium site, none provisioned; the sandbox's provisioning delay is 0, so a provision
is done when its request returns) and a fresh state store.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from harness import clean_env

from reconciler.model import Action, Change, Organization, Site, Subscription
from reconciler.providers.http import HttpProvider
from reconciler.sandbox import SandboxConsole, Seed
from reconciler.sandbox.seedfile import example_seed

TOKEN = "sandbox-token-alice"
ALICE = "alice@acme.example"
SUMMARY = re.compile(r"Applied (\d+) changes? in ([\d.]+)s")
SERVING = re.compile(r"Serving \S+ on (http://\S+)")


def subscription(i: int) -> Subscription:
    start, end = dt.date(2026, 1, 1), dt.date(2027, 1, 1)
    return Subscription(f"SUB-{i:05d}", "AC-1111-2222-3333", "focus", "active", start, end, {"focus": None})


def seed(count: int) -> Seed:
    base = example_seed()
    return dataclasses.replace(
        base,
        organizations=tuple(
            Organization(f"org-{i:05d}", f"Org {i}", frozenset({ALICE}), frozenset()) for i in range(count)
        ),
        sites=tuple(Site(f"site-{i:05d}", f"org-{i:05d}", "premium") for i in range(count)),
        subscriptions=tuple(subscription(i) for i in range(count)),
        billing_accounts=tuple(a for a in base.billing_accounts if a.id == "AC-1111-2222-3333"),
        provisioning_delay=0.0,
    )


def prepare(root: Path, count: int) -> Path:
    """The desired state in root/desired-state and the pristine console in root/pristine.db."""
    desired = root / "desired-state"
    desired.mkdir()
    subscriptions = [
        {"id": f"SUB-{i:05d}", "apps": {"focus": {"site": f"site-{i:05d}"}}} for i in range(count)
    ]
    # Block style, as people write it (a flow-style file is located by a full parse; see docs/performance.md).
    document = {"version": 1, "subscriptions": subscriptions}
    (desired / "estate.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    pristine = root / "pristine.db"
    SandboxConsole.create(pristine, seed(count)).close()
    return pristine


class Server:
    def __init__(self, root: Path, latency: float) -> None:
        self.log = (root / "serve.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", "--latency", str(latency),
             "--provider", "sandbox:console.db"],
            cwd=root, env=clean_env(RECONCILER_SANDBOX_DELAY="0"), stdout=subprocess.PIPE,
            stderr=self.log, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        match = SERVING.fullmatch(self.process.stdout.readline().strip())
        if match is None:
            self.stop()
            raise SystemExit("the server did not start; see serve.log")
        self.url = match.group(1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def children_cpu() -> float:
    """CPU seconds of every child process reaped so far (each one's share is a difference of two)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reconciler(root: Path, url: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=root, env=clean_env(RECONCILER_PROVIDER=url, RECONCILER_TOKEN=TOKEN),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"reconciler {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return wall, result.stdout


def one_run(root: Path, pristine: Path, args: argparse.Namespace) -> dict[str, float]:
    """Fresh console and state, a server, `plan` (for the fixed cost), then the timed `apply`."""
    shutil.rmtree(root / ".reconciler", ignore_errors=True)
    for leftover in root.glob("console.db*"):
        leftover.unlink()
    shutil.copy(pristine, root / "console.db")
    server = Server(root, args.latency)
    try:
        plan_wall, _ = reconciler(root, server.url, "plan", "--format", "json")
        before = children_cpu()
        wall, out = reconciler(
            root, server.url, "apply", "--auto-approve", "--parallelism", str(args.parallelism)
        )
        apply_cpu = children_cpu() - before
    finally:
        before = children_cpu()
        server.stop()
        server_cpu = children_cpu() - before
    summary = SUMMARY.search(out)
    if summary is None or int(summary.group(1)) != args.provisions:
        raise SystemExit(f"apply did not make {args.provisions} changes:\n{out}")
    return {
        "wall": wall,
        "execution": float(summary.group(2)),
        "plan": plan_wall,
        "apply_cpu": apply_cpu,
        "server_cpu": server_cpu,
    }


def provider_alone(root: Path, pristine: Path, args: argparse.Namespace) -> dict[str, float]:
    """The same provisions sent straight through the http provider from a thread pool: the floor
    that the wire, the server and the console set, without apply's planning, journal or progress.
    Its wall, and the CPU per request of this process and of the server, start-ups left out."""
    for leftover in root.glob("console.db*"):
        leftover.unlink()
    shutil.copy(pristine, root / "console.db")
    server = Server(root, args.latency)
    provider = HttpProvider(server.url, TOKEN, trust_env=False)
    changes = [
        Change(f"provision:SUB-{i:05d}:focus", Action.PROVISION, f"SUB-{i:05d}", "focus", f"site-{i:05d}",
               f"org-{i:05d}", (), "", None)
        for i in range(args.provisions)
    ]  # fmt: skip
    try:
        provider.console_id()  # both sides warm: imports done, a connection open
        server_before, client_before = process_cpu(server.process.pid), time.process_time()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.parallelism) as pool:
            list(pool.map(lambda change: provider.execute(change, f"bench-{change.id}"), changes))
        wall = time.perf_counter() - started
        client, server_cpu = (
            time.process_time() - client_before,
            process_cpu(server.process.pid) - server_before,
        )
        per_request = 1000 / args.provisions
        return {"wall": wall, "client_ms": client * per_request, "server_ms": server_cpu * per_request}
    finally:
        provider.close()
        server.stop()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_up() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reconciler", "--version"], check=True, capture_output=True)
    return time.perf_counter() - started


def measure(args: argparse.Namespace) -> tuple[list[dict[str, float]], dict[str, float], float]:
    """args.runs runs of the whole apply, then the provider alone and the start-up: (runs, floor, boot)."""
    with tempfile.TemporaryDirectory(prefix="http-apply-") as tmp:
        root = Path(tmp)
        pristine = prepare(root, args.provisions)
        runs = [one_run(root, pristine, args) for _ in range(args.runs)]
        alone = [provider_alone(root, pristine, args) for _ in range(args.runs)]
        floor = {key: statistics.median(one[key] for one in alone) for key in alone[0]}
        boot = statistics.median(start_up() for _ in range(3))
    return runs, floor, boot


def apply_walls(provisions: int, latency: float, parallelism: int, runs: int) -> list[dict[str, float]]:
    """Only the timed applies (for bench/run.py): each run's wall, execution and CPU seconds."""
    args = argparse.Namespace(provisions=provisions, latency=latency, parallelism=parallelism, runs=runs)
    with tempfile.TemporaryDirectory(prefix="http-apply-") as tmp:
        root = Path(tmp)
        pristine = prepare(root, provisions)
        return [one_run(root, pristine, args) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--provisions", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=50.0, help="milliseconds added to every response")
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    ideal = args.provisions * args.latency / 1000 / args.parallelism
    from run import compile_package

    compile_package()  # as bench/run.py does: bytecode as an install writes it
    runs, floor, boot = measure(args)

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    wall, execution, plan = median("wall"), median("execution"), median("plan")
    print(
        f"http apply: {args.provisions} provisions, latency {args.latency:g} ms, "
        f"parallelism {args.parallelism}, {args.runs} runs"
    )
    each = ", ".join(f"{run['wall']:.2f}" for run in runs)
    print(f"  wall (median)     {wall:6.2f} s   runs: {each}")
    print(
        f"  ideal             {ideal:6.3f} s   ({args.provisions} x {args.latency:g} ms / {args.parallelism})"
    )

    def times(seconds: float) -> str:  # at --latency 0 there is no ideal to compare with
        return f"{seconds / ideal:.2f}x" if ideal else "-"

    print(f"  ratio             {times(wall):>7}")
    print("where the time goes (medians):")
    print(f"  execution         {execution:6.2f} s   ({times(execution)} the ideal; apply's own count)")
    alone = floor["wall"]
    print(f"  provider alone    {alone:6.2f} s   ({times(alone)} the ideal; the same requests, no apply)")
    print(
        f"  CPU per request   {floor['client_ms']:6.2f} ms client, {floor['server_ms']:.2f} ms server"
        "   (provider alone, start-ups left out)"
    )
    print(f"  everything else   {wall - execution:6.2f} s   (start-up, lock, re-plan, verify, summary)")
    print(f"  plan over HTTP    {plan:6.2f} s   (start-up + one observation + planning)")
    print(f"  start-up          {boot:6.2f} s   (python -m reconciler --version)")
    print(f"  CPU of apply      {median('apply_cpu'):6.2f} s   (user + system, on {os.cpu_count()} cores)")
    print(f"  CPU of the server {median('server_cpu'):6.2f} s   (for plan and apply together)")


if __name__ == "__main__":
    main()
