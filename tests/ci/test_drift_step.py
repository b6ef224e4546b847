"""The scheduled drift check: quiet while the console matches, one issue while it does not."""

from __future__ import annotations

import subprocess
import sys

from tests.ci.conftest import Job
from tests.helpers import clean_env

MARKER = "<!-- reconciler-plan -->"
TITLE = "reconciler: the console drifted from desired state"


def test_drift_fails_the_job_and_keeps_one_issue_until_it_is_gone(job: Job) -> None:
    job.event("schedule", {"schedule": "17 6 * * *"}, sha="e" * 40, run_id=21)
    first = job.step("drift", RECONCILER_CI_DRIFT_ISSUE="true")
    assert first.returncode == 1
    assert first.stderr.endswith(
        "Opened https://github.com/acme/estate/issues/1001 about the drift\n"
        "Drift: the console no longer matches desired state (the plan above undoes it).\n"
    )
    [issue] = job.state["issues"]
    assert issue["title"] == TITLE
    assert issue["labels"] == [{"name": "reconciler-drift"}]
    assert str(issue["body"]).startswith(f"{MARKER}\n## reconciler plan: 4 changes\n")
    assert job.outputs() == {"exit-code": "2", "drifted": "true"}

    job.event("schedule", {"schedule": "17 6 * * *"}, sha="e" * 40, run_id=22)
    second = job.step("drift", RECONCILER_CI_DRIFT_ISSUE="true")
    assert second.returncode == 1
    assert "Updated https://github.com/acme/estate/issues/1001\n" in second.stderr
    assert len(job.state["issues"]) == 1
    assert "actions/runs/22" in str(job.state["issues"][0]["body"])

    # Someone applies what the files say: the next check finds no drift and closes the issue.
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve"],
        cwd=job.workspace,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    job.event("schedule", {"schedule": "17 6 * * *"}, sha="e" * 40, run_id=23)
    quiet = job.step("drift", RECONCILER_CI_DRIFT_ISSUE="true")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.endswith("Closed https://github.com/acme/estate/issues/1001: no drift any more\n")
    assert job.state["issues"][0]["state"] == "closed"
    assert job.summary() == "### reconciler: no drift\n\nThe console matches desired state.\n"


def test_without_the_issue_drift_only_fails_the_job(job: Job) -> None:
    job.event("schedule", {"schedule": "17 6 * * *"}, sha="e" * 40, run_id=21)
    done = job.step("drift")
    assert done.returncode == 1
    assert job.state["issues"] == []
    assert not [args for args in job.calls() if args[0] == "api"]
    assert job.summary().startswith(f"{MARKER}\n## reconciler plan: 4 changes\n")
