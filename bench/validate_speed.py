"""How fast `reconciler validate` is, and what locating values costs.

    python bench/validate_speed.py [--runs 5] [--subscriptions 10000] [--dir DIR] [--reference]

Generates (or reuses, under DIR) a 10,000-subscription estate as one file and split over ~100
files, then prints the wall time of `reconciler validate` as a whole process (start-up included)
on the repository's example and on both estates: median, min and max of several runs after one
warm-up. It also times, in process, locating ~300 values of the single-file estate (what a plan
with ~300 changes asks for, the line index included) and refusing an alias bomb. `--reference`
adds one run of PyYAML's C loader and of a whole-file PyYAML compose on the same file, for scale.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness import REPO, clean_env, generated_estate, reconciler_command


def timings(action: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        action()
    measured = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        measured.append(time.perf_counter() - started)
    return measured


def validate_process(cwd: Path, path: str) -> Callable[[], None]:
    env = clean_env()

    def run() -> None:
        result = subprocess.run(reconciler_command("validate", path), cwd=cwd, env=env, capture_output=True)
        if result.returncode != 0:
            raise SystemExit(f"validate failed in {cwd}:\n{result.stdout.decode()}{result.stderr.decode()}")

    return run


def locate_timings(folder: Path, count: int, runs: int) -> list[float]:
    """Load the estate afresh each run, then time locating `count` app sites.

    The first lookup of a run builds the file's line index, so it is included, as in a plan.
    """
    from reconciler.loading.desired import load_desired

    os.chdir(folder)
    measured = []
    for run in range(runs + 1):
        state = load_desired(["desired-state"])
        subscriptions = list(state.subscriptions.values())
        origins = [sub.apps[0].site_origin for sub in random.Random(run).sample(subscriptions, count)]
        started = time.perf_counter()
        for origin in origins:
            origin.span()
        measured.append(time.perf_counter() - started)
    return measured[1:]  # the first run warms up


def alias_bomb() -> Callable[[], None]:
    from reconciler.loading.yamlfile import parse_yaml

    text = 'version: 1\na: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
    raw = text.encode()

    def run() -> None:
        doc, problems = parse_yaml(raw, "bomb.yaml")
        assert doc is None and problems[0].rule == "yaml-limit"

    return run


def row(label: str, values: list[float], note: str = "") -> str:
    median, low, high = statistics.median(values), min(values), max(values)
    return f"| {label:<48} | {median:8.3f} | {low:8.3f} | {high:8.3f} | {note}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "reconciler-bench")
    parser.add_argument("--reference", action="store_true", help="also time PyYAML on the single file")
    args = parser.parse_args(argv)
    n = args.subscriptions
    single = generated_estate(args.dir / f"estate-{n}-single", n, files=1)
    split = generated_estate(args.dir / f"estate-{n}-split", n, files=max(1, round(n / 100)))
    single_file = next((single / "desired-state").glob("*.yaml"))
    size = single_file.stat().st_size / 1e6
    files = len(list((split / "desired-state").glob("*.yaml")))

    print(f"seconds, median of {args.runs} runs after a warm-up (min, max); {os.cpu_count()} CPUs")
    print(f"| {'what':<48} | {'median':>8} | {'min':>8} | {'max':>8} | notes")
    print(f"|{'-' * 50}|{'-' * 10}|{'-' * 10}|{'-' * 10}|------")
    print(row("validate: the example (3 files)", timings(validate_process(REPO, "desired-state"), args.runs)))
    single_runs = timings(validate_process(single, "desired-state"), args.runs)
    print(row(f"validate: {n} subscriptions, 1 file", single_runs, f"{size:.1f} MB"))
    split_runs = timings(validate_process(split, "desired-state"), args.runs)
    print(row(f"validate: {n} subscriptions, {files} files", split_runs))

    located = locate_timings(single, 300, args.runs)
    print(row("locate 300 values in the 1-file estate", located, "in process, line index included"))
    print(row("refuse an alias bomb (9^9 nodes)", timings(alias_bomb(), args.runs), "in process"))
    if args.reference:
        reference(single_file)


def reference(path: Path) -> None:
    import yaml

    text = path.read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    print(row("reference: PyYAML C loader, 1 run", timings(lambda: yaml.load(text, Loader=loader), 1, 0)))
    print(
        row(
            "reference: PyYAML C compose, 1 run",
            timings(lambda: yaml.compose(text, loader), 1, 0),
        )
    )


if __name__ == "__main__":
    main()
