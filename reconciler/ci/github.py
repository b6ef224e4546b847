"""GitHub, reached through `gh api` and `gh run download`, and the run's own context.

Going through `gh` keeps the token handling (GH_TOKEN), GitHub Enterprise hosts and artifact zips
where GitHub's own client already handles them; this module only shapes requests and answers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from reconciler.ci.answer import Answer
from reconciler.ci.fields import env_commit, env_id, positive_id
from reconciler.errors import ReconcilerError
from reconciler.userpaths import shown

#: GitHub's largest page; fewer items than this means the last page.
PAGE_SIZE = 100
#: A page or a download that takes longer than this is a hung connection, not a slow GitHub.
GH_TIMEOUT = 300
#: What to do about a run whose own event or variables are not what GitHub writes.
RUN_HINT = "run this step in a GitHub Actions job, which sets GITHUB_RUN_ID and writes GITHUB_EVENT_PATH"
SHA_HINT = "run this step in a GitHub Actions job, which sets GITHUB_SHA to the commit the run is for"
#: What to do about an answer that is not in the shape GitHub documents for its call.
ANSWER_HINT = (
    "nothing was done with this answer: check that gh reaches GitHub's REST API (GH_HOST, GH_TOKEN), "
    "then re-run the job"
)


@dataclass(frozen=True)
class RunContext:
    """What GitHub tells a job about itself, through the variables every runner sets."""

    repository: str
    sha: str
    event_name: str
    event: dict[str, Any]
    run_url: str | None
    summary_file: Path | None
    output_file: Path | None

    @classmethod
    def from_env(cls) -> RunContext:
        repository = os.environ.get("GITHUB_REPOSITORY", "")
        if "/" not in repository:
            raise ReconcilerError(
                "GITHUB_REPOSITORY is not set to OWNER/NAME, so there is no repository to talk to",
                hint="run this step in a GitHub Actions job (or set GITHUB_REPOSITORY and GITHUB_SHA)",
            )
        server, run_id = os.environ.get("GITHUB_SERVER_URL"), env_id("GITHUB_RUN_ID", RUN_HINT)
        return cls(
            repository=repository,
            # Spliced into API paths, compared with the artifact's and shown in the comment.
            sha=env_commit("GITHUB_SHA", SHA_HINT) or "",
            event_name=os.environ.get("GITHUB_EVENT_NAME", ""),
            event=_read_event(os.environ.get("GITHUB_EVENT_PATH")),
            run_url=f"{server}/{repository}/actions/runs/{run_id}" if server and run_id else None,
            summary_file=_path_or_none(os.environ.get("GITHUB_STEP_SUMMARY")),
            output_file=_path_or_none(os.environ.get("GITHUB_OUTPUT")),
        )

    @property
    def pull_request(self) -> dict[str, Any] | None:
        pull = self.event.get("pull_request")
        return pull if isinstance(pull, dict) else None

    def pull_request_number(self) -> int | None:
        """The event's pull request number; None for an event without a pull request."""
        pull = self.pull_request
        if pull is None:
            return None
        where = "the GitHub event's pull_request.number"
        if "number" not in pull:
            raise ReconcilerError(f"{where} is missing", hint=RUN_HINT)
        return positive_id(pull["number"], where, RUN_HINT)

    def add_summary(self, markdown: str) -> None:
        if self.summary_file is not None:
            with _appending(self.summary_file, "GITHUB_STEP_SUMMARY") as summary:
                summary.write(markdown if markdown.endswith("\n") else markdown + "\n")

    def set_outputs(self, **outputs: str) -> None:
        if self.output_file is None:
            return
        with _appending(self.output_file, "GITHUB_OUTPUT") as out:
            for name, value in outputs.items():
                # One-line values only: every output here is a number, a path or a checksum.
                out.write(f"{name}={value.splitlines()[0] if value else ''}\n")


@contextmanager
def _appending(path: Path, variable: str) -> Iterator[TextIO]:
    """The runner's file named by `variable`, opened to add to; a file that cannot be written is an
    error that names it, not a crash."""
    try:
        with path.open("a", encoding="utf-8") as file:
            yield file
    except OSError as error:
        raise ReconcilerError(
            f"cannot write {variable} ({shown(path)}): {error.strerror or error}",
            hint="the runner sets this variable to a file it made: run the step in a GitHub Actions job",
        ) from None


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None


def _read_event(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReconcilerError(
            f"cannot read the GitHub event file {path}: {error}",
            hint=RUN_HINT,
        ) from None
    return event if isinstance(event, dict) else {}


class GitHub:
    """One repository's REST API through `gh api`."""

    def __init__(self, repository: str) -> None:
        if shutil.which("gh") is None:
            raise ReconcilerError(
                "the GitHub CLI `gh` is not on PATH",
                hint="use a GitHub-hosted runner (gh is installed there) or install gh on the runner",
            )
        self.repository = repository

    def get(self, path: str) -> Answer:
        return self._api("GET", ["repos/" + self.repository + "/" + path])

    def send(self, method: str, path: str, body: dict[str, Any]) -> Answer:
        return self._api(
            method,
            ["--method", method, "repos/" + self.repository + "/" + path, "--input", "-"],
            body=json.dumps(body),
        )

    def list_all(self, path: str, key: str | None = None) -> list[Answer]:
        """Every item of a paged list, each an object; `key` names the list inside an object answer."""
        items: list[Answer] = []
        joiner = "&" if "?" in path else "?"
        page = 1
        while True:
            answer = self.get(f"{path}{joiner}per_page={PAGE_SIZE}&page={page}")
            batch = answer.items(key)
            items += batch
            if len(batch) < PAGE_SIZE:
                return items
            page += 1

    def download_artifact(self, run_id: int, name: str, into: Path) -> None:
        self._gh(
            ["run", "download", str(run_id), "--repo", self.repository, "--name", name, "--dir", str(into)]
        )

    def _api(self, method: str, args: Sequence[str], body: str | None = None) -> Answer:
        out = self._gh(["api", "-H", "Accept: application/vnd.github+json", *args], stdin=body)
        call = f"{method} {next(arg for arg in args if arg.startswith('repos/'))}"
        try:
            value = json.loads(out) if out.strip() else None
        except (ValueError, RecursionError):
            raise ReconcilerError(f"GitHub's answer to {call} is not JSON", hint=ANSWER_HINT) from None
        return Answer("GitHub", call, value, hint=ANSWER_HINT)

    def _gh(self, args: list[str], stdin: str | None = None) -> str:
        try:
            done = subprocess.run(
                ["gh", *args],
                input=stdin,
                # Without a body, gh must not wait on whatever stdin the job has.
                stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=GH_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ReconcilerError(f"`gh {args[0]}` did not answer within {GH_TIMEOUT}s") from None
        if done.returncode != 0:
            reason = (
                done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
            )
            raise ReconcilerError(
                f"`gh {' '.join(_shown(args))}` failed: {reason}",
                hint="check the job's permissions (contents: read, pull-requests: write, actions: read) "
                "and that GH_TOKEN is set",
            )
        return done.stdout


def _shown(args: list[str]) -> list[str]:
    """The command as a log may show it: without the Accept header noise."""
    return [arg for arg in args if arg not in ("-H", "Accept: application/vnd.github+json")]
