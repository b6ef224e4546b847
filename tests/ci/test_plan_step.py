"""The pull-request step against the real reconciler and sandbox, GitHub played by a stand-in `gh`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci.conftest import BOT, REPOSITORY, Job
from tests.helpers import clean_env

MARKER = "<!-- reconciler-plan -->"
HEAD_A = "a" * 40
HEAD_B = "b" * 40
COMMENT_URL = "https://github.com/acme/estate/pull/12#issuecomment-1001"
RUN_URL = "https://github.com/acme/estate/actions/runs/7"


def markdown_plan(job: Job) -> str:
    """What `reconciler plan --format markdown` prints for the job's workspace right now, in the
    job's GitHub environment (locations link to the commit being planned)."""
    github = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": REPOSITORY, **job.settings}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "desired-state", "--format", "markdown"],
        cwd=job.workspace,
        env=clean_env(**github),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def expected_body(job: Job, head: str) -> str:
    plan = markdown_plan(job)
    body = plan if plan.startswith(MARKER + "\n") else f"{MARKER}\n{plan}"
    return (
        body
        + f"\n---\n<sub>Planned at `{head[:12]}` in [this run]({RUN_URL}); updated on every push.</sub>\n"
    )


def bot_comments(job: Job) -> list[dict[str, object]]:
    return [c for c in job.state["comments"] if c["user"]["login"] == BOT]


def methods(job: Job) -> list[tuple[str, str]]:
    """(method, path) of every `gh api` call, in order."""
    seen = []
    for args in job.calls():
        if args[0] == "api":
            method = args[args.index("--method") + 1] if "--method" in args else "GET"
            seen.append((method, next(a for a in args if a.startswith("repos/"))))
    return seen


def test_the_comment_is_created_once_then_updated_on_the_next_push(job: Job) -> None:
    # A reviewer's reply quoting the plan starts with the marker too; it must stay untouched.
    job.update_state(
        comments=[{"id": 5, "issue": 12, "body": f"{MARKER}\nlooks good", "user": {"login": "dana"}}]
    )
    job.pull_request_event(12, HEAD_A)
    first = job.step("plan")
    assert first.returncode == 0, first.stderr
    assert f"Created the plan comment {COMMENT_URL}\n" in first.stderr
    [comment] = bot_comments(job)
    assert comment["body"] == expected_body(job, HEAD_A)
    assert job.summary() == expected_body(job, HEAD_A)

    # The next push drops an app: the same comment now shows the new plan.
    acme = job.workspace / "desired-state" / "acme-corp.yaml"
    acme.write_text(
        acme.read_text(encoding="utf-8").replace("      talent: {site: acme}\n", ""), encoding="utf-8"
    )
    job.pull_request_event(12, HEAD_B, run_id=8)
    second = job.step("plan")
    assert second.returncode == 0, second.stderr
    assert f"Updated the plan comment {COMMENT_URL}\n" in second.stderr
    [updated] = bot_comments(job)
    assert updated["id"] == comment["id"]
    assert updated["body"] == expected_body(job, HEAD_B).replace("runs/7", "runs/8")
    assert "## reconciler plan: 3 changes\n" in str(updated["body"])
    assert "provision `talent` of `SUB-1001`" not in str(updated["body"])
    assert job.state["comments"][0] == {
        "id": 5,
        "issue": 12,
        "body": f"{MARKER}\nlooks good",
        "user": {"login": "dana"},
    }
    posts = [call for call in methods(job) if call[0] != "GET"]
    assert posts == [
        ("POST", "repos/acme/estate/issues/12/comments"),
        ("PATCH", f"repos/acme/estate/issues/comments/{comment['id']}"),
    ]


def block_focus(job: Job) -> None:
    """Put focus on a Jira Standard site: the premium-site rule blocks it."""
    sites = job.workspace / "desired-state" / "sites.yaml"
    sites.write_text(
        sites.read_text(encoding="utf-8") + "  - name: acme-std\n    org: acme-corp\n", encoding="utf-8"
    )
    acme = job.workspace / "desired-state" / "acme-corp.yaml"
    text = acme.read_text(encoding="utf-8").replace("focus: {site: acme}", "focus: {site: acme-std}")
    acme.write_text(text, encoding="utf-8")


def test_a_blocked_plan_posts_its_comment_then_fails(job: Job) -> None:
    block_focus(job)
    job.pull_request_event(12, HEAD_A)
    done = job.step("plan")
    assert done.returncode == 1
    [comment] = bot_comments(job)
    assert comment["body"] == expected_body(job, HEAD_A)
    assert "premium-site" in str(comment["body"])
    assert "1 blocked: the plan cannot be applied until it is fixed.\n" in done.stderr
    assert job.outputs()["exit-code"] == "1"
    assert job.outputs()["plan-made"] == "true"


