"""The `reconciler-validate` hook under real pre-commit, as an estate repository would use it.

pre-commit installs the hook's environment from a git repository of this project with pip; the
repository and PRE_COMMIT_HOME are shared by the session, so that happens once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import clean_env

pytestmark = pytest.mark.slow

BROKEN = """\
version: 1
sites:
  - name: Finance_Site
    org: acme-corp
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=git_env(), check=True
    )
    return done.stdout


def git_env() -> dict[str, str]:
    return clean_env(
        GIT_AUTHOR_NAME="Estate",
        GIT_AUTHOR_EMAIL="estate@acme.example",
        GIT_COMMITTER_NAME="Estate",
        GIT_COMMITTER_EMAIL="estate@acme.example",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This project as a repository of its own, its working tree committed (as a tag would be)."""
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "reconciler")
    return repo


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "estate"
    shutil.copytree(REPO_ROOT / "desired-state", repo / "desired-state")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "estate")
    yield repo


def try_repo(estate: Path, hook_repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**git_env(), "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "reconciler-validate", *args],
        cwd=estate,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_manifest_is_one_pre_commit_accepts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(REPO_ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_hook_passes_a_valid_estate(estate: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    done = try_repo(estate, hook_repo, pre_commit_home, "--all-files")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reconciler validate" in done.stdout
    assert "Passed" in done.stdout


def test_the_hook_fails_a_broken_commit_at_its_line(
    estate: Path, hook_repo: Path, pre_commit_home: Path
) -> None:
    (estate / "desired-state" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    git(estate, "add", "desired-state/broken.yaml")
    done = try_repo(estate, hook_repo, pre_commit_home)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Failed" in done.stdout
    assert (
        "desired-state/broken.yaml:3:11: error[site-name]: invalid site name 'Finance_Site'\n"
        "  hint: use lowercase letters, digits and hyphens, starting and ending with a letter or digit "
        "(e.g. 'finance-site')\n"
        "1 error in 1 file\n"
    ) in done.stdout


def test_a_commit_without_desired_state_does_not_run_the_hook(
    estate: Path, hook_repo: Path, pre_commit_home: Path
) -> None:
    (estate / "README.md").write_text("# our estate\n", encoding="utf-8")
    git(estate, "add", "README.md")
    done = try_repo(estate, hook_repo, pre_commit_home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(no files to check)Skipped" in done.stdout


def test_the_example_config_finds_the_hook_by_repo_and_rev(
    estate: Path, hook_repo: Path, pre_commit_home: Path
) -> None:
    example = (REPO_ROOT / "examples" / "pre-commit-config.yaml").read_text(encoding="utf-8")
    rev = git(hook_repo, "rev-parse", "HEAD").strip()
    config = example.replace("https://github.com/your-org/reconciler", str(hook_repo)).replace("v0.1.0", rev)
    assert config != example
    (estate / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    (estate / "desired-state" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    git(estate, "add", ".pre-commit-config.yaml", "desired-state/broken.yaml")
    env = {**git_env(), "PRE_COMMIT_HOME": str(pre_commit_home), "PRE_COMMIT_COLOR": "never"}
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run"],
        cwd=estate,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "desired-state/broken.yaml:3:11: error[site-name]: invalid site name 'Finance_Site'\n" in done.stdout
    )


SPACED_ID = """\
version: 1
subscriptions:
  - id: "SUB 2001"
"""
SPACED_ID_ERROR = (
    "desired-state/spaced.yaml:3:9: error[id]: invalid id 'SUB 2001': an id has no spaces or line breaks\n"
    "  hint: write the id as the console shows it, e.g. SUB-1001\n"
    "1 error in 1 file\n"
)


def test_an_id_with_a_space_is_refused_alike_by_the_hook_validate_and_plan(
    estate: Path, hook_repo: Path, pre_commit_home: Path
) -> None:
    (estate / "desired-state" / "spaced.yaml").write_text(SPACED_ID, encoding="utf-8")
    git(estate, "add", "desired-state/spaced.yaml")
    hooked = try_repo(estate, hook_repo, pre_commit_home)
    assert hooked.returncode == 1, hooked.stdout + hooked.stderr
    assert SPACED_ID_ERROR in hooked.stdout

    def reconciler(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "reconciler", *args]
        return subprocess.run(
            command, cwd=estate, env=clean_env(), capture_output=True, text=True, timeout=60
        )

    validated = reconciler("validate")
    assert (validated.returncode, validated.stdout) == (1, SPACED_ID_ERROR)
    planned = reconciler("plan")
    assert (planned.returncode, planned.stdout) == (1, "")
    assert planned.stderr == (
        SPACED_ID_ERROR + "error: desired state is invalid: 1 error in 1 file\n"
        "hint: fix the files; `reconciler validate` checks them without contacting the console\n"
    )
    assert not (estate / ".reconciler").exists()  # refused before any console is made or read
