"""The billing facts as `reconciler plan` finds and checks them, against the stand-in of the Admin API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.atlassian.conftest import atlassian_env
from tests.helpers import clean_env
from tests.http.conftest import Served

DECLARED = (
    "declared: 4 subscriptions, 2 billing accounts, the people of 2 organizations, 4 Jira editions "
    "(billing/accounts.yaml, billing/subscriptions.yaml)"
)


def plan(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", *args],
        cwd=cwd,
        env=clean_env(**atlassian_env(url)),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_files_of_desired_state_find_the_facts_beside_their_folder(estate: Path, stand_in: Served) -> None:
    files = ["desired-state/acme-corp.yaml", "desired-state/acme-labs.yaml", "desired-state/sites.yaml"]
    by_files = plan(estate, stand_in.url, *files, "--format", "json")
    by_folder = plan(estate, stand_in.url, "desired-state", "--format", "json")
    assert by_files.returncode == by_folder.returncode == 0, by_files.stderr
    assert json.loads(by_files.stdout)["provenance"][1] == DECLARED
    assert json.loads(by_files.stdout)["checksum"] == json.loads(by_folder.stdout)["checksum"]


def test_from_inside_desired_state_the_facts_are_beside_it(estate: Path, stand_in: Served) -> None:
    done = plan(estate / "desired-state", stand_in.url, ".", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["provenance"][1] == DECLARED.replace("billing/", "../billing/")


def test_every_problem_of_the_facts_is_shown_in_one_run(estate: Path, stand_in: Served) -> None:
    accounts = estate / "billing" / "accounts.yaml"
    accounts.write_text(accounts.read_text().replace("jira: premium", "jira: ultra", 1))
    subscriptions = estate / "billing" / "subscriptions.yaml"
    text = subscriptions.read_text()
    subscriptions.write_text(text.replace("term_end: 2027-09-30", "term_end: 2027-02-30", 1))
    done = plan(estate, stand_in.url)
    assert done.returncode == 1
    assert done.stderr == (
        "error: the billing facts in billing are not valid:\n"
        "billing/accounts.yaml:23:11: error[schema]: expected one of free, standard, premium, enterprise, "
        "got the string 'ultra'\n"
        "billing/subscriptions.yaml:11:15: error[date]: 2027-02-30 is not a calendar date\n"
        "  hint: write dates as YYYY-MM-DD\n"
        "hint: fix them where shown (their format: schemas/billing-facts.schema.json, docs/atlassian.md)\n"
    )