def test_a_plan_that_cannot_be_made_replaces_the_old_plan_with_a_note(job: Job) -> None:
    job.pull_request_event(12, HEAD_A)
    assert job.step("plan").returncode == 0
    (job.workspace / "desired-state" / "broken.yaml").write_text("version: 1\nsites: [\n", encoding="utf-8")
    job.pull_request_event(12, HEAD_B, run_id=8)
    done = job.step("plan")
    assert done.returncode == 1
    [comment] = bot_comments(job)
    assert comment["body"] == (
        f"{MARKER}\n## ⚠️ reconciler: no plan for `{HEAD_B[:12]}`\n\n"
        "The plan could not be made; [the job log](https://github.com/acme/estate/actions/runs/8) says why. "
        "This comment shows the plan again once a push plans successfully.\n"
        f"\n---\n<sub>Planned at `{HEAD_B[:12]}` in "
        "[this run](https://github.com/acme/estate/actions/runs/8); updated on every push.</sub>\n"
    )
    assert job.outputs() == {"exit-code": "1", "plan-made": "false", "comment-url": COMMENT_URL}


def test_the_artifact_holds_the_plan_and_the_commit_it_was_made_for(job: Job) -> None:
    job.pull_request_event(12, HEAD_A)
    assert job.step("plan").returncode == 0
    outputs = job.outputs()
    folder = Path(outputs["artifact-dir"])
    assert folder == job.root / "runner-temp" / "reconciler-plan"
    assert sorted(p.name for p in folder.iterdir()) == ["plan-source.json", "plan.json"]
    plan = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    assert plan["summary"]["changes"] == 4
    assert json.loads((folder / "plan-source.json").read_text(encoding="utf-8")) == {
        "repository": "acme/estate",
        "pull_request": 12,
        "head_sha": HEAD_A,
        "checksum": plan["checksum"],
        "run": RUN_URL,
    }
    assert outputs["checksum"] == plan["checksum"]


def test_without_a_token_the_step_says_what_to_set(job: Job) -> None:
    job.pull_request_event(12, HEAD_A)
    done = job.step("plan", GH_TOKEN="")
    assert done.returncode == 1
    assert done.stderr.endswith(
        "error: `gh api repos/acme/estate/issues/12/comments?per_page=100&page=1` failed: "
        "To get started with GitHub CLI, please run:  gh auth login\n"
        "hint: check the job's permissions (contents: read, pull-requests: write, actions: read) "
        "and that GH_TOKEN is set\n"
    )
    assert done.stdout.startswith("::error title=reconciler::`gh api")


def test_the_provider_and_state_inputs_reach_reconciler(job: Job) -> None:
    job.pull_request_event(12, HEAD_A)
    done = job.step(
        "plan", RECONCILER_CI_PROVIDER="sandbox:consoles/rehearsal.db", RECONCILER_CI_STATE="sqlite:s.db"
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads((Path(job.outputs()["artifact-dir"]) / "plan.json").read_text(encoding="utf-8"))
    assert plan["provider"] == "sandbox:consoles/rehearsal.db"
    assert (job.workspace / "consoles" / "rehearsal.db").is_file()
    assert "rehearsal" not in done.stderr.split("\n", 1)[0]


@pytest.mark.parametrize("step", ["plan", "drift"])
@pytest.mark.parametrize(
    ("out", "error"),
    [
        ("notes.txt/out", "notes.txt/out cannot be written: notes.txt is not a directory"),
        ("notes.txt", "notes.txt is not a directory"),
        (
            "notes.txt/\x1b[2J\nout",
            "notes.txt/\\x1b[2J\\nout cannot be written: notes.txt is not a directory",
        ),
    ],
)
def test_an_out_that_cannot_be_written_is_one_error_not_a_traceback(
    job: Job, step: str, out: str, error: str
) -> None:
    (job.workspace / "notes.txt").write_text("notes\n", encoding="utf-8")
    job.pull_request_event(12, "a" * 40)
    done = job.step(step, RECONCILER_CI_OUT=out)
    assert (done.returncode, done.stderr) == (
        1,
        f"error: the output directory (RECONCILER_CI_OUT) {error}\n"
        "hint: set RECONCILER_CI_OUT to a directory you can write to\n",
    )


@pytest.mark.parametrize("step", ["validate", "plan", "drift", "apply"])
@pytest.mark.parametrize(
    ("paths", "error"),
    [
        (
            "-h",
            "the paths input (RECONCILER_CI_PATHS): '-h' begins with '-', "
            "which reconciler would read as an option",
        ),
        (
            "desired-state --format=json",
            "the paths input (RECONCILER_CI_PATHS): '--format=json' begins with '-', "
            "which reconciler would read as an option",
        ),
        (
            "'desired-state",
            'the paths input (RECONCILER_CI_PATHS) "\'desired-state" cannot be split: No closing quotation',
        ),
    ],
)
def test_a_paths_input_that_is_not_paths_is_one_error_before_anything_runs(
    job: Job, step: str, paths: str, error: str
) -> None:
    # `-h` would make validate print its help and pass, having checked nothing.
    job.pull_request_event(12, HEAD_A)
    done = job.step(step, RECONCILER_CI_PATHS=paths)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"error: {error}"
    assert "Traceback" not in done.stderr
    assert job.calls() == []


RUN_HINT = (
    "hint: run this step in a GitHub Actions job, which sets GITHUB_RUN_ID and writes GITHUB_EVENT_PATH\n"
)


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("5/../x", "is a string, not a positive integer"),
        ("12", "is a string, not a positive integer"),
        (True, "is true or false, not a positive integer"),
        (5.5, "is a number, not a positive integer"),
        (12.0, "is a number, not a positive integer"),
        (None, "is null, not a positive integer"),
        (-3, "is not a positive integer"),
        (0, "is not a positive integer"),
        (2**63, "is not a positive integer"),
    ],
)
def test_a_malformed_pull_request_number_is_one_error_and_nothing_is_posted(
    job: Job, number: object, problem: str
) -> None:
    job.event("pull_request", {"pull_request": {"number": number, "head": {"sha": HEAD_A}}}, sha="f" * 40)
    done = job.step("plan")
    assert (done.returncode, done.stderr) == (
        1,
        f"error: the GitHub event's pull_request.number {problem}\n" + RUN_HINT,
    )
    assert job.calls() == []
    assert job.summary() == ""


