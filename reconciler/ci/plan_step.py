"""The pull-request step: plan, then show the plan where reviewers look, then pass or fail.

A blocked plan still reaches the job summary and the comment before the step fails: the comment is
where the reviewer learns what to fix. A plan that could not be made at all replaces the comment
with a note, so no stale plan is left standing for a newer commit.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.ci.comment import MARKER, upsert_plan_comment, with_marker
from reconciler.ci.fields import commit_id
from reconciler.ci.github import RUN_HINT, GitHub, RunContext
from reconciler.ci.settings import Settings, run_reconciler
from reconciler.errors import EXIT_ERROR
from reconciler.terminal import printable

PLAN_FILE = "plan.json"
SOURCE_FILE = "plan-source.json"


@dataclass(frozen=True)
class Planned:
    """A plan step's result, whichever CI system shows it: the body to post and the plan file."""

    exit_code: int
    body: str
    plan_file: Path | None

    @property
    def checksum(self) -> str:
        if self.plan_file is None:
            return ""
        return str(json.loads(self.plan_file.read_text(encoding="utf-8")).get("checksum", ""))


def make_plan(settings: Settings, head: str, run_url: str | None) -> Planned:
    """`reconciler plan --format markdown --out plan.json`, and the comment body that shows it."""
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    plan_file = settings.out_dir / PLAN_FILE
    plan_file.unlink(missing_ok=True)
    (settings.out_dir / SOURCE_FILE).unlink(missing_ok=True)
    done = run_reconciler(
        settings, ["plan", *settings.paths, "--format", "markdown", "--out", str(plan_file)]
    )
    made = plan_file.is_file() and bool(done.stdout.strip())
    body = with_marker(done.stdout) if made else _no_plan_note(head, run_url)
    return Planned(
        # A run that printed no plan failed, whatever its exit code said.
        exit_code=done.returncode if made or done.returncode else EXIT_ERROR,
        body=body + _footer(head, run_url),
        plan_file=plan_file if made else None,
    )


def run(settings: Settings, context: RunContext) -> int:
    pull = context.pull_request
    # Checked before planning: a malformed number must not reach a comment on another pull request,
    # nor a malformed commit the plan's source file and the comment.
    number = context.pull_request_number()
    head = _head_sha(pull, context)
    planned = make_plan(settings, head, context.run_url)
    context.add_summary(planned.body)
    outputs = {"exit-code": str(planned.exit_code), "plan-made": str(planned.plan_file is not None).lower()}
    if planned.plan_file is not None:
        write_source(planned.plan_file, context.repository, number, head, context.run_url)
        outputs["artifact-dir"] = str(settings.out_dir)
        outputs["checksum"] = planned.checksum
    if settings.comment and number is not None:
        github = GitHub(context.repository)
        posted = upsert_plan_comment(github, number, planned.body, settings.comment_author)
        print(
            printable(f"{'Created' if posted.created else 'Updated'} the plan comment {posted.url}"),
            file=sys.stderr,
        )
        outputs["comment-url"] = posted.url
    context.set_outputs(**outputs)
    return planned.exit_code


def write_source(
    plan_file: Path, repository: str, number: int | None, head: str, run_url: str | None
) -> None:
    """What the merge job checks before applying: this plan was made for that pull request's commit."""
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    source = {
        "repository": repository,
        "pull_request": number,
        "head_sha": head,
        "checksum": plan.get("checksum"),
        "run": run_url,
    }
    (plan_file.parent / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")


def _head_sha(pull: dict[str, Any] | None, context: RunContext) -> str:
    """The pull request's own commit: GITHUB_SHA of a pull_request run is a merge GitHub made."""
    head = pull.get("head") if pull is not None else None
    if isinstance(head, dict) and "sha" in head:
        return commit_id(head["sha"], "the GitHub event's pull_request.head.sha", RUN_HINT)
    return context.sha


def _no_plan_note(head: str, run_url: str | None) -> str:
    where = f"[the job log]({run_url})" if run_url else "the job log"
    return (
        f"{MARKER}\n## ⚠️ reconciler: no plan for {_short(head)}\n\n"
        f"The plan could not be made; {where} says why. This comment shows the plan again once a push "
        "plans successfully.\n"
    )


def _footer(head: str, run_url: str | None) -> str:
    run = f" in [this run]({run_url})" if run_url else ""
    return f"\n---\n<sub>Planned at {_short(head)}{run}; updated on every push.</sub>\n"


def _short(sha: str) -> str:
    return f"`{sha[:12]}`" if sha else "this commit"
