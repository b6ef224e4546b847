"""The scheduled step: does the console still match the files on the default branch?

Drift (someone clicked in the billing console, or a merge's apply failed) fails the job, and when
asked keeps one open issue up to date with the plan that would undo it; the issue is closed once
the console matches again.
"""

from __future__ import annotations

import sys

from reconciler.ci.answer import Answer
from reconciler.ci.comment import MARKER, with_marker
from reconciler.ci.github import GitHub, RunContext
from reconciler.ci.settings import Settings, run_reconciler
from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.terminal import printable

TITLE = "reconciler: the console drifted from desired state"
DRIFT_FILE = "drift.json"


def run(settings: Settings, context: RunContext) -> int:
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    args = ["plan", *settings.paths, "--detailed-exitcode", "--format", "markdown"]
    done = run_reconciler(settings, [*args, "--out", str(settings.out_dir / DRIFT_FILE)])
    drifted = done.returncode == EXIT_CHANGES
    if done.returncode == EXIT_OK:
        context.add_summary("### reconciler: no drift\n\nThe console matches desired state.\n")
    else:
        context.add_summary(with_marker(done.stdout) if done.stdout.strip() else "### reconciler: no plan\n")
    context.set_outputs(**{"exit-code": str(done.returncode), "drifted": "true" if drifted else "false"})
    if settings.drift_issue and done.returncode in (EXIT_OK, EXIT_CHANGES):
        github = GitHub(context.repository)
        if drifted:
            _report(github, settings.drift_label, with_marker(done.stdout), context)
        else:
            _close(github, settings.drift_label, context)
    if drifted:
        print(
            "Drift: the console no longer matches desired state (the plan above undoes it).", file=sys.stderr
        )
        return EXIT_ERROR
    return done.returncode


def open_drift_issue(github: GitHub, label: str) -> Answer | None:
    for issue in github.list_all(f"issues?state=open&labels={label}"):
        # The issues list holds pull requests too, marked by a `pull_request` field.
        if issue.has("pull_request"):
            continue
        body = issue.text_or_none("body", optional=True) or ""
        if body.split("\n", 1)[0] == MARKER:
            return issue
    return None


def _report(github: GitHub, label: str, body: str, context: RunContext) -> None:
    if context.run_url:
        body += f"\n---\n<sub>Found by [this run]({context.run_url}).</sub>\n"
    issue = open_drift_issue(github, label)
    if issue is None:
        answer = github.send("POST", "issues", {"title": TITLE, "body": body, "labels": [label]})
        print(printable(f"Opened {answer.text('html_url')} about the drift"), file=sys.stderr)
    else:
        number, url = issue.integer("number"), issue.text("html_url")
        github.send("PATCH", f"issues/{number}", {"body": body})
        print(printable(f"Updated {url}"), file=sys.stderr)


def _close(github: GitHub, label: str, context: RunContext) -> None:
    issue = open_drift_issue(github, label)
    if issue is None:
        return
    number, url = issue.integer("number"), issue.text("html_url")
    where = f" ([run]({context.run_url}))" if context.run_url else ""
    github.send(
        "POST", f"issues/{number}/comments", {"body": f"The console matches desired state again{where}."}
    )
    github.send("PATCH", f"issues/{number}", {"state": "closed"})
    print(printable(f"Closed {url}: no drift any more"), file=sys.stderr)
