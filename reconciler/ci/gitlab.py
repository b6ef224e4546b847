"""The same steps on GitLab: one merge-request note, and on merge the plan of the merged request.

GitLab's REST API (v4) is reached with httpx and a project access token (`api` scope) in
RECONCILER_GITLAB_TOKEN: the job token cannot write notes. The plan travels as the plan job's
artifact; on merge it is fetched from the merged request's last successful pipeline at its head.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.ci.answer import Answer
from reconciler.ci.apply_step import NOTHING, apply_reviewed, check_source, label_cancels
from reconciler.ci.comment import is_plan_comment, with_marker
from reconciler.ci.fields import env_commit, env_id
from reconciler.ci.plan_step import PLAN_FILE, SOURCE_FILE, make_plan, write_source
from reconciler.ci.settings import Settings
from reconciler.errors import ReconcilerError
from reconciler.options import url_problem
from reconciler.secrets import redact_urls, shown_url
from reconciler.terminal import printable

TOKEN_VARIABLE = "RECONCILER_GITLAB_TOKEN"
#: the plan job's name in .gitlab-ci.yml: its artifact is the reviewed plan
PLAN_JOB = "reconciler-plan"
PAGE_SIZE = 100
#: What to do about an answer that is not in the shape GitLab documents for its call.
ANSWER_HINT = (
    "nothing was done with this answer: check that CI_API_V4_URL is GitLab's REST API (v4), "
    "then retry the job"
)


@dataclass(frozen=True)
class Pipeline:
    """What GitLab tells a job about itself (predefined CI/CD variables)."""

    api_url: str
    project: str
    sha: str
    merge_request: int | None
    head: str
    job_url: str | None

    @classmethod
    def from_env(cls) -> Pipeline:
        env = os.environ
        if not env.get("CI_API_V4_URL") or not env.get("CI_PROJECT_ID"):
            raise ReconcilerError(
                "CI_API_V4_URL and CI_PROJECT_ID are not set, so there is no GitLab project to talk to",
                hint="run this step in a GitLab CI job",
            )
        hint = "run this step in a GitLab CI job, which sets these variables"
        api = env["CI_API_V4_URL"]
        problem = url_problem(api) if api.partition("://")[0].lower() in ("http", "https") else "not http(s)"
        try:
            httpx.URL(api)
        except (httpx.InvalidURL, UnicodeError) as refused:  # e.g. a host with `_`, which IDNA refuses
            problem = problem or redact_urls(str(refused))
        if problem is not None:
            raise ReconcilerError(f"CI_API_V4_URL {shown_url(api)} is not a valid URL: {problem}", hint=hint)
        # Spliced into API paths: a malformed one must not reach another project, request or commit.
        env_id("CI_PROJECT_ID", hint)
        sha = env_commit("CI_COMMIT_SHA", hint) or ""
        return cls(
            api_url=env["CI_API_V4_URL"].rstrip("/"),
            project=env["CI_PROJECT_ID"],
            sha=sha,
            merge_request=env_id("CI_MERGE_REQUEST_IID", hint),
            # A merged-results pipeline runs on a merge GitLab made; the request's own head is this.
            head=env_commit("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", hint) or sha,
            job_url=env.get("CI_JOB_URL"),
        )


class GitLab:
    def __init__(self, pipeline: Pipeline) -> None:
        token = os.environ.get(TOKEN_VARIABLE)
        if not token:
            raise ReconcilerError(
                f"{TOKEN_VARIABLE} is not set",
                hint="add a project access token with the api scope as a masked CI/CD variable",
            )
        if not (token.isascii() and token.isprintable()) or token != token.strip():
            # An HTTP header cannot carry it; never shown, as it is meant to be a token.
            raise ReconcilerError(
                f"{TOKEN_VARIABLE} holds a character an HTTP header cannot carry (a space, a control "
                "character or a letter outside ASCII)",
                hint="copy the token again from GitLab: a project access token is ASCII letters, digits, "
                "- and _",
            )
        self.client = httpx.Client(
            base_url=f"{pipeline.api_url}/projects/{quote(pipeline.project, safe='')}/",
            headers={"PRIVATE-TOKEN": token},
            timeout=60,
        )
        self.user_url = f"{pipeline.api_url}/user"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as error:  # InvalidURL: `h_st`, say
            raise ReconcilerError(
                f"GitLab did not answer {_call(method, path)}: {type(error).__name__}"
            ) from None
        if response.status_code >= 400:
            raise ReconcilerError(
                f"GitLab answered {_call(method, path)} with HTTP {response.status_code}",
                hint=f"check that {TOKEN_VARIABLE} is a project access token with the api scope",
            )
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Answer:
        response = self.request(method, path, **kwargs)
        call = _call(method, path)
        try:
            value = response.json()
        except (ValueError, RecursionError):
            raise ReconcilerError(f"GitLab's answer to {call} is not JSON", hint=ANSWER_HINT) from None
        return Answer("GitLab", call, value, hint=ANSWER_HINT)

    def list_all(self, path: str, **params: str) -> list[Answer]:
        items: list[Answer] = []
        page = 1
        while True:
            batch = self.json("GET", path, params={**params, "per_page": PAGE_SIZE, "page": page}).items()
            items += batch
            if len(batch) < PAGE_SIZE:
                return items
            page += 1

    def username(self) -> str:
        return self.json("GET", self.user_url).text("username")


def plan(settings: Settings, pipeline: Pipeline) -> int:
    planned = make_plan(settings, pipeline.head, pipeline.job_url)
    if planned.plan_file is not None:
        project = f"{pipeline.api_url}/projects/{pipeline.project}"
        write_source(planned.plan_file, project, pipeline.merge_request, pipeline.head, pipeline.job_url)
    (settings.out_dir / "plan.md").write_text(planned.body, encoding="utf-8")
    if settings.comment and pipeline.merge_request is not None:
        gitlab = GitLab(pipeline)
        created = upsert_note(gitlab, pipeline.merge_request, planned.body)
        print(
            f"{'Created' if created else 'Updated'} the plan note on !{pipeline.merge_request}",
            file=sys.stderr,
        )
    return planned.exit_code


def upsert_note(gitlab: GitLab, iid: int, body: str) -> bool:
    """Edit this token's marked note of the merge request, or create it; True when created."""
    author = gitlab.username()
    notes = gitlab.list_all(f"merge_requests/{iid}/notes", sort="asc", order_by="created_at")
    mine = next((n.integer("id") for n in notes if _is_plan_note(n, author)), None)
    # The answers to these two are not read: the next pipeline finds the note again.
    if mine is None:
        gitlab.request("POST", f"merge_requests/{iid}/notes", json={"body": with_marker(body)})
        return True
    gitlab.request("PUT", f"merge_requests/{iid}/notes/{mine}", json={"body": with_marker(body)})
    return False


