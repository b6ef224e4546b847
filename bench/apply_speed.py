"""How long `reconciler apply` takes on a large estate against the in-process sandbox (delay 0).

    python bench/apply_speed.py [--subscriptions 1000] [--pending 0.3] [--runs 5] [--parallelism 1 4 16]

Generates an estate with bench/generate.py, then for each parallelism applies it from a fresh copy
of the console several times and prints the median of two numbers: the whole command (start-up,
two plans, execution, journal) and the execution alone (what the summary line reports). The
difference between the two is fixed cost; the execution divided by the changes is the per-change
cost of the executor, the journal and the sandbox's own write.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from harness import clean_env, fresh_console, generated_estate, reconciler_command, seeded_console

HERE = Path(__file__).resolve().parent
SUMMARY = re.compile(r"Applied (\d+) changes? in ([\d.]+)s")


def prepare(root: Path, subscriptions: int, pending: float) -> Path:
    return seeded_console(generated_estate(root, subscriptions, pending=pending))


def reconciler(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        reconciler_command(*args),
        cwd=root,
        env=clean_env(RECONCILER_SANDBOX_DELAY="0"),
        check=True,
        capture_output=True,
        text=True,
    )


def one_apply(root: Path, pristine: Path, parallelism: int) -> tuple[float, float, int]:
    fresh_console(root, pristine)
    started = time.perf_counter()
    result = reconciler(root, "apply", "--auto-approve", "--parallelism", str(parallelism))
    wall = time.perf_counter() - started
    match = SUMMARY.search(result.stdout)
    assert match is not None, result.stdout
    return wall, float(match.group(2)), int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--pending", type=float, default=0.3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--parallelism", type=int, nargs="+", default=[1, 4, 16])
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "estate"
        pristine = prepare(root, options.subscriptions, options.pending)
        print(f"estate: {options.subscriptions} subscriptions, pending share {options.pending}; "
              f"median of {options.runs} runs")  # fmt: skip
        for parallelism in options.parallelism:
            samples = [one_apply(root, pristine, parallelism) for _ in range(options.runs)]
            wall = statistics.median(s[0] for s in samples)
            execution = statistics.median(s[1] for s in samples)
            changes = samples[0][2]
            print(
                f"parallelism {parallelism:>2}: {changes} changes, whole command {wall:.2f}s, "
                f"execution {execution:.2f}s ({1000 * execution / max(changes, 1):.2f} ms per change)"
            )


if __name__ == "__main__":
    main()
