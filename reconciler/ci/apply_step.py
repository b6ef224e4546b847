"""The merge step: apply exactly the plan reviewers saw on the merged pull request, or nothing.

From the pushed commit it finds the pull request GitHub merged into it, that pull request's last
successful plan run at its head commit, and the plan artifact of that run; it checks the artifact
says it was made for that pull request and commit, and runs `reconciler apply --plan`, which
itself refuses the plan if the console or the files changed since the review.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from reconciler.ci.answer import Answer
from reconciler.ci.github import SHA_HINT, GitHub, RunContext
from reconciler.ci.plan_step import PLAN_FILE, SOURCE_FILE
from reconciler.ci.settings import Settings, run_reconciler, subscription_ids
from reconciler.errors import ReconcilerError
from reconciler.terminal import printable

NOTHING = "nothing was applied"


def run(settings: Settings, context: RunContext) -> int:
    if not context.sha:
        raise ReconcilerError("GITHUB_SHA is not set, so there is no merged commit to apply", hint=SHA_HINT)
    github = GitHub(context.repository)
    pull = merged_pull_request(github, context.sha)
    number, head = pull.integer("number"), pull.child("head").commit("sha")
    labels = label_names(pull)
    merged = f"Commit {context.sha[:12]} merged pull request #{number} (head {head[:12]})"
    print(printable(merged), file=sys.stderr)
    plan_file = fetch_reviewed_plan(github, settings, number, head)
    check_source(plan_file.parent / SOURCE_FILE, plan_file, context.repository, number, head)
    labelled = label_cancels(labels, settings.cancel_label_prefix, f"#{number}")
    done = apply_reviewed(settings, plan_file, labelled)
    shown = done.stdout.replace("```", "")
    context.add_summary(f"### reconciler apply of #{number} (plan at `{head[:12]}`)\n\n```\n{shown}```\n")
    context.set_outputs(**{"exit-code": str(done.returncode), "pull-request": str(number)})
    return done.returncode


def apply_reviewed(
    settings: Settings, plan_file: Path, labelled: tuple[str, ...]
) -> subprocess.CompletedProcess[str]:
    """`reconciler apply --plan`, allowing only the cancels the input and the labels name."""
    cancels = sorted({*settings.allow_cancel_of, *labelled})
    if cancels:
        print(f"Cancels allowed for: {', '.join(cancels)}", file=sys.stderr)
    args = ["apply", *settings.paths, "--plan", str(plan_file)]
    args += ["--parallelism", settings.parallelism, "--lock-timeout", settings.lock_timeout]
    # The environment form of --allow-cancel-of: with none allowed, every cancel is refused.
    done = run_reconciler(settings, args, env={"RECONCILER_ALLOW_CANCEL_OF": ",".join(cancels)})
    sys.stdout.write(done.stdout)
    return done


def merged_pull_request(github: GitHub, sha: str) -> Answer:
    """The one pull request whose merge produced `sha`; any other push is refused."""
    pulls = github.get(f"commits/{sha}/pulls").items()
    merged = [pull for pull in pulls if _merged_into(pull, sha)]
    if len(merged) != 1:
        raise ReconcilerError(
            f"commit {sha[:12]} is not the merge of one pull request, so there is no reviewed plan for it; "
            + NOTHING,
            hint="change desired state through a pull request; its plan is applied when it merges",
        )
    return merged[0]


def _merged_into(pull: Answer, sha: str) -> bool:
    # Both fields are read on every pull request listed, so a malformed one anywhere is refused.
    merged_at, merge_commit = pull.text_or_none("merged_at"), pull.text_or_none("merge_commit_sha")
    return bool(merged_at) and merge_commit == sha


def fetch_reviewed_plan(github: GitHub, settings: Settings, number: int, head: str) -> Path:
    """Download the plan artifact of the newest successful plan run at the pull request's head."""
    runs = github.list_all(f"actions/runs?event=pull_request&status=success&head_sha={head}", "workflow_runs")
    for run_id in sorted((run.integer("id") for run in runs), reverse=True):
        answer = github.get(f"actions/runs/{run_id}/artifacts?name={settings.artifact}")
        artifacts = [(a.text("name"), a.flag("expired")) for a in answer.items("artifacts")]
        if (settings.artifact, False) in artifacts:
            into = settings.out_dir / "reviewed"
            shutil.rmtree(into, ignore_errors=True)
            into.mkdir(parents=True)
            github.download_artifact(run_id, settings.artifact, into)
            plan_file = into / PLAN_FILE
            if not plan_file.is_file():
                raise ReconcilerError(
                    f"the artifact {settings.artifact} of run {run_id} holds no {PLAN_FILE}"
                )
            return plan_file
    raise ReconcilerError(
        f"pull request #{number} has no successful plan run with a {settings.artifact} artifact at its head "
        f"commit {head[:12]}; {NOTHING}",
        hint=f"re-run the plan job of #{number}, have its plan reviewed, then re-run this job",
    )


def check_source(
    source_file: Path, plan_file: Path, repository: str, number: int, head: str, where: str | None = None
) -> None:
    where = where or f"#{number}"
    try:
        source = json.loads(source_file.read_text(encoding="utf-8"))
        plan = json.loads(plan_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ReconcilerError(
            f"the plan artifact has no readable {SOURCE_FILE}, so it cannot be tied to a review; {NOTHING}",
            hint="plan the pull request with this action, which writes it beside plan.json",
        ) from None
    if not isinstance(source, dict):
        raise ReconcilerError(
            f"the plan artifact's {SOURCE_FILE} is not an object, so it cannot be tied to a review; "
            + NOTHING,
            hint="plan the pull request with this action, which writes it beside plan.json",
        )
    expected = {"repository": repository, "pull_request": number, "head_sha": head}
    for key, want in expected.items():
        # Typed as well as equal: `true` equals 1 and `12.0` equals 12 to Python, never to JSON.
        if type(source.get(key)) is not type(want) or source.get(key) != want:
            raise ReconcilerError(
                f"the plan artifact was made for {key} {source.get(key)!r}, not {want!r}; {NOTHING}",
                hint=f"only the plan reviewed on {where} at {head[:12]} is applied: re-run its plan job",
            )
    if not isinstance(plan, dict) or plan.get("checksum") != source.get("checksum"):
        raise ReconcilerError(
            f"the plan artifact's {PLAN_FILE} is not the plan its run recorded; {NOTHING}",
            hint=f"re-run the plan job of {where}, have it reviewed, then re-run this job",
        )


def label_names(pull: Answer) -> list[str]:
    return [label.text("name") for label in pull.items("labels")]


def label_cancels(names: list[str], prefix: str, where: str) -> tuple[str, ...]:
    """Subscriptions the merged pull request's labels allow cancelling: `allow-cancel:SUB-1001`.
    An empty prefix allows none (every label would match it)."""
    if not prefix:
        return ()
    chosen: list[str] = []
    for name in names:
        if name.startswith(prefix):
            chosen += subscription_ids(name[len(prefix) :], f"the label {name!r} on {where}")
    return tuple(chosen)
