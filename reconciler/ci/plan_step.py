"""The pull-request step: plan, then show the plan where reviewers look, then pass or fail.

A blocked plan still reaches the job summary and the comment before the step fails: the comment is
where the reviewer learns what to fix. A plan that could not be made at all replaces the comment
with a note, so no stale plan is left standing for a newer commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from reconciler.ci.comment import MARKER, upsert_plan_comment, with_marker
from reconciler.ci.github import GitHub, RunContext
from reconciler.ci.settings import Settings, run_reconciler
from reconciler.errors import EXIT_ERROR

PLAN_FILE = "plan.json"
SOURCE_FILE = "plan-source.json"


def run(settings: Settings, context: RunContext) -> int:
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    plan_file = settings.out_dir / PLAN_FILE
    plan_file.unlink(missing_ok=True)
    done = run_reconciler(
        settings, ["plan", *settings.paths, "--format", "markdown", "--out", str(plan_file)]
    )
    made = plan_file.is_file() and bool(done.stdout.strip())
    pull = context.pull_request
    head = _head_sha(pull, context)
    body = with_marker(done.stdout) if made else _no_plan_note(head, context)
    body += _footer(head, context)
    context.add_summary(body)
    outputs = {"exit-code": str(done.returncode), "plan-made": "true" if made else "false"}
    if made:
        write_source(settings.out_dir, plan_file, context, pull, head)
        outputs["artifact-dir"] = str(settings.out_dir)
        outputs["checksum"] = str(json.loads(plan_file.read_text(encoding="utf-8")).get("checksum", ""))
    if settings.comment and pull is not None:
        posted = upsert_plan_comment(
            GitHub(context.repository), int(pull["number"]), body, settings.comment_author
        )
        print(f"{'Created' if posted.created else 'Updated'} the plan comment {posted.url}", file=sys.stderr)
        outputs["comment-url"] = posted.url
    context.set_outputs(**outputs)
    return done.returncode if made or done.returncode else EXIT_ERROR


def write_source(
    out_dir: Path, plan_file: Path, context: RunContext, pull: dict[str, Any] | None, head: str
) -> None:
    """What the merge job checks before applying: this plan was made for that pull request's commit."""
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    source = {
        "repository": context.repository,
        "pull_request": int(pull["number"]) if pull is not None else None,
        "head_sha": head,
        "checksum": plan.get("checksum"),
        "run": context.run_url,
    }
    (out_dir / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")


def _head_sha(pull: dict[str, Any] | None, context: RunContext) -> str:
    """The pull request's own commit: GITHUB_SHA of a pull_request run is a merge GitHub made."""
    head = pull.get("head") if pull is not None else None
    sha = head.get("sha") if isinstance(head, dict) else None
    return sha if isinstance(sha, str) and sha else context.sha


def _no_plan_note(head: str, context: RunContext) -> str:
    where = f"[the job log]({context.run_url})" if context.run_url else "the job log"
    return (
        f"{MARKER}\n## ⚠️ reconciler: no plan for {_short(head)}\n\n"
        f"The plan could not be made; {where} says why. This comment shows the plan again once a push "
        "plans successfully.\n"
    )


def _footer(head: str, context: RunContext) -> str:
    run = f" in [this run]({context.run_url})" if context.run_url else ""
    return f"\n---\n<sub>Planned at {_short(head)}{run}; updated on every push.</sub>\n"


def _short(sha: str) -> str:
    return f"`{sha[:12]}`" if sha else "this commit"
