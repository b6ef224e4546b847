"""`reconciler validate` starts once per commit under pre-commit: it imports only what it uses.

A valid estate needs no provider, planner, console, state store, HTTP client, CI glue, nor the
slow-path validators (PyYAML and python-jsonschema only explain errors).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.helpers import clean_env

NOT_FOR_VALIDATE = (
    "reconciler.providers",
    "reconciler.planning",
    "reconciler.sandbox",
    "reconciler.store",
    "reconciler.applying",
    "reconciler.ci",
    "httpx",
    "jsonschema",
    "yaml",
    "sqlite3",
)

PROBE = """
import json, sys
from reconciler.cli import run_cli
code = run_cli(["validate", "desired-state"])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_validating_a_valid_estate_loads_nothing_it_does_not_use(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["code"] == 0
    loaded = [
        m
        for m in report["modules"]
        if m in NOT_FOR_VALIDATE or m.startswith(tuple(p + "." for p in NOT_FOR_VALIDATE))
    ]
    assert loaded == []
