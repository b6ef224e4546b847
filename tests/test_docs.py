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
SHIPPED = ("desired-state", "billing", "examples", "schemas", "reconciler/sandbox/example-console.yaml")


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
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, tmp_path / name)
        else:
            shutil.copy(REPO_ROOT / name, tmp_path / name)
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


# --- every console session the docs show is run, or says why it cannot be ------------------------

#: (document, first command) -> what runs first, unshown (the docs' earlier steps)
RUN: dict[tuple[str, str], tuple[str, ...]] = {
    ("README.md", "reconciler plan"): (),
    ("README.md", "reconciler validate desired-state examples/broken.yaml"): (),
    ("docs/desired-state.md", "reconciler validate"): (),
    ("docs/desired-state.md", "reconciler validate desired-state examples/broken.yaml"): (),
    ("docs/desired-state.md", "reconciler validate --format github desired-state examples/broken.yaml"): (),
    ("docs/plan.md", "reconciler import --out imported"): ("reconciler sandbox init",),
    ("docs/plan.md", "reconciler plan --out billing/accounts.yaml"): (),
    ("docs/sandbox.md", "reconciler sandbox show"): (),
    ("docs/sandbox.md", "cp reconciler/sandbox/example-console.yaml console.yaml"): (),
    ("docs/sandbox.md", "reconciler sandbox init --from examples/broken-console.yaml"): (),
    ("docs/sandbox.md", "echo 'my notes' > notes.txt"): (),
    ("docs/sandbox.md", "reconciler plan --actor mallory@evil.example"): ("reconciler sandbox init",),
    ("docs/sandbox.md", 'sqlite3 .reconciler/sandbox.db "DROP TABLE operations"'): (
        "reconciler sandbox init",
    ),
    (
        "docs/sandbox.md",
        "sqlite3 .reconciler/sandbox.db \"UPDATE subscriptions SET status = 'zombie' WHERE id = 'SUB-1002'\"",
    ): ("reconciler sandbox init",),
    ("docs/http.md", 'sqlite3 .reconciler/sandbox.db "DROP TABLE sites"'): ("reconciler sandbox init",),
}
#: (document, first command) -> why what it prints cannot be compared
NOT_RUN = {
    ("README.md", "reconciler apply --auto-approve"): "a run id and timings of its own",
    ("README.md", "reconciler sandbox advance --days 24"): "a recipe: its output is not shown",
    ("README.md", "reconciler plan --provider acme:prod"): "a third-party provider no clone holds",
    ("README.md", "reconciler plan --provider acme:prod > plan.txt"): "a third-party provider no clone holds",
    ("docs/apply.md", "reconciler history"): "run ids and times of earlier runs",
    ("docs/atlassian.md", "reconciler apply"): "a person acting on a terminal",
    ("docs/http.md", "reconciler sandbox serve --port 8080 &"): "a server left running",
    ("docs/http.md", "reconciler sandbox serve --port 0 --fail-rate 0.25"): "a free port and random faults",
    ("docs/http.md", ".venv/bin/python bench/http_apply.py --runs 5"): "timings",
    ("docs/http.md", "reconciler plan"): "a server over a damaged console, left running",
    ("docs/performance.md", ".venv/bin/python bench/run.py"): "timings",
}


def sessions() -> list[tuple[str, list[tuple[str, str]]]]:
    return [(doc, steps) for doc in DOCS for _, text in blocks(doc) if (steps := session(text))]


def test_every_console_session_of_the_docs_is_run_or_says_why_not() -> None:
    shown = sorted((doc, steps[0][0]) for doc, steps in sessions())
    assert shown == sorted([*RUN, *NOT_RUN])


def in_a_shell(command: str, clone: Path, bin_dir: Path) -> str:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=clone,
        env=clean_env(PATH=f"{bin_dir}:{clean_env()['PATH']}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    return done.stdout


@pytest.mark.parametrize("first", sorted(RUN), ids=" ".join)
def test_each_console_session_prints_what_the_doc_shows(first: tuple[str, str], tmp_path: Path) -> None:
    [steps] = [steps for shown_in, steps in sessions() if (shown_in, steps[0][0]) == first]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "reconciler").write_text(f'#!/bin/sh\nexec {sys.executable} -m reconciler "$@"\n')
    (bin_dir / "reconciler").chmod(0o755)
    clone = fresh_clone(tmp_path / "clone")
    for setup in RUN[first]:
        in_a_shell(setup, clone, bin_dir)
    assert [(step, in_a_shell(step, clone, bin_dir)) for step, _ in steps] == steps


def test_the_python_example_of_the_sandbox_doc_runs(tmp_path: Path) -> None:
    [code] = [text for lang, text in blocks("docs/sandbox.md") if lang == "python"]
    shutil.copy(REPO_ROOT / "reconciler" / "sandbox" / "example-console.yaml", tmp_path / "console.yaml")
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


# --- links and paths --------------------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
#: paths of this repository named in prose and commands
REPO_PATH = re.compile(
    r"(?<![\w./-])((?:schemas|examples|docs|bench|billing|desired-state|reconciler|tests|action|\.ci)/[\w./*-]*"
    r"|action\.yml|\.pre-commit-hooks\.yaml|pyproject\.toml)"
)
#: paths the docs name that a recipe or a tool makes
MADE = {"bench/out", "bench/out/", "bench/out/estate-10000"}


def anchor(heading: str) -> str:
    """GitHub's id of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {anchor(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_resolves(doc: str) -> None:
    source = REPO_ROOT / doc
    broken = []
    for target in LINK.findall(FENCE.sub("", source.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, fragment = target.partition("#")
        path = (source.parent / file).resolve() if file else source
        outside = not path.exists() or REPO_ROOT.resolve() not in (path, *path.parents)
        if outside or (fragment and fragment not in anchors(path)):
            broken.append(target)
    assert broken == []


def commands_and_code_spans(doc: str) -> list[str]:
    text = (REPO_ROOT / doc).read_text(encoding="utf-8")
    spans = re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
    for lang, body in blocks(doc):
        lines = body.splitlines()
        if lang in ("sh", ""):
            spans += [line for line in lines if not line.startswith(("#", "$ "))]
        spans += [line[2:] for line in lines if line.startswith("$ ")]
    return spans


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_of_the_repository_a_doc_names_exists(doc: str) -> None:
    named = {path.rstrip(".") for span in commands_and_code_spans(doc) for path in REPO_PATH.findall(span)}
    missing = sorted(
        path for path in named - MADE if not list(REPO_ROOT.glob(path)) and not (REPO_ROOT / path).exists()
    )
    assert missing == []
