"""Golden plans through the real CLI: a console seed and desired files in, JSON, text and Markdown out.

Each folder of tests/golden/plan/ with a `desired/` folder is a case: `console.yaml` seeds the
sandbox, `desired/` becomes the user's `desired-state/`, and `reconciler plan` must print
exactly `expected.md` and save exactly `expected.json`, `reconciler show` must print exactly
`expected.txt`, and the exit code must be `expected.exit`. `pytest --update-golden` rewrites them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO_ROOT, RunCli
from tests.helpers import assert_golden

GOLDEN = REPO_ROOT / "tests" / "golden" / "plan"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "desired").is_dir())
PLAN_SCHEMA = json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))


def seed_case(case: Path, run_cli: RunCli, workdir: Path) -> None:
    shutil.copytree(case / "desired", workdir / "desired-state")
    init = run_cli("sandbox", "init", "--from", str(case / "console.yaml"))
    assert init.returncode == 0, init.stderr


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden_plan(case: Path, run_cli: RunCli, tmp_path: Path, update_golden: bool) -> None:
    seed_case(case, run_cli, tmp_path)
    planned = run_cli("plan", "--format", "markdown", "--out", "plan.json")
    assert planned.returncode in (0, 1), planned.stderr
    shown = run_cli("show", "plan.json")
    assert shown.returncode == 0, shown.stderr

    assert_golden(case / "expected.md", planned.stdout, update_golden)
    assert_golden(case / "expected.json", (tmp_path / "plan.json").read_text(encoding="utf-8"), update_golden)
    assert_golden(case / "expected.txt", shown.stdout, update_golden)
    assert_golden(case / "expected.exit", f"{planned.returncode}\n", update_golden)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden_plans_match_the_plan_schema(case: Path) -> None:
    plan = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(plan)


def test_every_rule_and_every_action_has_a_golden_case() -> None:
    plans = [json.loads((case / "expected.json").read_text(encoding="utf-8")) for case in CASES]
    rules = {b["rule"] for plan in plans for b in plan["blocked"]}
    actions = {c["action"] for plan in plans for c in plan["changes"]}
    every_rule = set(PLAN_SCHEMA["$defs"]["blocked"]["properties"]["rule"]["enum"])
    assert rules == every_rule
    assert actions == {"create-site", "provision", "cancel", "reactivate"}
    assert any(plan["deferred"] for plan in plans) and any(plan["warnings"] for plan in plans)
