"""The peer: octoDNS's `octodns-sync` dry run, YamlProvider to YamlProvider, on N records.

The same kind of work as `reconciler plan`: read the desired state from YAML, read the live
state, diff them and print the plan. The desired zone holds N A records; the live zone lacks a
share of them (the same share as the estate's pending changes), so the plan creates those.
octoDNS is needed only here: install it with the `bench` extra.
"""

from __future__ import annotations

import importlib.metadata
import random
import re
import shutil
import sys
from pathlib import Path

from harness import ChildRun

ZONE = "example.com."
CREATES = re.compile(r"plan:\s+Creates=(\d+), Updates=(\d+), Deletes=(\d+)")
CONFIG = """\
providers:
  desired:
    class: octodns.provider.yaml.YamlProvider
    directory: ./desired
    escaped_semicolons: false
  live:
    class: octodns.provider.yaml.YamlProvider
    directory: ./live
    escaped_semicolons: false
zones:
  {zone}:
    sources: [desired]
    targets: [live]
"""


def version() -> str | None:
    """octoDNS's version, or None when it is not installed."""
    try:
        return importlib.metadata.version("octodns")
    except importlib.metadata.PackageNotFoundError:
        return None


def command() -> list[str]:
    """`octodns-sync --config-file config.yaml` without `--doit`: the dry run."""
    script = Path(sys.executable).parent / "octodns-sync"
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "octodns.cmds.sync"]
    return [*launcher, "--config-file", "config.yaml"]


def _record(index: int) -> str:
    # octoDNS's loader wants the keys of each record in order: ttl, type, value.
    address = f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
    return f"host-{index:06d}:\n  ttl: 300\n  type: A\n  value: {address}\n"


def zones(folder: Path, records: int, pending: float, seed: int = 1) -> tuple[Path, int]:
    """folder/{config.yaml,desired/,live/} for `records` records; returns folder and the creates due."""
    missing = set(random.Random(seed).sample(range(records), round(records * pending)))
    stamp = folder / "zones.stamp"
    wanted = f"{records} {pending} {seed}"
    if stamp.is_file() and stamp.read_text() == wanted:
        return folder, len(missing)
    shutil.rmtree(folder, ignore_errors=True)
    for side in ("desired", "live"):
        (folder / side).mkdir(parents=True)
    # Names in sorted order, as octoDNS's loader demands (zero-padded: natural order = text order).
    desired = "".join(_record(i) for i in range(records))
    live = "".join(_record(i) for i in range(records) if i not in missing)
    (folder / "desired" / f"{ZONE}yaml").write_text("---\n" + desired, encoding="utf-8")
    (folder / "live" / f"{ZONE}yaml").write_text("---\n" + live, encoding="utf-8")
    (folder / "config.yaml").write_text(CONFIG.format(zone=ZONE), encoding="utf-8")
    stamp.write_text(wanted)
    return folder, len(missing)


def creates(run: ChildRun) -> int | None:
    """How many records the dry run planned to create (None when it printed no plan line)."""
    found = CREATES.search(run.output)
    return int(found.group(1)) if found else None
