"""What the SQLite journal costs apply's threads: each records an attempt, waits as for its request,
and records the outcome.

    python bench/journal_threads.py [--changes 1000] [--threads 16] [--pause 50] [--runs 5]

Prints, per run and as medians: the wall time, the CPU seconds of the process (user + system) with
the journal and without it (the same threads only waiting), and how many transactions the
journal committed (SQLite's COMMITs and autocommitted writes, counted on the store's connection;
the counting costs a few microseconds a statement, in the CPU shown). The pause is milliseconds
between an attempt and its outcome, like the console's latency. Run it with PYTHONPATH set to
another checkout to measure that one.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reconciler.store import AttemptOutcome, NewAttempt, NewRun, open_store


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_run(changes: int, threads: int, pause: float, journal: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="journal-threads-") as scratch:
        store = open_store(f"sqlite:{Path(scratch) / 'state.db'}")
        store.start_run(NewRun("bench", time.time(), None, "bench", "sandbox:x", "sbx-bench", None, ("d",)))
        commits = [0]

        def count(sql: str) -> None:  # a write outside BEGIN ... COMMIT commits on its own
            if sql == "COMMIT" or (sql.startswith("UPDATE") and not store._db.in_transaction):  # type: ignore[attr-defined]
                commits[0] += 1

        store._db.set_trace_callback(count)  # type: ignore[attr-defined]

        def change(number: int) -> None:
            if not journal:
                time.sleep(pause)
                return
            attempt = NewAttempt("bench", f"change-{number}", "provision", "s", 1, f"k-{number}", time.time())
            attempt_id = store.start_attempt(attempt)
            time.sleep(pause)
            store.finish_attempt(attempt_id, AttemptOutcome.SUCCEEDED, time.time())

        before, started = cpu(), time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(change, range(changes)))
        wall, used = time.perf_counter() - started, cpu() - before
        store._db.set_trace_callback(None)  # type: ignore[attr-defined]
        store.close()
    return {"wall": wall, "cpu": used, "commits": float(commits[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--pause", type=float, default=50.0, help="milliseconds between attempt and outcome")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    pause = options.pause / 1000
    print(f"journal of {options.changes} changes from {options.threads} threads, {options.pause:g} ms apart")
    runs, floors = [], []
    for _ in range(options.runs):  # in turn, so that the machine's load falls on both alike
        floors.append(one_run(options.changes, options.threads, pause, journal=False))
        runs.append(one_run(options.changes, options.threads, pause, journal=True))
        print(
            f"  wall {runs[-1]['wall']:6.3f} s  CPU {runs[-1]['cpu']:6.3f} s "
            f"(without the journal {floors[-1]['wall']:6.3f} s, CPU {floors[-1]['cpu']:6.3f} s)  "
            f"commits {runs[-1]['commits']:.0f}"
        )

    def median(samples: list[dict[str, float]], key: str) -> float:
        return statistics.median(sample[key] for sample in samples)

    extra = median(runs, "cpu") - median(floors, "cpu")
    print(
        f"medians: wall {median(runs, 'wall'):.3f} s (without {median(floors, 'wall'):.3f} s), "
        f"journal CPU {extra:.3f} s ({1e6 * extra / options.changes:.0f} us per change), "
        f"commits {median(runs, 'commits'):.0f}"
    )


if __name__ == "__main__":
    main()
