"""The estate generator (bench/generate.py): a valid desired state, a seed the sandbox accepts,
and a plan with pending changes and nothing blocked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, RunCli

GENERATE = REPO_ROOT / "bench" / "generate.py"


def generate(out: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(GENERATE), "--out", str(out), *args], capture_output=True, text=True, check=True
    )
    return result.stdout


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))}


def test_a_generated_estate_validates_and_plans_without_blocks(run_cli: RunCli, tmp_path: Path) -> None:
    summary = generate(tmp_path, "--subscriptions", "120", "--files", "3", "--pending", "0.2", "--seed", "7")
    assert summary.startswith(f"{tmp_path}: 120 subscriptions, ")
    assert len(list((tmp_path / "desired-state").glob("*.yaml"))) == 3
    validate = run_cli("validate", cwd=tmp_path)
    assert validate.returncode == 0, validate.stdout
    assert validate.stdout.endswith(", 120 subscriptions, valid\n")
    init = run_cli("sandbox", "init", "--from", "console.yaml", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    plan = run_cli("plan", "--format", "json", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    document = json.loads(plan.stdout)
    assert document["blocked"] == []
    actions = {change["action"] for change in document["changes"]}
    assert actions == {"provision", "create-site"}


def test_the_same_seed_gives_the_same_estate(tmp_path: Path) -> None:
    generate(tmp_path / "one", "--subscriptions", "60", "--seed", "3")
    generate(tmp_path / "two", "--subscriptions", "60", "--seed", "3")
    generate(tmp_path / "three", "--subscriptions", "60", "--seed", "4")
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")
    assert snapshot(tmp_path / "one") != snapshot(tmp_path / "three")