def _is_plan_note(note: Answer, author: str) -> bool:
    return is_plan_comment(note.text("body"), note.child("author").text("username"), author)


def apply(settings: Settings, pipeline: Pipeline) -> int:
    if not pipeline.sha:
        raise ReconcilerError(
            "CI_COMMIT_SHA is not set, so there is no merged commit to apply",
            hint="run this step in a GitLab CI job, which sets these variables",
        )
    gitlab = GitLab(pipeline)
    request = merged_request(gitlab, pipeline.sha)
    iid, head = request.integer("iid"), request.commit("sha")
    print(
        printable(f"Commit {pipeline.sha[:12]} merged merge request !{iid} (head {head[:12]})"),
        file=sys.stderr,
    )
    plan_file = fetch_reviewed_plan(gitlab, settings, iid, head)
    project = f"{pipeline.api_url}/projects/{pipeline.project}"
    check_source(plan_file.parent / SOURCE_FILE, plan_file, project, iid, head, where=f"!{iid}")
    labels = request.texts("labels")
    return apply_reviewed(
        settings, plan_file, label_cancels(labels, settings.cancel_label_prefix, f"!{iid}")
    ).returncode


def merged_request(gitlab: GitLab, sha: str) -> Answer:
    """The merged request this commit is the merge, squash or fast-forward head of."""
    requests = gitlab.json("GET", f"repository/commits/{sha}/merge_requests").items()
    merged = [r for r in requests if _merged_into(r, sha)]
    if len(merged) != 1:
        raise ReconcilerError(
            f"commit {sha[:12]} is not the merge of one merge request, so there is no reviewed plan "
            f"for it; {NOTHING}",
            hint="change desired state through a merge request; its plan is applied when it merges",
        )
    return merged[0]


def _merged_into(request: Answer, sha: str) -> bool:
    # Every field is read on every request listed, so a malformed one anywhere is refused.
    commits = (
        request.text_or_none("merge_commit_sha"),
        # An older GitLab sends no squash_commit_sha at all.
        request.text_or_none("squash_commit_sha", optional=True),
        request.text("sha"),
    )
    return request.text("state") == "merged" and sha in commits


def fetch_reviewed_plan(gitlab: GitLab, settings: Settings, iid: int, head: str) -> Path:
    pipelines = gitlab.list_all(f"merge_requests/{iid}/pipelines")
    shown = [(p.integer("id"), p.text("sha"), p.text("status")) for p in pipelines]
    passed = sorted((pid for pid, sha, status in shown if sha == head and status == "success"), reverse=True)
    for pipeline_id in passed:
        jobs = gitlab.list_all(f"pipelines/{pipeline_id}/jobs", **{"scope[]": "success"})
        plan_jobs = [job.integer("id") for job in jobs if job.text("name") == PLAN_JOB]
        if plan_jobs:
            return download_plan(gitlab, settings, plan_jobs[0])
    raise ReconcilerError(
        f"merge request !{iid} has no successful pipeline with a {PLAN_JOB} job at its head commit "
        f"{head[:12]}; {NOTHING}",
        hint=f"run the pipeline of !{iid} again, have its plan reviewed, then retry this job",
    )


def download_plan(gitlab: GitLab, settings: Settings, job_id: int) -> Path:
    into = settings.out_dir / "reviewed"
    into.mkdir(parents=True, exist_ok=True)
    # The plan job wrote its artifact to the same RECONCILER_CI_OUT, relative to the project.
    folder = settings.out_dir.as_posix().strip("/")
    for name in (PLAN_FILE, SOURCE_FILE):
        content = gitlab.request("GET", f"jobs/{job_id}/artifacts/{folder}/{name}").content
        (into / name).write_bytes(content)
    return into / PLAN_FILE


def _call(method: str, path: str) -> str:
    """A request as messages name it: the user URL is absolute, and CI_API_V4_URL may hold a user
    and password (masked, as every URL a message quotes)."""
    return f"{method} {shown_url(path)}"
