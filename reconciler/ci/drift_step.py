"""The scheduled step: does the console still match the files on the default branch?

Drift (someone clicked in the billing console, or a merge's apply failed) fails the job, and when
asked keeps one open issue up to date with the plan that would undo it; the issue is closed once
the console matches again.
"""

from __future__ import annotations

import sys
from typing import Any

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


def open_drift_issue(github: GitHub, label: str) -> dict[str, Any] | None:
    issues = github.list_all(f"issues?state=open&labels={label}")
    return next(
        (
            issue
            for issue in issues
            if "pull_request" not in issue and str(issue.get("body") or "").split("\n", 1)[0] == MARKER
        ),
        None,
    )


def _report(github: GitHub, label: str, body: str, context: RunContext) -> None:
    if context.run_url:
        body += f"\n---\n<sub>Found by [this run]({context.run_url}).</sub>\n"
    issue = open_drift_issue(github, label)
    if issue is None:
        answer = github.send("POST", "issues", {"title": TITLE, "body": body, "labels": [label]})
        print(printable(f"Opened {answer.get('html_url', 'an issue')} about the drift"), file=sys.stderr)
    else:
        github.send("PATCH", f"issues/{issue['number']}", {"body": body})
        print(printable(f"Updated {issue.get('html_url', 'the drift issue')}"), file=sys.stderr)


def _close(github: GitHub, label: str, context: RunContext) -> None:
    issue = open_drift_issue(github, label)
    if issue is None:
        return
    where = f" ([run]({context.run_url}))" if context.run_url else ""
    github.send(
        "POST",
        f"issues/{issue['number']}/comments",
        {"body": f"The console matches desired state again{where}."},
    )
    github.send("PATCH", f"issues/{issue['number']}", {"state": "closed"})
    print(printable(f"Closed {issue.get('html_url', 'the drift issue')}: no drift any more"), file=sys.stderr)
