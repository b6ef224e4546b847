"""Apply by runbook: in CI it writes the runbook and exits 3; on a terminal it walks each step while a
stand-in person performs it through the sandbox console, as a billing admin would in admin.atlassian.com."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from reconciler.sandbox import SandboxConsole
from tests.atlassian.conftest import ALICE, atlassian_env
from tests.conftest import RunCli
from tests.helpers import clean_env
from tests.http.conftest import Served, sandbox_db

APPLY = [sys.executable, "-m", "reconciler", "apply", "--auto-approve"]


def test_without_a_person_apply_writes_the_runbook_and_waits(estate: Path, stand_in: Served) -> None:
    env = clean_env(**atlassian_env(stand_in.url))
    result = subprocess.run(APPLY, cwd=estate, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    runbook = (estate / ".reconciler" / "runbook.md").read_text()
    assert runbook.startswith(
        "<!-- reconciler-runbook -->\n## reconciler runbook: 3 steps in admin.atlassian.com\n"
    )
    assert runbook in result.stdout
    assert result.stderr.splitlines()[-1] == (
        "waiting on a person: 3 steps to take in admin.atlassian.com; the runbook is in "
        ".reconciler/runbook.md. Run apply again on a terminal to walk it, "
        "or follow it and run apply again to verify."
    )
    history = subprocess.run(
        [sys.executable, "-m", "reconciler", "history", "--format", "json"],
        cwd=estate, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert json.loads(history.stdout)["runs"][0]["outcome"] == "waiting"
    with SandboxConsole(sandbox_db(estate)) as console:
        assert console.write_count() == 0, "nothing was changed"


class Person:
    """Reads each step on the terminal and does what it says, in the console itself."""

    SUBSCRIPTION = re.compile(r"then .*\((SUB-\d+)\)\.")
    APP = re.compile(r'select (Jira Align|Focus|Talent): it shows "Set up required"')
    ORG = re.compile(r"Select the organization .*\(([a-z0-9-]+)\)\.")
    NEW_SITE = re.compile(r"enter (\S+) in the Your site text box")
    SITE = re.compile(r"Add to an existing site and select the site (\S+) \(")
    APPS: ClassVar[dict[str, str]] = {"Jira Align": "jira-align", "Focus": "focus", "Talent": "talent"}

    def __init__(self, console: SandboxConsole) -> None:
        self.console = console
        self.done: list[str] = []

    def perform(self, step: str) -> None:
        sub = self._find(self.SUBSCRIPTION, step)
        app = self.APPS[self._find(self.APP, step)]
        new_site = self.NEW_SITE.search(step)
        if new_site:
            site = new_site.group(1)
            made = self.console.create_site(
                ALICE, self._find(self.ORG, step), site, key=f"person:site:{site}"
            )
            while not self.console.operation(made.id, ALICE).done:  # the console takes a moment
                time.sleep(0.05)
        else:
            site = self._find(self.SITE, step)
        self.console.provision(ALICE, sub, app, site, key=f"person:{sub}:{app}")
        self.done.append(f"{sub} {app} -> {site}")

    @staticmethod
    def _find(pattern: re.Pattern[str], text: str) -> str:
        found = pattern.search(text)
        assert found is not None, f"{pattern.pattern!r} not in the step:\n{text}"
        return found.group(1)


def test_on_a_terminal_apply_waits_for_each_step_and_verifies_it(estate: Path, stand_in: Served) -> None:
    env = clean_env(
        **atlassian_env(stand_in.url),
        RECONCILER_POLL_INTERVAL="0.2",
        RECONCILER_STEP_TIMEOUT="60",
        RECONCILER_SANDBOX_DELAY="0",
        TERM="dumb",
    )
    master, slave = pty.openpty()
    process = subprocess.Popen(APPLY, cwd=estate, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    shown = ""
    performed = 0
    person = Person(SandboxConsole(sandbox_db(estate)))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536).decode(errors="replace")
                except OSError:
                    break  # the process closed the terminal
                shown += chunk.replace("\r\n", "\n")
            steps = re.findall(r"(Step \d of 3: .*?Done when: [^\n]*)", shown, re.S)
            if len(steps) > performed:
                # Apply shows the next step only once it observed the last one done.
                assert len(steps) == performed + 1
                person.perform(steps[performed])
                performed += 1
            if process.poll() is not None and not ready:
                break
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
        person.console.close()
    assert code == 0, shown
    assert person.done == [
        "SUB-1001 jira-align -> acme-align",
        "SUB-1001 focus -> acme",
        "SUB-1001 talent -> acme",
    ]
    assert shown.count("confirmed by alice@acme.example") == 3
    assert "Verified: re-planning finds every change done." in shown
    run_id = re.search(r"Run (\S+): 'reconciler history", shown)
    assert run_id is not None
    history = subprocess.run(
        [sys.executable, "-m", "reconciler", "history", "--run", run_id.group(1), "--format", "json"],
        cwd=estate, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    attempts = json.loads(history.stdout)["attempts"]
    assert [(a["change"], a["outcome"], a["operation"]) for a in attempts] == [
        ("create-site:acme-align", "succeeded", "runbook step 1, confirmed by alice@acme.example"),
        ("provision:SUB-1001:jira-align", "succeeded", "runbook step 1, confirmed by alice@acme.example"),
        ("provision:SUB-1001:focus", "succeeded", "runbook step 2, confirmed by alice@acme.example"),
        ("provision:SUB-1001:talent", "succeeded", "runbook step 3, confirmed by alice@acme.example"),
    ]
    assert json.loads(history.stdout)["run"]["outcome"] == "converged"
    again = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--detailed-exitcode"],
        cwd=estate, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout


def test_a_runbook_path_that_cannot_be_written_is_one_error_before_the_plan(
    estate: Path, stand_in: Served
) -> None:
    (estate / "notes.txt").write_text("notes\n", encoding="utf-8")
    env = clean_env(**atlassian_env(stand_in.url), RECONCILER_RUNBOOK="notes.txt/\x1b[2Jrunbook.md")
    result = subprocess.run(APPLY, cwd=estate, env=env, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the runbook (RECONCILER_RUNBOOK) notes.txt/\\x1b[2Jrunbook.md cannot be written: "
        "notes.txt is not a directory\n"
        "hint: set RECONCILER_RUNBOOK to a file in a directory you can write to\n"
    )


def test_the_runbook_path_is_shown_escaped(estate: Path, stand_in: Served) -> None:
    env = clean_env(**atlassian_env(stand_in.url), RECONCILER_RUNBOOK="run\x1b[1m\nbook.md")
    result = subprocess.run(APPLY, cwd=estate, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert (estate / "run\x1b[1m\nbook.md").is_file()
    assert "the runbook is in run\\x1b[1m\\nbook.md. Run apply again" in result.stderr.splitlines()[-1]


def test_a_runbook_of_blocked_entries_does_not_say_the_console_matches(
    run_cli: RunCli, tmp_path: Path
) -> None:
    import shutil

    from tests.conftest import REPO_ROOT

    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    # partner@globex.example administers none of the example's orgs: every entry is blocked.
    result = run_cli("plan", "--actor", "partner@globex.example", "--format", "runbook", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "blocked: nothing can be applied" in result.stdout
    assert "already matches" not in result.stdout
    assert result.stdout.endswith("No steps until the blocked entries are fixed.\n")
    # Once applied, the same desired state has no steps, and the runbook says the console matches.
    assert run_cli("apply", "--auto-approve", cwd=tmp_path).returncode == 0
    converged = run_cli("plan", "--format", "runbook", cwd=tmp_path)
    assert converged.stdout.endswith("No steps: the console already matches desired state.\n"), (
        converged.stdout
    )


OVERWRITE_HINT = (
    "hint: set RECONCILER_RUNBOOK to another path: the runbook is written only to a new file, "
    "an empty one, or over a runbook written before\n"
)
READ_HINT = (
    "hint: set RECONCILER_RUNBOOK to a path outside the desired state and the billing facts "
    "(the default is .reconciler/runbook.md)\n"
)


def _refused(estate: Path, stand_in: Served, name: str, kind: str) -> None:
    """apply refuses the runbook path before any plan is shown, naming it and what it is."""
    _refusal(estate, stand_in, name, f"it is {kind}", OVERWRITE_HINT)


def _refusal(estate: Path, stand_in: Served, name: str, why: str, hint: str) -> None:
    env = clean_env(**atlassian_env(stand_in.url), RECONCILER_RUNBOOK=name)
    result = subprocess.run(APPLY, cwd=estate, env=env, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert (
        result.stderr
        == f"error: refusing to write the runbook (RECONCILER_RUNBOOK) to {name}: {why}\n" + hint
    )
    with SandboxConsole(sandbox_db(estate)) as console:
        assert console.write_count() == 0, "nothing was changed"


@pytest.mark.parametrize(
    ("name", "make", "kind"),
    [
        ("desired-state/new.yaml", None, "it is in desired-state, where plan reads the desired state"),
        (
            "desired-state/teams/runbook.md",
            None,
            "it is in desired-state, where plan reads the desired state",
        ),
        ("billing/new.yaml", None, "it is in billing, where plan reads the billing facts"),
        ("billing/teams/new.yml", None, "it is in billing, where plan reads the billing facts"),
        ("desired-state", None, "plan reads it as desired state"),
    ],
)
def test_the_runbook_is_never_written_where_plan_reads(
    estate: Path, stand_in: Served, name: str, make: Callable[[Path], None] | None, kind: str
) -> None:
    # A runbook written there would be read as desired state or billing facts by the next plan.
    if make is not None:
        make(estate / name)
    before = sorted(str(p.relative_to(estate)) for p in estate.rglob("*") if ".reconciler" not in p.parts)
    _refusal(estate, stand_in, name, kind, READ_HINT)
    assert (
        sorted(str(p.relative_to(estate)) for p in estate.rglob("*") if ".reconciler" not in p.parts)
        == before
    )


def test_the_runbook_never_replaces_a_desired_state_file(estate: Path, stand_in: Served) -> None:
    sites = estate / "desired-state" / "sites.yaml"
    before = sites.read_bytes()
    _refusal(
        estate, stand_in, "desired-state/sites.yaml",
        "it is in desired-state, where plan reads the desired state", READ_HINT,
    )  # fmt: skip
    assert sites.read_bytes() == before


def test_the_runbook_never_replaces_the_sandbox_console(estate: Path, stand_in: Served) -> None:
    before = sandbox_db(estate).read_bytes()
    _refused(estate, stand_in, ".reconciler/sandbox.db", "an SQLite database, not a runbook")
    assert sandbox_db(estate).read_bytes() == before


def test_the_runbook_is_never_written_through_a_symbolic_link(estate: Path, stand_in: Served) -> None:
    notes = estate / "notes.md"
    notes.write_text("notes\n", encoding="utf-8")
    (estate / "runbook.md").symlink_to(notes)
    _refused(estate, stand_in, "runbook.md", "a symbolic link (a runbook is never written through one)")
    assert notes.read_text(encoding="utf-8") == "notes\n"


def test_the_runbook_path_is_not_a_directory(estate: Path, stand_in: Served) -> None:
    (estate / "runbooks").mkdir()
    _refused(estate, stand_in, "runbooks", "a directory")


def test_the_runbook_is_never_written_into_a_fifo(estate: Path, stand_in: Served) -> None:
    os.mkfifo(estate / "runbook.fifo")
    _refused(estate, stand_in, "runbook.fifo", "a FIFO (a named pipe), not a regular file")


def _written(estate: Path, stand_in: Served, name: str) -> str:
    env = clean_env(**atlassian_env(stand_in.url), RECONCILER_RUNBOOK=name)
    result = subprocess.run(APPLY, cwd=estate, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    return (estate / name).read_text(encoding="utf-8")


def test_the_runbook_may_be_written_to_an_empty_file(estate: Path, stand_in: Served) -> None:
    (estate / "runbook.md").touch()
    assert _written(estate, stand_in, "runbook.md").startswith("<!-- reconciler-runbook -->\n")


def test_the_runbook_replaces_a_runbook_written_before(estate: Path, stand_in: Served) -> None:
    (estate / "runbook.md").write_text(
        "<!-- reconciler-runbook -->\n## an earlier runbook\n", encoding="utf-8"
    )
    runbook = _written(estate, stand_in, "runbook.md")
    assert "an earlier runbook" not in runbook
    assert runbook.startswith("<!-- reconciler-runbook -->\n## reconciler runbook: 3 steps")


def test_the_runbook_may_be_written_to_a_new_file(estate: Path, stand_in: Served) -> None:
    assert _written(estate, stand_in, "new/runbook.md").startswith("<!-- reconciler-runbook -->\n")
