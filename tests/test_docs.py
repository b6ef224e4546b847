"""The README and docs/ show what the product really prints, from what a fresh clone holds."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import clean_env

DOCS = ["README.md", *sorted(f"docs/{doc.name}" for doc in (REPO_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
#: What a clone holds that the docs' recipes use: the example estate, its facts, the examples.
SHIPPED = ("desired-state", "billing", "examples", "schemas")


def blocks(doc: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block of a document."""
    return FENCE.findall((REPO_ROOT / doc).read_text(encoding="utf-8"))


def session(text: str) -> list[tuple[str, str]]:
    """(command, what it prints) of each `$ ` line of a console block."""
    steps: list[tuple[str, str]] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("$ "):
            steps.append((line[2:].rstrip("\n"), ""))
        elif steps:
            steps[-1] = (steps[-1][0], steps[-1][1] + line)
    return steps


def shown(doc: str, command: str) -> str:
    """What `doc` shows `$ command` printing; the block must be that one command."""
    found = [steps for _, text in blocks(doc) if (steps := session(text)) and steps[0][0] == command]
    assert len(found) == 1, f"{doc} shows '$ {command}' {len(found)} times"
    [[(_, output)]] = found
    return output


def reconciler(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`$ reconciler ARGS...` as a user types it, stdout and stderr as the terminal shows them."""
    words = shlex.split(command)
    assert words[0] == "reconciler", command
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *words[1:]],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )


def fresh_clone(tmp_path: Path) -> Path:
    for name in SHIPPED:
        shutil.copytree(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def validate_command(doc: str, heading: str) -> str:
    """The command of the first console block under `heading`."""
    text = (REPO_ROOT / doc).read_text(encoding="utf-8")
    _, found, section = text.partition(f"\n{heading}\n")
    assert found, heading
    [(command, _), *_] = session(FENCE.findall(section)[0][1])
    return command


def test_the_readme_validate_example_is_what_validate_prints_in_the_repository() -> None:
    command = validate_command("README.md", "### Validate")
    assert command.startswith("reconciler validate ")
    result = reconciler(command, REPO_ROOT)
    assert result.returncode == 1
    assert result.stdout == shown("README.md", command)


def test_the_readme_first_run_is_what_plan_prints_in_a_fresh_clone(tmp_path: Path) -> None:
    result = reconciler("reconciler plan", fresh_clone(tmp_path))
    assert result.returncode == 0
    assert result.stdout == shown("README.md", "reconciler plan")


def test_the_example_estate_stays_valid_and_plans_green(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path)
    assert reconciler("reconciler validate", clone).stdout == (
        "desired-state: 3 files, 3 sites, 3 subscriptions, valid\n"
    )
    assert reconciler("reconciler plan", clone).returncode == 0


@pytest.mark.parametrize(
    "command",
    [
        "reconciler validate",
        "reconciler validate desired-state examples/broken.yaml",
        "reconciler validate --format github desired-state examples/broken.yaml",
    ],
)
def test_the_validate_outputs_in_the_desired_state_doc_are_real(command: str) -> None:
    assert reconciler(command, REPO_ROOT).stdout == shown("docs/desired-state.md", command)


def test_the_json_validate_output_in_the_desired_state_doc_is_real() -> None:
    [json_block] = [text for lang, text in blocks("docs/desired-state.md") if '"valid": false' in text]
    head, elided, tail = json_block.partition("    ...\n")
    assert elided
    printed = reconciler(
        "reconciler validate --format json desired-state examples/broken.yaml", REPO_ROOT
    ).stdout
    assert printed.startswith(head)
    assert printed.endswith(tail)
