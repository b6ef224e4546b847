"""The tables bench/run.py prints: one screen, every figure beside what it is compared with."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from harness import Measured

EXAMPLE = "example"


@dataclass(frozen=True)
class Paired:
    """A command and its yardstick, run in turn (A B A B ...): the ratio is the median pair's."""

    command: Measured
    floor: Measured

    @property
    def ratio(self) -> float:
        pairs = zip(self.command.runs, self.floor.runs, strict=True)
        return statistics.median(a.wall / b.wall for a, b in pairs)


@dataclass(frozen=True)
class Row:
    """One estate's measurements (None: not measured for this estate)."""

    estate: str
    runs: int
    validate: Paired
    plan: Paired
    apply: Measured | None = None
    changes: int | None = None
    peer: Measured | None = None
    creates: int | None = None


@dataclass(frozen=True)
class TerraformRow:
    size: int
    ours: Paired  # reconciler plan (2% pending) against terraform plan (2% changed)
    changes: int
    updates: int


@dataclass(frozen=True)
class HttpRow:
    parallelism: int
    walls: tuple[float, ...]
    ideal: float
    apply_cpu: float
    server_cpu: float

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def ratio(self) -> float:
        return self.wall / self.ideal


def name(estate: str) -> str:
    return estate if estate == EXAMPLE else f"{int(estate):,}"


def _cells(measured: Measured | None) -> str:
    if measured is None:
        return f"{'-':>6} {'':>5}"
    return f"{measured.wall:6.2f} {measured.peak_mb:5.0f}"


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def table(rows: Sequence[Row]) -> list[str]:
    lines = [
        f"{'':<17} {'validate':^19} {'plan':^19} {'apply':^20} {'octoDNS dry run':^20}  plan /",
        f"{'estate (runs)':<17} {'s':>6} {'MB':>5} {'floor':>6} {'s':>6} {'MB':>5} {'floor':>6}"
        f" {'s':>6} {'MB':>5} {'changes':>7} {'s':>6} {'MB':>5} {'creates':>7}  octoDNS",
    ]
    for row in rows:
        peer = f"{row.plan.command.wall / row.peer.wall:6.2f}x" if row.peer is not None else f"{'-':>7}"
        lines.append(
            f"{name(row.estate) + f' ({row.runs})':<17}"
            f" {_cells(row.validate.command)} {row.validate.ratio:5.2f}x"
            f" {_cells(row.plan.command)} {row.plan.ratio:5.2f}x"
            f" {_cells(row.apply)} {_count(row.changes):>7}"
            f" {_cells(row.peer)} {_count(row.creates):>7}  {peer}"
        )
    return lines


def floors(rows: Sequence[Row]) -> list[str]:
    lines = ["floors (bench/floor.py, run in turn with each command; s: median wall, MB: peak):"]
    for row in rows:
        lines.append(
            f"  {name(row.estate):<8} validate floor {_cells(row.validate.floor)}"
            f"   plan floor {_cells(row.plan.floor)}"
        )
    return lines


def terraform_table(rows: Sequence[TerraformRow]) -> list[str]:
    lines = [
        f"{'':<17} {'reconciler plan':^20} {'terraform plan':^20}  plan /",
        f"{'size (runs)':<17} {'s':>6} {'MB':>5} {'changes':>7} {'s':>6} {'MB':>5} {'updates':>7}  terraform",
    ]
    for row in rows:
        ours, theirs = row.ours.command, row.ours.floor
        lines.append(
            f"{f'{row.size:,} ({len(ours.runs)})':<17} {_cells(ours)} {row.changes:>7,}"
            f" {_cells(theirs)} {row.updates:>7,}  {row.ours.ratio:8.3f}x"
        )
    return lines


def http_table(rows: Sequence[HttpRow], provisions: int, latency: float) -> list[str]:
    lines = [
        f"HTTP apply of {provisions:,} provisions at {latency:g} ms (bench/http_apply.py):"
        " median wall, its ideal",
        f"{'parallelism (runs)':<20} {'s':>6} {'ideal':>6} {'ratio':>6} {'CPU apply':>10} {'CPU server':>11}",
    ]
    for row in rows:
        lines.append(
            f"{f'{row.parallelism} ({len(row.walls)})':<20} {row.wall:6.2f} {row.ideal:6.3f}"
            f" {row.ratio:5.2f}x {row.apply_cpu:9.2f}s {row.server_cpu:10.2f}s"
        )
    return lines
