"""What the benchmark scripts share: generated estates, a clean environment, timed child processes.

Standard library only, so any script here can import it before the package is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GENERATE = HERE / "generate.py"
OUT = HERE / "out"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any RECONCILER_ setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update(extra)
    return env


def reconciler_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", *args]


def _fingerprint(files: Sequence[Path], *words: object) -> str:
    """What a cached estate was made from: the generator's code and its arguments."""
    digest = hashlib.sha256(" ".join(map(str, words)).encode())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def generated_estate(
    folder: Path, subscriptions: int, *, files: int | None = None, pending: float = 0.03, seed: int = 1
) -> Path:
    """folder/console.yaml and folder/desired-state/, made by generate.py once and reused.

    The folder keeps a stamp of the generator's code and arguments: a changed generator or
    other arguments make the estate anew, so a cached estate is never stale.
    """
    stamp = folder / "estate.stamp"
    wanted = _fingerprint([GENERATE], subscriptions, files, pending, seed)
    cached = [stamp, folder / "estate.txt", folder / "desired-state"]
    if all(path.exists() for path in cached) and stamp.read_text() == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    command = [sys.executable, str(GENERATE), "--subscriptions", str(subscriptions), "--out", str(folder)]
    command += ["--pending", str(pending), "--seed", str(seed)]
    command += ["--files", str(files)] if files else []
    made = subprocess.run(command, check=True, capture_output=True, text=True)
    # generate.py says what it made: "DIR: N subscriptions, S sites, O orgs, F files (M MB)".
    (folder / "estate.txt").write_text(made.stdout.strip().partition(": ")[2] + "\n")
    stamp.write_text(wanted)
    return folder


def estate_summary(folder: Path) -> str:
    """What generated_estate made in `folder`, in a few words."""
    summary = folder / "estate.txt"
    return summary.read_text().strip() if summary.is_file() else ""


def seeded_console(folder: Path) -> Path:
    """folder/pristine.db: the sandbox database seeded from folder/console.yaml, made once per estate."""
    pristine = folder / "pristine.db"
    stamp = folder / "pristine.stamp"
    sandbox_code = sorted((REPO / "reconciler" / "sandbox").glob("*.py"))
    wanted = _fingerprint([folder / "console.yaml", *sandbox_code])
    if pristine.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return pristine
    scratch = folder / ".reconciler"
    shutil.rmtree(scratch, ignore_errors=True)
    subprocess.run(
        reconciler_command("sandbox", "init", "--from", "console.yaml"),
        cwd=folder, env=clean_env(), check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    shutil.copy(scratch / "sandbox.db", pristine)
    stamp.write_text(wanted)
    return pristine


def fresh_console(folder: Path, pristine: Path) -> None:
    """A new copy of the seeded console and no state store: every apply starts from the same place."""
    scratch = folder / ".reconciler"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    shutil.copy(pristine, scratch / "sandbox.db")


@dataclass(frozen=True)
class ChildRun:
    """One finished child process: its wall time, its peak resident set and what it printed."""

    wall: float
    peak_kib: int  # ru_maxrss of the child alone (KiB on Linux)
    returncode: int
    output: str  # stdout and stderr, interleaved


def run_child(command: Sequence[str], cwd: Path, env: dict[str, str], log: Path) -> ChildRun:
    """Run `command` to its end; its own rusage comes from wait4, so nothing else is counted."""
    with log.open("w+b") as sink:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        sink.seek(0)
        output = sink.read().decode("utf-8", errors="replace")
    return ChildRun(wall, usage.ru_maxrss, child.returncode, output)


@dataclass(frozen=True)
class Measured:
    """Several runs of one command: the median wall time and the largest peak."""

    runs: tuple[ChildRun, ...]

    @property
    def wall(self) -> float:
        return statistics.median(run.wall for run in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_kib for run in self.runs) * 1024 / 1e6

    @property
    def last(self) -> ChildRun:
        return self.runs[-1]
