"""Writes a saved plan into a case's working directory, edited the way an attacker would.

The plan is one the example estate makes against the example console (base-plan.json); the
desired-state/ of the repository comes along, so a plan that is not refused could be applied.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def write(edit: Callable[[dict[str, Any]], Any] | None = None, *, text: str | None = None) -> Path:
    workdir = Path(sys.argv[1])
    shutil.copytree(REPO / "desired-state", workdir / "desired-state")
    plan = json.loads((HERE / "base-plan.json").read_text(encoding="utf-8"))
    if edit is not None:
        edit(plan)
    target = workdir / "plan.json"
    target.write_text(text if text is not None else json.dumps(plan, indent=2), encoding="utf-8")
    return workdir
