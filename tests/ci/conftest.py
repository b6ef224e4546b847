"""A GitHub job on this machine: the real reconciler, the real sandbox, a stand-in `gh` on PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import clean_env

REPOSITORY = "acme/estate"
BOT = "github-actions[bot]"
FAKE_GH = Path(__file__).with_name("fake_gh.py")


@dataclass
class Job:
    """One job's workspace: the estate checkout, GitHub's variables, and the stand-in's state."""

    root: Path
    workspace: Path
    state_dir: Path
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "state.json").read_text(encoding="utf-8"))

    def update_state(self, **changes: Any) -> None:
        state = {**self.state, **changes}
        (self.state_dir / "state.json").write_text(json.dumps(state), encoding="utf-8")

    def calls(self) -> list[list[str]]:
        log = self.state_dir / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line)["args"] for line in log.read_text(encoding="utf-8").splitlines()]

    def event(self, name: str, payload: dict[str, Any], sha: str, run_id: int = 7) -> None:
        (self.root / "event.json").write_text(json.dumps(payload), encoding="utf-8")
        for output in ("summary.md", "output.txt"):
            (self.root / output).write_text("", encoding="utf-8")
        self.settings.update(
            GITHUB_EVENT_NAME=name,
            GITHUB_SHA=sha,
            GITHUB_RUN_ID=str(run_id),
            GITHUB_EVENT_PATH=str(self.root / "event.json"),
        )

    def pull_request_event(self, number: int, head: str, run_id: int = 7) -> None:
        payload = {"number": number, "pull_request": {"number": number, "head": {"sha": head}}}
        self.event("pull_request", payload, sha="f" * 40, run_id=run_id)

    def env(self, **settings: str) -> dict[str, str]:
        github = {
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_ACTIONS": "true",
            "GH_TOKEN": "ghs_standin",
            "FAKE_GH_STATE": str(self.state_dir),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_STEP_SUMMARY": str(self.root / "summary.md"),
            "GITHUB_OUTPUT": str(self.root / "output.txt"),
            "RUNNER_TEMP": str(self.root / "runner-temp"),
        }
        return clean_env(**{**github, **self.settings, **settings})

    def step(self, name: str, timeout: float = 120, **settings: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reconciler.ci", name],
            cwd=self.workspace,
            env=self.env(**settings),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, name: str, **settings: str) -> subprocess.Popen[str]:
        """A step running in the background, as on a second runner."""
        return subprocess.Popen(
            [sys.executable, "-m", "reconciler.ci", name],
            cwd=self.workspace,
            env=self.env(**settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def outputs(self) -> dict[str, str]:
        lines = (self.root / "output.txt").read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines)

    def summary(self) -> str:
        return (self.root / "summary.md").read_text(encoding="utf-8")


@pytest.fixture
def job(tmp_path: Path) -> Job:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_GH}" "$@"\n', encoding="utf-8")
    gh.chmod(0o755)
    state_dir = tmp_path / "github"
    state_dir.mkdir()
    initial = {
        "repository": REPOSITORY,
        "login": BOT,
        "comments": [],
        "issues": [],
        "commit_pulls": {},
        "runs": [],
        "artifacts": {},
    }
    (state_dir / "state.json").write_text(json.dumps(initial), encoding="utf-8")
    workspace = tmp_path / "estate"
    shutil.copytree(REPO_ROOT / "desired-state", workspace / "desired-state")
    return Job(root=tmp_path, workspace=workspace, state_dir=state_dir)
