"""The action, the example workflows and the GitLab file: valid for their CI system, and wired right.

Validity is checked against the schemas check-jsonschema ships (no network); the wiring (inputs to
settings, the plan step's outputs to the upload, the workflows' permissions and concurrency) is
read from the files themselves.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.ci.gitlab import PLAN_JOB
from reconciler.ci.settings import DEFAULT_ARTIFACT, DEFAULT_CANCEL_LABEL_PREFIX, DEFAULT_DRIFT_LABEL
from tests.conftest import REPO_ROOT

ACTION = REPO_ROOT / "action.yml"
WORKFLOWS = sorted((REPO_ROOT / "examples" / "github").glob("*.yml"))
GITLAB = REPO_ROOT / "examples" / "gitlab" / ".gitlab-ci.yml"


def check(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_action_is_a_valid_action() -> None:
    done = check("vendor.github-actions", ACTION)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_example_workflow_is_a_valid_workflow(path: Path) -> None:
    done = check("vendor.github-workflows", path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_gitlab_example_is_a_valid_pipeline() -> None:
    done = check("vendor.gitlab-ci", GITLAB)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_gitlab_stages_plan_apply_one_at_a_time_and_check_drift() -> None:
    pipeline = load(GITLAB)
    assert pipeline["stages"] == ["validate", "plan", "apply", "drift"]
    out = pipeline["variables"]["RECONCILER_CI_OUT"]
    plan = pipeline[PLAN_JOB]
    assert plan["script"] == ["python -m reconciler.ci gitlab-plan"]
    assert plan["artifacts"]["paths"] == [f"{out}/"]
    assert plan["artifacts"]["when"] == "always"
    apply = pipeline["reconciler-apply"]
    assert apply["script"] == ["python -m reconciler.ci gitlab-apply"]
    assert apply["resource_group"] == "reconciler-apply"
    assert pipeline["reconciler-drift"]["script"] == ["reconciler plan --detailed-exitcode"]
    assert pipeline["reconciler-drift"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]


def test_the_schema_check_catches_a_broken_action(tmp_path: Path) -> None:
    """The check above is a real one: a composite `run` step without its shell is refused."""
    action = load(ACTION)
    del action["runs"]["steps"][1]["shell"]
    broken = tmp_path / "action.yml"
    broken.write_text(yaml.safe_dump(action), encoding="utf-8")
    assert check("vendor.github-actions", broken).returncode == 1


def test_every_input_is_documented_and_reaches_the_step() -> None:
    action = load(ACTION)
    steps = action["runs"]["steps"]
    used = yaml.safe_dump(steps)
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
        assert f"inputs.{name}" in used, f"input {name} is not used by any step"
    defaults = {name: spec.get("default") for name, spec in action["inputs"].items()}
    assert defaults["artifact"] == DEFAULT_ARTIFACT
    assert defaults["cancel-label-prefix"] == DEFAULT_CANCEL_LABEL_PREFIX
    assert defaults["drift-label"] == DEFAULT_DRIFT_LABEL


def test_the_settings_the_step_reads_are_the_ones_the_action_sets() -> None:
    run_step = load(ACTION)["runs"]["steps"][1]
    given = {name for name in run_step["env"] if name.startswith("RECONCILER_CI_")}
    source = (REPO_ROOT / "reconciler" / "ci" / "settings.py").read_text(encoding="utf-8")
    read = {"RECONCILER_CI_" + name for name in re.findall(r'_(?:env|flag)\("([A-Z_]+)"', source)}
    assert given == read - {"RECONCILER_CI_OUT"}


def test_the_plan_upload_keeps_what_the_plan_step_wrote() -> None:
    steps = load(ACTION)["runs"]["steps"]
    upload = steps[2]
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["with"] == {
        "name": "${{ inputs.artifact }}",
        "path": "${{ steps.run.outputs.artifact-dir }}",
        "if-no-files-found": "error",
        "overwrite": True,
    }
    # A blocked plan fails the step above; the upload still runs, unless the run was cancelled.
    assert upload["if"] == (
        "${{ !cancelled() && inputs.command == 'plan' && steps.run.outputs.plan-made == 'true' }}"
    )
    assert steps[1]["id"] == "run"


def test_the_action_installs_itself_from_its_own_checkout() -> None:
    install = load(ACTION)["runs"]["steps"][0]
    assert install["run"] == '"$ACTION_PATH/action/install.sh"'
    script = REPO_ROOT / "action" / "install.sh"
    assert script.stat().st_mode & 0o111
    assert 'pip" install --quiet --disable-pip-version-check "$ACTION_PATH"' in script.read_text(
        encoding="utf-8"
    )


def uses_of_the_action(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("your-org/reconciler@")
    ]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_workflows_give_the_action_only_inputs_it_has(path: Path) -> None:
    inputs = set(load(ACTION)["inputs"])
    steps = uses_of_the_action(load(path))
    assert steps
    for step in steps:
        assert set(step["with"]) <= inputs
        assert step["with"]["command"] in ("validate", "plan", "apply", "drift")


def test_the_plan_workflow_validates_then_plans_on_pull_requests() -> None:
    workflow = load(REPO_ROOT / "examples" / "github" / "reconciler-plan.yml")
    assert list(workflow[True]) == ["pull_request"]  # YAML 1.1 reads the key `on` as True
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert [s["with"]["command"] for s in uses_of_the_action(workflow)] == ["validate", "plan"]


def test_the_apply_workflow_runs_one_apply_at_a_time_against_the_team_store() -> None:
    workflow = load(REPO_ROOT / "examples" / "github" / "reconciler-apply.yml")
    assert workflow[True]["push"]["branches"] == ["main"]
    assert workflow["concurrency"] == {"group": "reconciler-apply", "cancel-in-progress": False}
    assert workflow["permissions"] == {"contents": "read", "actions": "read", "pull-requests": "read"}
    job = workflow["jobs"]["apply"]
    assert job["env"]["RECONCILER_STATE"] == "${{ secrets.RECONCILER_STATE }}"
    [step] = uses_of_the_action(workflow)
    assert step["with"] == {"command": "apply", "cancel-label-prefix": "allow-cancel:"}


def test_the_drift_workflow_is_scheduled_and_may_open_an_issue() -> None:
    workflow = load(REPO_ROOT / "examples" / "github" / "reconciler-drift.yml")
    assert workflow[True]["schedule"] == [{"cron": "17 6 * * 1-5"}]
    assert workflow["permissions"] == {"contents": "read", "issues": "write"}
    [step] = uses_of_the_action(workflow)
    assert step["with"] == {"command": "drift", "drift-issue": "true"}


def snippets(doc: Path) -> list[tuple[str, str]]:
    """(named file, text) of every fenced block whose first line names a file of this repository."""
    found = []
    for block in re.findall(r"```(?:yaml|yml)\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S):
        first = block.split("\n", 1)[0]
        named = re.match(r"# ((?:examples/|\.pre-commit)\S+?):", first)
        if named:
            found.append((named[1], block))
    return found


@pytest.mark.parametrize("doc", ["README.md", "docs/ci.md"])
def test_the_docs_show_the_tested_files_as_they_are(doc: str) -> None:
    shown = snippets(REPO_ROOT / doc)
    assert shown, f"{doc} shows none of the example files"
    for name, text in shown:
        assert text == (REPO_ROOT / name).read_text(encoding="utf-8"), f"{doc} shows {name} out of date"


def test_no_install_line_installs_the_unrelated_pypi_project() -> None:
    docs = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        assert not re.search(r"pip install (-q )?reconciler\b", text), doc
