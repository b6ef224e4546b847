"""What bench/run.py checks, and the lines that say where and how it ran."""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import peer
import terraform_peer
from report import EXAMPLE, HttpRow, Row, name


@dataclass(frozen=True)
class Target:
    label: str
    wanted: str
    got: Callable[[Row], tuple[str, bool]]
    estate: str


def _seconds(command: str, limit: float, megabytes: float | None = None) -> Callable[[Row], tuple[str, bool]]:
    def check(row: Row) -> tuple[str, bool]:
        measured = getattr(row, command).command
        met = measured.wall <= limit and (megabytes is None or measured.peak_mb <= megabytes)
        return f"{measured.wall:.2f} s, {measured.peak_mb:.0f} MB", met

    return check


def _floor(command: str, limit: float) -> Callable[[Row], tuple[str, bool]]:
    def check(row: Row) -> tuple[str, bool]:
        ratio = getattr(row, command).ratio
        return f"{ratio:.2f}x the floor", ratio <= limit

    return check


def _peak(command: str, megabytes: float) -> Callable[[Row], tuple[str, bool]]:
    def check(row: Row) -> tuple[str, bool]:
        peak = getattr(row, command).command.peak_mb
        return f"{peak:.0f} MB", peak <= megabytes

    return check


TARGETS = (
    Target("example validate", "at most 0.3 s", _seconds("validate", 0.3), EXAMPLE),
    Target("example plan", "at most 0.5 s", _seconds("plan", 0.5), EXAMPLE),
    Target("10,000 validate", "at most 1.6x its floor", _floor("validate", 1.6), "10000"),
    Target("10,000 plan", "at most 1.6x its floor", _floor("plan", 1.6), "10000"),
    Target("100,000 validate", "at most 1.6x its floor", _floor("validate", 1.6), "100000"),
    Target("100,000 plan", "at most 1.6x its floor", _floor("plan", 1.6), "100000"),
    Target("100,000 plan", "peak at most 400 MB", _peak("plan", 400), "100000"),
)
HTTP_TARGETS = {16: 1.15, 64: 1.6}


def verdicts(rows: Sequence[Row], http: Sequence[HttpRow]) -> list[str]:
    by_estate = {row.estate: row for row in rows}
    lines = []
    for target in TARGETS:
        row = by_estate.get(target.estate)
        if row is not None:
            got, met = target.got(row)
            lines.append(_line(target.label, target.wanted, got, met))
    for row in http:
        limit = HTTP_TARGETS.get(row.parallelism)
        if limit is not None:
            label = f"HTTP apply, {row.parallelism}"
            lines.append(
                _line(label, f"at most {limit:g}x the ideal", f"{row.ratio:.2f}x", row.ratio <= limit)
            )
    return lines


def _line(label: str, wanted: str, got: str, met: bool) -> str:
    return f"  {label:<18} {wanted:<24} {got:<18} {'met' if met else 'NOT MET'}"


def header(args: argparse.Namespace, load: float) -> list[str]:
    from reconciler import __version__

    peers = [
        f"octoDNS {peer.version()}" if args.with_peer else "",
        f"Terraform {terraform_peer.version()}" if args.terraform else "",
    ]
    versus = " against " + " and ".join(p for p in peers if p) if any(peers) else " (no peer run)"
    return [
        f"reconciler {__version__}{versus}; {os.cpu_count()} CPUs ({_cpu_model()}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        f"load average when the run started: {load:.2f} (other work on the machine slows every row)",
        "s: median wall seconds of whole processes, start-up included; MB: peak resident set (10^6 bytes)",
        "floor: bench/floor.py on the same estate, run in turn with the command;"
        " the ratio is the median pair's",
        "3% of subscriptions have changes pending; for octoDNS, 3% of records are new",
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


__all__ = ["header", "name", "verdicts"]