def test_a_pull_request_without_a_number_is_one_error(job: Job) -> None:
    job.event("pull_request", {"pull_request": {"head": {"sha": HEAD_A}}}, sha="f" * 40)
    done = job.step("plan")
    assert (done.returncode, done.stderr) == (
        1,
        "error: the GitHub event's pull_request.number is missing\n" + RUN_HINT,
    )
    assert job.calls() == []


@pytest.mark.parametrize("step", ["plan", "apply", "drift"])
@pytest.mark.parametrize("run_id", ["7/../8", "-7", "+7", "07", "7.0", "7 ", "x7", "true", "9" * 20])
def test_a_malformed_run_id_is_one_error_before_anything_is_posted(job: Job, step: str, run_id: str) -> None:
    job.pull_request_event(12, HEAD_A)
    done = job.step(step, GITHUB_RUN_ID=run_id, RECONCILER_CI_DRIFT_ISSUE="true")
    assert (done.returncode, done.stderr) == (
        1,
        "error: GITHUB_RUN_ID is not a positive integer (decimal digits only)\n" + RUN_HINT,
    )
    assert job.calls() == []


NOT_COMMITS = ["main", "HEAD", "a" * 39, "a" * 41, "A" * 40, f"{'a' * 40}\n", f"{'a' * 40}/../x", "`a` <b>"]
COMMIT = "a commit id (40 or 64 lowercase hexadecimal digits)"


@pytest.mark.parametrize("step", ["plan", "apply", "drift"])
@pytest.mark.parametrize("sha", NOT_COMMITS)
def test_a_malformed_github_sha_is_one_error_before_anything_is_posted(job: Job, step: str, sha: str) -> None:
    # It goes into API paths (the merged pull request of the commit) and the plan's source file.
    job.pull_request_event(12, HEAD_A)
    done = job.step(step, GITHUB_SHA=sha, RECONCILER_CI_DRIFT_ISSUE="true")
    assert (done.returncode, done.stderr) == (
        1,
        f"error: GITHUB_SHA is not {COMMIT}\n"
        "hint: run this step in a GitHub Actions job, which sets GITHUB_SHA to the commit the run is for\n",
    )
    assert job.calls() == []
    assert job.summary() == ""


@pytest.mark.parametrize(
    ("head", "problem"),
    [*((sha, f"is not {COMMIT}") for sha in NOT_COMMITS), (12, f"is an integer, not {COMMIT}")],
)
def test_a_malformed_head_commit_in_the_event_is_one_error_and_nothing_is_posted(
    job: Job, head: object, problem: str
) -> None:
    # The comment shows it and the merge job compares it: a plan is never made for no commit.
    job.event("pull_request", {"pull_request": {"number": 12, "head": {"sha": head}}}, sha="f" * 40)
    done = job.step("plan")
    assert (done.returncode, done.stderr) == (
        1,
        f"error: the GitHub event's pull_request.head.sha {problem}\n" + RUN_HINT,
    )
    assert job.calls() == []
    assert job.summary() == ""
    assert not (job.workspace / "reconciler-plan").exists()


@pytest.mark.parametrize("variable", ["GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"])
def test_a_runner_file_that_cannot_be_written_is_one_error_not_a_traceback(
    job: Job, tmp_path: Path, variable: str
) -> None:
    # A FileNotFoundError traceback reached the job log.
    missing = tmp_path / "no-such-dir" / "file"
    job.pull_request_event(12, HEAD_A)
    done = job.step("plan", **{variable: str(missing)})
    assert done.returncode == 1
    assert f"error: cannot write {variable} ({missing}): No such file or directory\n" in done.stderr
    assert "Traceback" not in done.stderr
