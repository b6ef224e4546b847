"""What the state store costs per change: SQLite (fsync at every commit) and PostgreSQL, side by side.

    python bench/state_speed.py [--operations 1000] [--subscriptions 1000] [--runs 3]

Part 1 times the store's own calls, N of each: the journal of one change (an attempt recorded
before its request and finished after it), one heartbeat (a lock renewal) and one lock taken and
given back. SQLite with synchronous=NORMAL (the old setting, which could lose the last commits on a
power cut) is measured in the same run as the floor that durability is compared with, and so is
an fsync at every commit (what the shipped store saves by syncing only the attempt's record).
Part 2 applies one generated estate (bench/generate.py) with each store, from a fresh copy of the
console each time, and prints the medians. PostgreSQL is the one in RECONCILER_TEST_POSTGRES, else
one this script starts (tests/pgserver.py) and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from harness import REPO, clean_env, fresh_console, generated_estate, reconciler_command, seeded_console

sys.path.insert(0, str(REPO))

from reconciler.store import AttemptOutcome, LockRequest, NewAttempt, NewRun, StateStore, open_store
from reconciler.store.sqlite import SqliteStore

SUMMARY = re.compile(r"Applied (\d+) changes? in ([\d.]+)s")


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    url = os.environ.get("RECONCILER_TEST_POSTGRES")
    if url:
        yield url
        return
    from tests.pgserver import running_postgres

    with running_postgres() as server:
        if server is None:
            raise SystemExit("PostgreSQL is not installed: set RECONCILER_TEST_POSTGRES or install it")
        yield server.url


@contextlib.contextmanager
def schema(base: str) -> Iterator[str]:
    """A fresh schema: every measurement starts from empty tables."""
    import psycopg

    name = "bench_" + secrets.token_hex(4)
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {name}")  # type: ignore[arg-type]
    try:
        yield f"{base}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(base, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {name} CASCADE")  # type: ignore[arg-type]


def per_call(operations: int, call: Callable[[int], object]) -> float:
    """Milliseconds per call."""
    started = time.perf_counter()
    for number in range(operations):
        call(number)
    return 1000 * (time.perf_counter() - started) / operations


def measure_calls(store: StateStore, operations: int) -> dict[str, float]:
    store.start_run(NewRun("bench", time.time(), None, "bench", "sandbox:x", "sbx-bench", None, ("d",)))

    def journal(number: int) -> None:
        started = time.time()
        attempt = NewAttempt("bench", f"change-{number}", "provision", "s", 1, f"k-{number}", started)
        store.finish_attempt(store.start_attempt(attempt), AttemptOutcome.SUCCEEDED, time.time())

    def lock(number: int) -> None:
        request = LockRequest(f"lk-{number}", "sbx-bench", "bench", "h", 1, "bench", store.clock(), 30.0)
        store.release_lock(store.acquire_lock(request).id)

    held = store.acquire_lock(LockRequest("lk-held", "sbx-beat", "bench", "h", 1, "bench", store.clock(), 30))
    return {
        "journal": per_call(operations, journal),
        "heartbeat": per_call(operations, lambda _: store.renew_lock(held.id, store.clock(), 30.0)),
        "lock": per_call(operations, lock),
    }


def part_one(operations: int, pg_base: str, folder: Path) -> None:
    print(f"Store calls, {operations} of each (ms per call; per change, the journal is what apply adds):")
    rows: list[tuple[str, dict[str, float]]] = []
    for name, synchronous, durable_attempt in (
        ("sqlite, all NORMAL (floor, not durable)", "NORMAL", False),
        ("sqlite, attempt FULL (shipped)", "NORMAL", True),
        ("sqlite, all FULL", "FULL", False),
    ):
        store = open_store(f"sqlite:{folder / (secrets.token_hex(4) + '.db')}")
        assert isinstance(store, SqliteStore)
        store.synchronous = synchronous
        if not durable_attempt:  # every write at one setting, the attempts' commits included
            store.attempt_synchronous = synchronous
        store._db.execute(f"PRAGMA synchronous = {synchronous}")  # type: ignore[attr-defined]
        rows.append((name, measure_calls(store, operations)))
        store.close()
    with schema(pg_base) as url:
        store = open_store(url)
        rows.append(("postgresql (attempt durable)", measure_calls(store, operations)))
        store.close()
    floor = rows[0][1]
    for name, numbers in rows:
        cells = "  ".join(
            f"{what} {value:6.3f} ms ({value / floor[what]:4.1f}x)" for what, value in numbers.items()
        )
        print(f"  {name:<36} {cells}")


def one_apply(root: Path, pristine: Path, state: str) -> tuple[float, float, int]:
    fresh_console(root, pristine)
    started = time.perf_counter()
    done = subprocess.run(
        reconciler_command("apply", "--auto-approve"),
        cwd=root,
        env=clean_env(RECONCILER_SANDBOX_DELAY="0", RECONCILER_STATE=state),
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    match = SUMMARY.search(done.stdout)
    assert match is not None, done.stdout
    return wall, float(match.group(2)), int(match.group(1))


def part_two(subscriptions: int, runs: int, pg_base: str, folder: Path) -> None:
    root = folder / "estate"
    pristine = seeded_console(generated_estate(root, subscriptions, pending=0.3))
    print(f"\nApply of one estate ({subscriptions} subscriptions), median of {runs} runs:")
    results: list[tuple[str, float, float, int]] = []
    for name in ("sqlite", "postgresql"):
        samples = []
        for _ in range(runs):
            if name == "sqlite":
                samples.append(one_apply(root, pristine, "sqlite:.reconciler/state.db"))
                continue
            with schema(pg_base) as url:
                samples.append(one_apply(root, pristine, url))
        wall = statistics.median(s[0] for s in samples)
        execution = statistics.median(s[1] for s in samples)
        results.append((name, wall, execution, samples[0][2]))
    base = results[0]
    for name, wall, execution, changes in results:
        print(
            f"  {name:<11} {changes} changes: whole command {wall:6.2f}s ({wall / base[1]:4.2f}x), "
            f"execution {execution:6.2f}s ({1000 * execution / max(changes, 1):.2f} ms per change, "
            f"{execution / base[2]:4.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with postgres() as pg_base, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        part_one(options.operations, pg_base, folder)
        part_two(options.subscriptions, options.runs, pg_base, folder)


if __name__ == "__main__":
    main()
