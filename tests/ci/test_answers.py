"""GitHub's answers are a network peer's: one the API does not document is one clear error, never a crash."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.ci.conftest import BOT, Job
from tests.ci.test_apply_step import HEAD, MERGE, merge, reconciler

MARKER = "<!-- reconciler-plan -->"
HINT = (
    "nothing was done with this answer: check that gh reaches GitHub's REST API (GH_HOST, GH_TOKEN), "
    "then re-run the job"
)
PULLS = f"GET repos/acme/estate/commits/{MERGE}/pulls"
RUNS = (
    "GET repos/acme/estate/actions/runs?event=pull_request&status=success"
    f"&head_sha={HEAD}&per_page=100&page=1"
)
ARTIFACTS = "GET repos/acme/estate/actions/runs/7/artifacts?name=reconciler-plan"
COMMENTS = "GET repos/acme/estate/issues/12/comments?per_page=100&page=1"
ISSUES = "GET repos/acme/estate/issues?state=open&labels=reconciler-drift&per_page=100&page=1"
PULL: dict[str, Any] = {
    "number": 12,
    "merged_at": "2026-11-21T12:00:00Z",
    "merge_commit_sha": MERGE,
    "head": {"sha": HEAD},
    "labels": [],
}


def pull_with(**changes: Any) -> dict[str, Any]:
    return {**PULL, **changes}


def pull_without(key: str) -> dict[str, Any]:
    return {name: value for name, value in PULL.items() if name != key}


def answering(job: Job, call: str, answer: Any) -> None:
    """The stand-in answers `call` (`GET commits/SHA/pulls`) with this JSON instead of its own."""
    job.update_state(answers={call: json.dumps(answer)})


def assert_refused(done: subprocess.CompletedProcess[str], job: Job, message: str) -> None:
    assert done.returncode == 1
    assert done.stderr.endswith(f"error: {message}\nhint: {HINT}\n"), done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.endswith(f"::error title=reconciler::{message}%0A{HINT}\n")
    assert not list(job.workspace.glob(".reconciler/logs/*")), "no crash log"


def merged_with_a_run(job: Job) -> None:
    merge(job)
    state = job.state
    state["runs"] = [{"id": 7, "head_sha": HEAD, "event": "pull_request", "status": "success"}]
    state["artifacts"] = {"7": {"reconciler-plan": True}}
    job.update_state(**state)


MERGED = "abc123" * 6 + "abcd"


def test_the_answer_that_crashed_the_step_is_refused_and_nothing_is_applied(job: Job) -> None:
    # One answer to every call, as a broken proxy in front of GitHub might give.
    reviewer = [{"number": 7, "merged_at": "x", "merge_commit_sha": MERGED, "head": {"sha": 5}}]
    job.event("push", {"ref": "refs/heads/main"}, sha=MERGED)
    job.update_state(answers={f"GET commits/{MERGED}/pulls": json.dumps(reviewer)})
    done = job.step("apply")
    call = f"GET repos/acme/estate/commits/{MERGED}/pulls"
    assert_refused(
        done, job, f"GitHub's answer to {call} is malformed: [0].head.sha is an integer, not a string"
    )
    assert done.stderr == (
        f"error: GitHub's answer to {call} is malformed: [0].head.sha is an integer, not a string\n"
        f"hint: {HINT}\n"
    )
    assert reconciler(job, "plan", "--detailed-exitcode").returncode == 2


def test_a_list_where_the_runs_object_goes_is_refused(job: Job) -> None:
    merged_with_a_run(job)
    answering(job, "GET actions/runs", [PULL])
    done = job.step("apply")
    assert_refused(done, job, f"GitHub's answer to {RUNS} is malformed: the answer is a list, not an object")
    assert done.stderr.startswith("Commit dddddddddddd merged pull request #12 (head aaaaaaaaaaaa)\n")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"message": "Not Found"}, "the answer is an object, not a list"),
        (None, "the answer is null, not a list"),
        (["#12"], "[0] is a string, not an object"),
        ([pull_without("merged_at")], "[0].merged_at is missing"),
        ([pull_with(merged_at=1)], "[0].merged_at is an integer, not a string or null"),
        ([pull_with(merge_commit_sha=["d"])], "[0].merge_commit_sha is a list, not a string or null"),
        ([pull_with(number="12")], "[0].number is a string, not an integer"),
        ([pull_with(number=True)], "[0].number is true or false, not an integer"),
        ([pull_with(number=-12)], "[0].number is not a positive integer"),
        ([pull_with(head=None)], "[0].head is null, not an object"),
        ([pull_with(head={})], "[0].head.sha is missing"),
        ([pull_with(head={"sha": 5})], "[0].head.sha is an integer, not a string"),
        (
            [pull_with(head={"sha": HEAD + "&status=failure"})],
            "[0].head.sha is not a commit id (40 or 64 hexadecimal digits)",
        ),
        ([pull_without("labels")], "[0].labels is missing"),
        ([pull_with(labels=[{"name": None}])], "[0].labels[0].name is null, not a string"),
        # A malformed pull request beside the merged one is refused too: the answer is not GitHub's.
        (
            [PULL, pull_with(merged_at=None, merge_commit_sha=7)],
            "[1].merge_commit_sha is an integer, not a string or null",
        ),
    ],
)
def test_a_malformed_answer_about_the_merged_pull_request_is_refused(
    job: Job, answer: Any, problem: str
) -> None:
    merged_with_a_run(job)
    answering(job, f"GET commits/{MERGE}/pulls", answer)
    assert_refused(job.step("apply"), job, f"GitHub's answer to {PULLS} is malformed: {problem}")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"total_count": 1}, "workflow_runs is missing"),
        ({"workflow_runs": {"id": 7}}, "workflow_runs is an object, not a list"),
        ({"workflow_runs": [7]}, "workflow_runs[0] is an integer, not an object"),
        ({"workflow_runs": [{"head_sha": HEAD}]}, "workflow_runs[0].id is missing"),
        ({"workflow_runs": [{"id": "7"}]}, "workflow_runs[0].id is a string, not an integer"),
        ({"workflow_runs": [{"id": 7.5}]}, "workflow_runs[0].id is a number, not an integer"),
    ],
)
def test_a_malformed_list_of_plan_runs_is_refused(job: Job, answer: Any, problem: str) -> None:
    merged_with_a_run(job)
    answering(job, "GET actions/runs", answer)
    assert_refused(job.step("apply"), job, f"GitHub's answer to {RUNS} is malformed: {problem}")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"total_count": 0}, "artifacts is missing"),
        ({"artifacts": [{"name": "reconciler-plan"}]}, "artifacts[0].expired is missing"),
        ({"artifacts": [{"name": 5, "expired": False}]}, "artifacts[0].name is an integer, not a string"),
        (
            {"artifacts": [{"name": "reconciler-plan", "expired": "false"}]},
            "artifacts[0].expired is a string, not true or false",
        ),
    ],
)
def test_a_malformed_list_of_artifacts_is_refused(job: Job, answer: Any, problem: str) -> None:
    merged_with_a_run(job)
    answering(job, "GET actions/runs/7/artifacts", answer)
    assert_refused(job.step("apply"), job, f"GitHub's answer to {ARTIFACTS} is malformed: {problem}")
    assert not any(call[:2] == ["run", "download"] for call in job.calls())


def test_an_answer_that_is_not_json_is_refused(job: Job) -> None:
    merged_with_a_run(job)
    job.update_state(answers={f"GET commits/{MERGE}/pulls": "<!DOCTYPE html><title>Unicorn!</title>"})
    assert_refused(job.step("apply"), job, f"GitHub's answer to {PULLS} is not JSON")


COMMENT: dict[str, Any] = {
    "id": 1,
    "body": f"{MARKER}\nan older plan",
    "user": {"login": BOT},
    "html_url": "https://github.com/acme/estate/pull/12#issuecomment-1",
}


@pytest.mark.parametrize(
    ("call", "answer", "problem"),
    [
        (
            "GET issues/12/comments",
            {"comments": []},
            f"{COMMENTS} is malformed: the answer is an object, not a list",
        ),
        (
            "GET issues/12/comments",
            [{**COMMENT, "body": 7}],
            f"{COMMENTS} is malformed: [0].body is an integer, not a string or null",
        ),
        (
            "GET issues/12/comments",
            [{**COMMENT, "user": {"name": BOT}}],
            f"{COMMENTS} is malformed: [0].user.login is missing",
        ),
        (
            "GET issues/12/comments",
            [{**COMMENT, "id": "1"}],
            f"{COMMENTS} is malformed: [0].id is a string, not an integer",
        ),
        (
            "POST issues/12/comments",
            {"id": 1001},
            "POST repos/acme/estate/issues/12/comments is malformed: html_url is missing",
        ),
    ],
)
def test_a_malformed_answer_about_the_plan_comment_is_refused(
    job: Job, call: str, answer: Any, problem: str
) -> None:
    job.pull_request_event(12, HEAD)
    answering(job, call, answer)
    assert_refused(job.step("plan"), job, f"GitHub's answer to {problem}")


def test_a_comment_of_a_deleted_account_without_a_body_is_documented_and_passed_over(job: Job) -> None:
    job.pull_request_event(12, HEAD)
    ghost = [{"id": 5, "user": None, "html_url": "https://github.com/acme/estate/pull/12#issuecomment-5"}]
    answering(job, "GET issues/12/comments", ghost)
    done = job.step("plan")
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith(
        "Created the plan comment https://github.com/acme/estate/pull/12#issuecomment-1001\n"
    )


DRIFT_ISSUE: dict[str, Any] = {
    "number": 5,
    "body": f"{MARKER}\nthe last drift",
    "html_url": "https://github.com/acme/estate/issues/5",
}


@pytest.mark.parametrize(
    ("call", "answer", "problem"),
    [
        (
            "GET issues",
            [{**DRIFT_ISSUE, "number": "5"}],
            f"{ISSUES} is malformed: [0].number is a string, not an integer",
        ),
        (
            "GET issues",
            [{**DRIFT_ISSUE, "body": ["x"]}],
            f"{ISSUES} is malformed: [0].body is a list, not a string or null",
        ),
        (
            "GET issues",
            [{**DRIFT_ISSUE, "html_url": None}],
            f"{ISSUES} is malformed: [0].html_url is null, not a string",
        ),
        ("POST issues", {"number": 5}, "POST repos/acme/estate/issues is malformed: html_url is missing"),
    ],
)
def test_a_malformed_answer_about_the_drift_issue_is_refused(
    job: Job, call: str, answer: Any, problem: str
) -> None:
    job.event("schedule", {"schedule": "17 6 * * *"}, sha="e" * 40, run_id=21)
    answering(job, call, answer)
    assert_refused(job.step("drift", RECONCILER_CI_DRIFT_ISSUE="true"), job, f"GitHub's answer to {problem}")
