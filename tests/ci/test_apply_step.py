"""The merge step: exactly the plan reviewed on the merged pull request is applied, or nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ci.conftest import Job
from tests.helpers import clean_env, postgres_schema

HEAD = "a" * 40
OTHER_HEAD = "c" * 40
MERGE = "d" * 40


def reconciler(job: Job, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=job.workspace,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def plan_on_pull_request(job: Job, head: str = HEAD, run_id: int = 7) -> None:
    """The plan job ran for #12 at `head`; its artifact is kept as GitHub keeps artifacts."""
    job.pull_request_event(12, head, run_id=run_id)
    assert job.step("plan").returncode == 0
    kept = job.state_dir / "artifacts" / str(run_id) / "reconciler-plan"
    shutil.copytree(Path(job.outputs()["artifact-dir"]), kept)
    state = job.state
    state["runs"].append({"id": run_id, "head_sha": head, "event": "pull_request", "status": "success"})
    state["artifacts"][str(run_id)] = {"reconciler-plan": True}
    job.update_state(**state)


def merge(job: Job, head: str = HEAD, labels: tuple[str, ...] = ()) -> None:
    """#12 merged as MERGE; the push to main runs the apply job."""
    pull = {
        "number": 12,
        "merged_at": "2026-11-21T12:00:00Z",
        "merge_commit_sha": MERGE,
        "head": {"sha": head},
        "labels": [{"name": name} for name in labels],
    }
    job.update_state(commit_pulls={MERGE: [pull]})
    job.event("push", {"ref": "refs/heads/main", "after": MERGE}, sha=MERGE, run_id=9)


def test_the_reviewed_plan_is_applied_on_merge(job: Job) -> None:
    plan_on_pull_request(job)
    merge(job)
    done = job.step("apply")
    assert done.returncode == 0, done.stderr
    assert "Commit dddddddddddd merged pull request #12 (head aaaaaaaaaaaa)\n" in done.stderr
    assert "Applied 4 changes" in done.stdout
    assert reconciler(job, "plan", "--detailed-exitcode").returncode == 0
    assert job.summary().startswith("### reconciler apply of #12 (plan at `aaaaaaaaaaaa`)\n\n```\n")
    download = ["run", "download", "7", "--repo", "acme/estate", "--name", "reconciler-plan"]
    assert job.calls()[-1][:7] == download


def test_a_re_run_of_the_merge_job_finishes_without_writing_twice(job: Job) -> None:
    plan_on_pull_request(job)
    merge(job)
    assert job.step("apply").returncode == 0
    again = job.step("apply")
    assert again.returncode == 0, again.stderr
    assert "Applied" not in again.stdout


def test_a_plan_made_at_another_commit_is_refused(job: Job) -> None:
    # The only plan run is for an earlier commit; #12 merged with a newer head nobody planned.
    plan_on_pull_request(job, head=HEAD)
    merge(job, head=OTHER_HEAD)
    done = job.step("apply")
    assert done.returncode == 1
    assert done.stderr.endswith(
        "error: pull request #12 has no successful plan run with a reconciler-plan artifact at its head "
        "commit cccccccccccc; nothing was applied\n"
        "hint: re-run the plan job of #12, have its plan reviewed, then re-run this job\n"
    )
    assert reconciler(job, "plan", "--detailed-exitcode").returncode == 2


def test_an_artifact_that_names_another_commit_is_refused(job: Job) -> None:
    plan_on_pull_request(job, head=HEAD)
    # A run at the merged head whose artifact holds the plan made for the earlier commit.
    state = job.state
    state["runs"].append({"id": 8, "head_sha": OTHER_HEAD, "event": "pull_request", "status": "success"})
    state["artifacts"]["8"] = {"reconciler-plan": True}
    job.update_state(**state)
    shutil.copytree(job.state_dir / "artifacts" / "7", job.state_dir / "artifacts" / "8")
    merge(job, head=OTHER_HEAD)
    done = job.step("apply")
    assert done.returncode == 1
    assert done.stderr.endswith(
        f"error: the plan artifact was made for head_sha '{HEAD}', not '{OTHER_HEAD}'; nothing was applied\n"
        "hint: only the plan reviewed on #12 at cccccccccccc is applied: re-run its plan job\n"
    )
    assert reconciler(job, "plan", "--detailed-exitcode").returncode == 2


def test_a_push_that_merged_no_pull_request_is_refused(job: Job) -> None:
    plan_on_pull_request(job)
    job.event("push", {"ref": "refs/heads/main"}, sha=MERGE, run_id=9)
    done = job.step("apply")
    assert done.returncode == 1
    assert done.stderr.endswith(
        "error: commit dddddddddddd is not the merge of one pull request, so there is no reviewed plan "
        "for it; nothing was applied\n"
        "hint: change desired state through a pull request; its plan is applied when it merges\n"
    )


def test_a_commit_from_the_environment_that_is_no_commit_id_never_reaches_github(job: Job) -> None:
    job.event("push", {"ref": "refs/heads/main"}, sha="dd\x1b[2Jdddd", run_id=9)
    done = job.step("apply")
    assert (done.returncode, done.stderr) == (
        1,
        "error: GITHUB_SHA is not a commit id (40 or 64 lowercase hexadecimal digits)\n"
        "hint: run this step in a GitHub Actions job, which sets GITHUB_SHA to the commit the run is for\n",
    )
    assert job.calls() == []


