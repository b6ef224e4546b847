"""The GitLab steps against a stand-in of GitLab's REST API (v4) on 127.0.0.1, and the real reconciler."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import clean_env

TOKEN = "glpat-standin"
BOT = "project_7_bot"
MARKER = "<!-- reconciler-plan -->"
HEAD = "a" * 40
OTHER_HEAD = "c" * 40
MERGE = "d" * 40


@dataclass
class GitLabState:
    notes: list[dict[str, Any]] = field(default_factory=list)
    commit_requests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: dict[int, Path] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    #: "GET merge_requests/12/pipelines" -> the raw answer to give instead of the stand-in's own
    answers: dict[str, bytes] = field(default_factory=dict)


def handler_for(state: GitLabState) -> type[BaseHTTPRequestHandler]:
    prefix = "/api/v4/projects/7/"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, status: int, body: Any, raw: bytes | None = None) -> None:
            data = raw if raw is not None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self, method: str) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            state.requests.append(f"{method} {url.path}")
            if self.headers.get("PRIVATE-TOKEN") != TOKEN:
                return self.reply(401, {"message": "401 Unauthorized"})
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            if url.path == "/api/v4/user":
                return self.reply(
                    200, None, raw=state.answers.get("GET user", json.dumps({"username": BOT}).encode())
                )
            rest = url.path.removeprefix(prefix)
            canned = state.answers.get(f"{method} {rest}")
            if canned is not None:
                return self.reply(200, None, raw=canned)
            answer = self.route(method, rest, query, body)
            if answer is None:
                return self.reply(404, {"message": "404 Not Found"})
            if isinstance(answer, bytes):
                return self.reply(200, None, raw=answer)
            return self.reply(201 if method == "POST" else 200, answer)

        def route(self, method: str, rest: str, query: dict[str, list[str]], body: Any) -> Any:
            parts = rest.split("/")
            if rest == "merge_requests/12/notes" and method == "GET":
                size, page = int(query["per_page"][0]), int(query["page"][0])
                return state.notes[(page - 1) * size : page * size]
            if rest == "merge_requests/12/notes" and method == "POST":
                note = {"id": 900 + len(state.notes), "body": body["body"], "author": {"username": BOT}}
                state.notes.append(note)
                return note
            if parts[:3] == ["merge_requests", "12", "notes"] and method == "PUT":
                note = next((n for n in state.notes if n["id"] == int(parts[3])), None)
                if note is not None:
                    note["body"] = body["body"]
                return note
            if parts[:2] == ["repository", "commits"] and parts[3:] == ["merge_requests"]:
                return state.commit_requests.get(parts[2], [])
            if rest == "merge_requests/12/pipelines":
                return state.pipelines if query.get("page", ["1"])[0] == "1" else []
            if parts[0] == "pipelines" and parts[2] == "jobs":
                scope = query.get("scope[]", [])
                jobs = [j for j in state.jobs.get(int(parts[1]), []) if not scope or j["status"] in scope]
                return jobs if query.get("page", ["1"])[0] == "1" else []
            if parts[0] == "jobs" and parts[2] == "artifacts":
                folder = state.artifacts.get(int(parts[1]))
                path = folder / "/".join(parts[3:]) if folder is not None else None
                return path.read_bytes() if path is not None and path.is_file() else None
            return None

        def do_GET(self) -> None:
            self.handle_any("GET")

        def do_POST(self) -> None:
            self.handle_any("POST")

        def do_PUT(self) -> None:
            self.handle_any("PUT")

    return Handler


@pytest.fixture
def gitlab() -> Iterator[tuple[GitLabState, str]]:
    state = GitLabState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "estate" / "desired-state")
    return tmp_path / "estate"


def step(project: Path, api: str, name: str, **variables: str) -> subprocess.CompletedProcess[str]:
    gitlab = {
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": "7",
        "CI_JOB_URL": "https://gitlab.example.com/acme/estate/-/jobs/55",
        "RECONCILER_GITLAB_TOKEN": TOKEN,
        "RECONCILER_CI_OUT": "reconciler-plan",
    }
    env = clean_env(**{**gitlab, **variables})
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "reconciler.ci", name],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def merge_request_pipeline(project: Path, api: str, head: str) -> subprocess.CompletedProcess[str]:
    return step(
        project,
        api,
        "gitlab-plan",
        CI_MERGE_REQUEST_IID="12",
        CI_COMMIT_SHA=head,
        CI_PIPELINE_SOURCE="merge_request_event",
    )


def test_the_plan_is_one_note_created_then_edited(gitlab: tuple[GitLabState, str], project: Path) -> None:
    state, api = gitlab
    state.notes.append({"id": 1, "body": f"{MARKER}\nquoted by a reviewer", "author": {"username": "dana"}})
    first = merge_request_pipeline(project, api, HEAD)
    assert first.returncode == 0, first.stderr
    assert first.stderr.endswith("Created the plan note on !12\n")
    second = merge_request_pipeline(project, api, OTHER_HEAD)
    assert second.returncode == 0, second.stderr
    assert second.stderr.endswith("Updated the plan note on !12\n")
    assert [n["id"] for n in state.notes] == [1, 901]
    assert state.notes[0]["body"] == f"{MARKER}\nquoted by a reviewer"
    body = state.notes[1]["body"]
    assert body.startswith(f"{MARKER}\n## reconciler plan: 4 changes\n")
    assert body.endswith(
        f"<sub>Planned at `{OTHER_HEAD[:12]}` in "
        "[this run](https://gitlab.example.com/acme/estate/-/jobs/55); updated on every push.</sub>\n"
    )
    assert (project / "reconciler-plan" / "plan.md").read_text(encoding="utf-8") == body
    source = json.loads((project / "reconciler-plan" / "plan-source.json").read_text(encoding="utf-8"))
    assert source["head_sha"] == OTHER_HEAD
    assert source["pull_request"] == 12


def plan_then_merge(state: GitLabState, project: Path, api: str, planned_at: str, merged_head: str) -> None:
    assert merge_request_pipeline(project, api, planned_at).returncode == 0
    kept = project.parent / "kept-artifacts"
    shutil.copytree(project / "reconciler-plan", kept / "reconciler-plan")
    state.pipelines = [{"id": 31, "sha": planned_at, "status": "success"}]
    state.jobs = {31: [{"id": 55, "name": "reconciler-plan", "status": "success"}]}
    state.artifacts = {55: kept}
    request = {"iid": 12, "state": "merged", "sha": merged_head, "merge_commit_sha": MERGE, "labels": []}
    state.commit_requests = {MERGE: [request]}


def on_merge(project: Path, api: str) -> subprocess.CompletedProcess[str]:
    return step(project, api, "gitlab-apply", CI_COMMIT_SHA=MERGE, CI_PIPELINE_SOURCE="push")


def converged(project: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--detailed-exitcode"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode == 0


def test_on_merge_the_reviewed_plan_is_applied(gitlab: tuple[GitLabState, str], project: Path) -> None:
    state, api = gitlab
    plan_then_merge(state, project, api, planned_at=HEAD, merged_head=HEAD)
    done = on_merge(project, api)
    assert done.returncode == 0, done.stderr
    assert "Commit dddddddddddd merged merge request !12 (head aaaaaaaaaaaa)\n" in done.stderr
    assert "Applied 4 changes" in done.stdout
    assert converged(project)
    assert "GET /api/v4/projects/7/jobs/55/artifacts/reconciler-plan/plan.json" in state.requests


def test_on_merge_a_plan_of_another_commit_is_refused(gitlab: tuple[GitLabState, str], project: Path) -> None:
    state, api = gitlab
    plan_then_merge(state, project, api, planned_at=HEAD, merged_head=OTHER_HEAD)
    done = on_merge(project, api)
    assert done.returncode == 1
    assert done.stderr.endswith(
        "error: merge request !12 has no successful pipeline with a reconciler-plan job at its head commit "
        "cccccccccccc; nothing was applied\n"
        "hint: run the pipeline of !12 again, have its plan reviewed, then retry this job\n"
    )
    assert not converged(project)


def test_a_wrong_token_is_named_not_shown(gitlab: tuple[GitLabState, str], project: Path) -> None:
    _, api = gitlab
    done = step(project, api, "gitlab-apply", CI_COMMIT_SHA=MERGE, RECONCILER_GITLAB_TOKEN="glpat-wrong-one")
    assert done.returncode == 1
    assert done.stderr == (
        f"error: GitLab answered GET repository/commits/{MERGE}/merge_requests with HTTP 401\n"
        "hint: check that RECONCILER_GITLAB_TOKEN is a project access token with the api scope\n"
    )


GITLAB_HINT = (
    "nothing was done with this answer: check that CI_API_V4_URL is GitLab's REST API (v4), "
    "then retry the job"
)
REQUEST: dict[str, Any] = {"iid": 12, "state": "merged", "sha": HEAD, "merge_commit_sha": MERGE, "labels": []}
COMMIT_REQUESTS = f"repository/commits/{MERGE}/merge_requests"


@pytest.mark.parametrize(
    ("call", "answer", "problem"),
    [
        (f"GET {COMMIT_REQUESTS}", {"iid": 12}, "the answer is an object, not a list"),
        (f"GET {COMMIT_REQUESTS}", [{**REQUEST, "state": None}], "[0].state is null, not a string"),
        (
            f"GET {COMMIT_REQUESTS}",
            [{**REQUEST, "merge_commit_sha": 7}],
            "[0].merge_commit_sha is an integer, not a string or null",
        ),
        (f"GET {COMMIT_REQUESTS}", [{**REQUEST, "iid": "12"}], "[0].iid is a string, not an integer"),
        (
            f"GET {COMMIT_REQUESTS}",
            [{**REQUEST, "labels": [{"name": "x"}]}],
            "[0].labels[0] is an object, not a string",
        ),
        ("GET merge_requests/12/pipelines", [{"id": 31, "sha": HEAD}], "[0].status is missing"),
        (
            "GET merge_requests/12/pipelines",
            [{"id": True, "sha": HEAD, "status": "success"}],
            "[0].id is true or false, not an integer",
        ),
        ("GET pipelines/31/jobs", [{"id": 55, "name": None}], "[0].name is null, not a string"),
        (
            "GET pipelines/31/jobs",
            [{"id": "55", "name": "reconciler-plan"}],
            "[0].id is a string, not an integer",
        ),
    ],
)
def test_a_malformed_gitlab_answer_on_merge_is_refused(
    gitlab: tuple[GitLabState, str], project: Path, call: str, answer: Any, problem: str
) -> None:
    state, api = gitlab
    plan_then_merge(state, project, api, planned_at=HEAD, merged_head=HEAD)
    state.answers[call] = json.dumps(answer).encode()
    done = on_merge(project, api)
    assert done.returncode == 1
    message = f"GitLab's answer to {call} is malformed: {problem}"
    assert done.stderr.endswith(f"error: {message}\nhint: {GITLAB_HINT}\n"), done.stderr
    assert "Traceback" not in done.stderr
    assert not converged(project)


def test_a_gitlab_answer_that_is_not_json_is_refused(gitlab: tuple[GitLabState, str], project: Path) -> None:
    state, api = gitlab
    plan_then_merge(state, project, api, planned_at=HEAD, merged_head=HEAD)
    state.answers[f"GET {COMMIT_REQUESTS}"] = b"<html>502 Bad Gateway</html>"
    done = on_merge(project, api)
    assert done.returncode == 1
    assert (
        done.stderr == f"error: GitLab's answer to GET {COMMIT_REQUESTS} is not JSON\nhint: {GITLAB_HINT}\n"
    )


@pytest.mark.parametrize(
    ("call", "answer", "problem"),
    [
        ("GET user", {"name": BOT}, "username is missing"),
        ("GET merge_requests/12/notes", [{"id": 1, "body": MARKER}], "[0].author is missing"),
        (
            "GET merge_requests/12/notes",
            [{"id": 1, "body": None, "author": {"username": BOT}}],
            "[0].body is null, not a string",
        ),
        (
            "GET merge_requests/12/notes",
            [{"id": 0, "body": MARKER, "author": {"username": BOT}}],
            "[0].id is not a positive integer",
        ),
    ],
)
def test_a_malformed_gitlab_answer_about_the_note_is_refused(
    gitlab: tuple[GitLabState, str], project: Path, call: str, answer: Any, problem: str
) -> None:
    state, api = gitlab
    state.answers[call] = json.dumps(answer).encode()
    done = merge_request_pipeline(project, api, HEAD)
    assert done.returncode == 1
    shown = f"GET {api}/user" if call == "GET user" else call
    assert done.stderr.endswith(
        f"error: GitLab's answer to {shown} is malformed: {problem}\nhint: {GITLAB_HINT}\n"
    )
    assert state.notes == []


@pytest.mark.parametrize("name", ["gitlab-plan", "gitlab-apply"])
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CI_MERGE_REQUEST_IID", "x1"),
        ("CI_MERGE_REQUEST_IID", "12/../13"),
        ("CI_MERGE_REQUEST_IID", "-3"),
        ("CI_MERGE_REQUEST_IID", "+12"),
        ("CI_MERGE_REQUEST_IID", "5.5"),
        ("CI_MERGE_REQUEST_IID", "12 "),
        ("CI_MERGE_REQUEST_IID", "0"),
        ("CI_MERGE_REQUEST_IID", "true"),
        ("CI_MERGE_REQUEST_IID", "9" * 20),
        ("CI_PROJECT_ID", "7/../8"),
        ("CI_PROJECT_ID", "-7"),
    ],
)
def test_a_malformed_id_in_the_pipeline_variables_is_one_error_and_nothing_is_sent(
    gitlab: tuple[GitLabState, str], project: Path, name: str, variable: str, value: str
) -> None:
    state, api = gitlab
    variables = {"CI_MERGE_REQUEST_IID": "12", "CI_COMMIT_SHA": HEAD, variable: value}
    done = step(project, api, name, **variables)
    assert (done.returncode, done.stderr) == (
        1,
        f"error: {variable} is not a positive integer (decimal digits only)\n"
        "hint: run this step in a GitLab CI job, which sets these variables\n",
    )
    assert (state.requests, state.notes) == ([], [])


@pytest.mark.parametrize("name", ["gitlab-plan", "gitlab-apply"])
@pytest.mark.parametrize("variable", ["CI_COMMIT_SHA", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"])
@pytest.mark.parametrize(
    "value", ["main", "a" * 39, "A" * 40, f"{'a' * 40}\n", f"{'a' * 40}/../merge_requests"]
)
def test_a_malformed_commit_in_the_pipeline_variables_is_one_error_and_nothing_is_sent(
    gitlab: tuple[GitLabState, str], project: Path, name: str, variable: str, value: str
) -> None:
    # Spliced into an API path (the merge requests of the commit) and the plan's source file.
    state, api = gitlab
    variables = {"CI_MERGE_REQUEST_IID": "12", "CI_COMMIT_SHA": HEAD, variable: value}
    done = step(project, api, name, **variables)
    assert (done.returncode, done.stderr) == (
        1,
        f"error: {variable} is not a commit id (40 or 64 lowercase hexadecimal digits)\n"
        "hint: run this step in a GitLab CI job, which sets these variables\n",
    )
    assert (state.requests, state.notes) == ([], [])


def test_an_apply_without_ci_commit_sha_is_one_error_and_nothing_is_sent(
    gitlab: tuple[GitLabState, str], project: Path
) -> None:
    state, api = gitlab
    done = step(project, api, "gitlab-apply", CI_COMMIT_SHA="")
    assert (done.returncode, done.stderr) == (
        1,
        "error: CI_COMMIT_SHA is not set, so there is no merged commit to apply\n"
        "hint: run this step in a GitLab CI job, which sets these variables\n",
    )
    assert (state.requests, state.notes) == ([], [])


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        (
            {"RECONCILER_GITLAB_TOKEN": "glpat-Zq9SECRETpw\u00e9"},
            "error: RECONCILER_GITLAB_TOKEN holds a character an HTTP header cannot carry (a space, a "
            "control character or a letter outside ASCII)\n"
            "hint: copy the token again from GitLab: a project access token is ASCII letters, digits, - "
            "and _\n",
        ),
        (
            {"CI_API_V4_URL": "https://gitlab..example/api/v4"},
            "error: CI_API_V4_URL https://gitlab..example/api/v4 is not a valid URL: its host is not a "
            "valid name (an empty label, such as a..b, or one over 63 characters)\n"
            "hint: run this step in a GitLab CI job, which sets these variables\n",
        ),
        (
            {"CI_API_V4_URL": "https://u:Zq9SECRETpw@[::1/api/v4"},
            "error: CI_API_V4_URL https://***@[::1/api/v4 is not a valid URL: an IPv6 host needs both "
            "its brackets, e.g. [::1]\n"
            "hint: run this step in a GitLab CI job, which sets these variables\n",
        ),
    ],
    ids=["token-not-ascii", "empty-label", "brackets"],
)
def test_a_token_or_api_url_no_request_could_carry_is_one_error_not_a_crash(
    gitlab: tuple[GitLabState, str], project: Path, variables: dict[str, str], error: str
) -> None:
    # Each was a full traceback in the job log (UnicodeEncodeError, httpx's InvalidURL, UnicodeError).
    state, api = gitlab
    done = step(project, api, "gitlab-plan", CI_MERGE_REQUEST_IID="12", CI_COMMIT_SHA=HEAD, **variables)
    assert done.returncode == 1
    assert done.stderr.endswith(error)
    assert "Zq9SECRETpw" not in done.stdout + done.stderr
    assert (state.requests, state.notes) == ([], [])


def test_an_api_url_with_credentials_that_does_not_answer_is_named_without_them(project: Path) -> None:
    done = step(
        project,
        "http://u:Zq9SECRETpw@127.0.0.1:1/api/v4",
        "gitlab-plan",
        CI_MERGE_REQUEST_IID="12",
        CI_COMMIT_SHA=HEAD,
    )
    assert done.returncode == 1
    assert (
        done.stderr.splitlines()[-1]
        == "error: GitLab did not answer GET http://***@127.0.0.1:1/api/v4/user: ConnectError"
    )
    assert "Zq9SECRETpw" not in done.stdout + done.stderr