def cancel_sub_1001(job: Job) -> None:
    acme = job.workspace / "desired-state" / "acme-corp.yaml"
    text = acme.read_text(encoding="utf-8")
    text = text.replace(
        "    product: strategy-collection\n", "    product: strategy-collection\n    status: cancelled\n"
    )
    acme.write_text(text, encoding="utf-8")


def test_a_cancel_without_its_label_is_refused(job: Job) -> None:
    cancel_sub_1001(job)
    plan_on_pull_request(job)
    merge(job)
    done = job.step("apply")
    assert done.returncode == 1
    assert "Cancels allowed for" not in done.stderr
    assert "cancel:SUB-1001" in done.stderr
    assert reconciler(job, "plan", "--detailed-exitcode").returncode == 2


def test_a_cancel_labelled_on_the_pull_request_is_applied(job: Job) -> None:
    cancel_sub_1001(job)
    plan_on_pull_request(job)
    merge(job, labels=("allow-cancel:SUB-1001", "documentation"))
    done = job.step("apply")
    assert done.returncode == 0, done.stderr
    assert "Cancels allowed for: SUB-1001\n" in done.stderr
    assert reconciler(job, "plan", "--detailed-exitcode").returncode == 0


def test_an_empty_cancel_label_prefix_lets_no_label_allow_a_cancel(job: Job) -> None:
    cancel_sub_1001(job)
    plan_on_pull_request(job)
    merge(job, labels=("allow-cancel:SUB-1001", "SUB-1001", "needs review"))
    done = job.step("apply", RECONCILER_CI_CANCEL_LABEL_PREFIX="")
    assert done.returncode == 1
    assert "Cancels allowed for" not in done.stderr
    assert "cancel:SUB-1001" in done.stderr
    assert reconciler(job, "plan", "--detailed-exitcode").returncode == 2


def test_a_label_that_names_no_subscription_is_refused(job: Job) -> None:
    plan_on_pull_request(job)
    merge(job, labels=("allow-cancel:SUB 1002; rm -rf",))
    done = job.step("apply")
    assert done.returncode == 1
    assert done.stderr.endswith(
        "error: the label 'allow-cancel:SUB 1002; rm -rf' on #12: "
        "'SUB 1002; rm -rf' is not a subscription id\n"
        "hint: list subscription ids such as SUB-1001, separated by commas\n"
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def team_state(request: pytest.FixtureRequest, job: Job) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{job.root / 'team' / 'state.db'}"
        return
    with postgres_schema() as url:
        yield url


def test_two_merge_jobs_at_once_apply_once(job: Job, team_state: str) -> None:
    """Two runners apply the same merge at the same time: the lock lets one apply, the other finds it done."""
    plan_on_pull_request(job)
    merge(job)
    runners = [
        job.start("apply", RECONCILER_CI_STATE=team_state, RUNNER_TEMP=str(job.root / f"runner-{n}"))
        for n in (1, 2)
    ]
    try:
        results = [runner.communicate(timeout=240) for runner in runners]
    finally:
        for runner in runners:
            runner.kill()
    assert [runner.returncode for runner in runners] == [0, 0], results
    history = reconciler(job, "history", "--format", "json", "--state", team_state)
    runs = json.loads(history.stdout)["runs"]
    assert sorted(run["changes"]["succeeded"] for run in runs) == [0, 4]
    assert sorted(str(run["message"]) for run in runs) == ["None", "no changes"]
    assert {run["commit"] for run in runs} == {MERGE}
    assert reconciler(job, "plan", "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize(("recorded", "number"), [(True, 1), (12.0, 12), ("12", 12)])
def test_an_artifact_is_tied_to_its_pull_request_by_an_integer_only(
    tmp_path: Path, recorded: object, number: int
) -> None:
    # `true == 1` and `12.0 == 12` to Python: a forged artifact must not pass for #1 or #12 so.
    from reconciler.ci.apply_step import check_source
    from reconciler.errors import ReconcilerError

    plan_file, source_file = tmp_path / "plan.json", tmp_path / "plan-source.json"
    plan_file.write_text(json.dumps({"checksum": "sha256:1"}), encoding="utf-8")
    source = {"repository": "acme/estate", "pull_request": recorded, "head_sha": HEAD, "checksum": "sha256:1"}
    source_file.write_text(json.dumps(source), encoding="utf-8")
    with pytest.raises(ReconcilerError) as refused:
        check_source(source_file, plan_file, "acme/estate", number, HEAD)
    assert refused.value.message == (
        f"the plan artifact was made for pull_request {recorded!r}, not {number!r}; nothing was applied"
    )
    source["pull_request"] = number
    source_file.write_text(json.dumps(source), encoding="utf-8")
    check_source(source_file, plan_file, "acme/estate", number, HEAD)


def test_an_apply_without_github_sha_is_one_error_and_nothing_is_called(job: Job) -> None:
    job.event("push", {"ref": "refs/heads/main"}, sha="", run_id=9)
    done = job.step("apply")
    assert (done.returncode, done.stderr) == (
        1,
        "error: GITHUB_SHA is not set, so there is no merged commit to apply\n"
        "hint: run this step in a GitHub Actions job, which sets GITHUB_SHA to the commit the run is for\n",
    )
    assert job.calls() == []
