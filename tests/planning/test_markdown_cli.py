"""The Markdown plan through the real CLI: links to the code in CI, hostile names, a big estate.

Golden comments live in tests/golden/markdown/<case>/expected.md (`pytest --update-golden`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.conftest import REPO_ROOT, RunCli
from tests.helpers import assert_golden

GOLDEN = REPO_ROOT / "tests" / "golden" / "markdown"
PLAN_CASES = REPO_ROOT / "tests" / "golden" / "plan"
HEAD = "0123456789abcdef0123456789abcdef01234567"
MERGE = "fedcba9876543210fedcba9876543210fedcba98"
GITHUB = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/estate",
    "GITHUB_SHA": MERGE,
}


def seeded(run_cli: RunCli, workdir: Path, case: str = "premium-site") -> None:
    shutil.copytree(PLAN_CASES / case / "desired", workdir / "desired-state")
    init = run_cli("sandbox", "init", "--from", str(PLAN_CASES / case / "console.yaml"))
    assert init.returncode == 0, init.stderr


def markdown(run_cli: RunCli, env: dict[str, str] | None = None, *paths: str) -> str:
    planned = run_cli("plan", *paths, "--format", "markdown", env=env)
    assert planned.returncode in (0, 1), planned.stderr
    return planned.stdout


def test_on_a_pull_request_locations_link_to_the_head_commit(
    run_cli: RunCli, tmp_path: Path, update_golden: bool
) -> None:
    seeded(run_cli, tmp_path)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": HEAD}}}), encoding="utf-8")
    text = markdown(run_cli, {**GITHUB, "GITHUB_EVENT_PATH": str(event), "GITHUB_WORKSPACE": str(tmp_path)})
    assert_golden(GOLDEN / "github-pull-request" / "expected.md", text, update_golden)
    assert text.startswith("<!-- reconciler-plan -->\n")
    link = f"[`desired-state/sites.yaml:4:11`](https://github.com/acme/estate/blob/{HEAD}/desired-state/sites.yaml#L4)"
    assert link in text and MERGE not in text


def test_on_a_push_locations_link_to_github_sha(run_cli: RunCli, tmp_path: Path) -> None:
    seeded(run_cli, tmp_path)
    text = markdown(run_cli, GITHUB)
    assert f"(https://github.com/acme/estate/blob/{MERGE}/desired-state/subscriptions.yaml#L6)" in text


def test_on_gitlab_locations_link_to_the_commit(run_cli: RunCli, tmp_path: Path, update_golden: bool) -> None:
    seeded(run_cli, tmp_path)
    env = {"CI_PROJECT_URL": "https://gitlab.example.com/infra/it/estate", "CI_COMMIT_SHA": HEAD}
    text = markdown(run_cli, env)
    assert_golden(GOLDEN / "gitlab" / "expected.md", text, update_golden)
    assert f"(https://gitlab.example.com/infra/it/estate/-/blob/{HEAD}/desired-state/sites.yaml#L4)" in text


@pytest.mark.parametrize(
    "env",
    [
        {**GITHUB, "GITHUB_SERVER_URL": "http://github.com"},
        {**GITHUB, "GITHUB_SERVER_URL": "https://user:secret@github.com"},
        {**GITHUB, "GITHUB_SERVER_URL": "https://github.com/x?y=1"},
        {**GITHUB, "GITHUB_SERVER_URL": "javascript:alert(1)//"},
        {**GITHUB, "GITHUB_REPOSITORY": "acme/estate) [x](https://evil.example"},
        {**GITHUB, "GITHUB_REPOSITORY": "acme"},
        {**GITHUB, "GITHUB_REPOSITORY": "../../evil/x"},
        {**GITHUB, "GITHUB_SHA": "main"},
        {**GITHUB, "GITHUB_SHA": HEAD[:12]},
        {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/estate"},
        {"CI_PROJECT_URL": "https://gitlab.com/a/b", "CI_COMMIT_SHA": "HEAD"},
        {"CI_PROJECT_URL": "https://gitlab.com/a/b#x", "CI_COMMIT_SHA": HEAD},
        {"CI_PROJECT_URL": "ftp://gitlab.com/a/b", "CI_COMMIT_SHA": HEAD},
    ],
)
def test_anything_but_well_formed_values_means_no_link(
    run_cli: RunCli, tmp_path: Path, env: dict[str, str]
) -> None:
    seeded(run_cli, tmp_path)
    assert markdown(run_cli, env) == markdown(run_cli)


def test_a_pull_request_event_without_a_good_head_sha_falls_back_to_github_sha(
    run_cli: RunCli, tmp_path: Path
) -> None:
    seeded(run_cli, tmp_path)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": "not-a-sha"}}}), encoding="utf-8")
    text = markdown(run_cli, {**GITHUB, "GITHUB_EVENT_PATH": str(event)})
    assert f"/blob/{MERGE}/" in text and "not-a-sha" not in text


def test_file_paths_are_quoted_and_only_inside_the_checkout_are_linked(
    run_cli: RunCli, tmp_path: Path
) -> None:
    seeded(run_cli, tmp_path)
    (tmp_path / "desired-state" / "sites.yaml").rename(tmp_path / "desired-state" / "my sites #1 (eu).yaml")
    outside = tmp_path / "outside"
    text = markdown(run_cli, {**GITHUB, "GITHUB_WORKSPACE": str(tmp_path)})
    assert f"/blob/{MERGE}/desired-state/my%20sites%20%231%20%28eu%29.yaml#L4)" in text
    # A checkout elsewhere: these files are not in it, so nothing links.
    outside.mkdir()
    assert "](https://" not in markdown(run_cli, {**GITHUB, "GITHUB_WORKSPACE": str(outside)})


#: Ids are one word (validate refuses white space in them), so the hostile ones hold no space.
HOSTILE_SITES = """\
version: 1
sites:
  - name: ghost
    org: "evil](https://evil.example)@octocat|<b>bold</b>|injected|row|"
"""
HOSTILE_SUBSCRIPTIONS = """\
version: 1
subscriptions:
  - id: "SUB-1@octocat#1<img/src=x/onerror=alert(1)>|x"
    billing_account: "AC-1|injected|row|"
    apps:
      focus: {site: ghost}
  - id: "[click](https://evil.example)www.evil.example`x`*y*"
    status: cancelled
"""


def test_hostile_names_stay_inert_in_the_comment(
    run_cli: RunCli, tmp_path: Path, update_golden: bool
) -> None:
    seeded(run_cli, tmp_path)
    folder = tmp_path / "desired-state"
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "sites @octocat #2 <i>.yaml").write_text(HOSTILE_SITES, encoding="utf-8")
    (folder / "subs.yaml").write_text(HOSTILE_SUBSCRIPTIONS, encoding="utf-8")
    text = markdown(run_cli)
    assert_golden(GOLDEN / "hostile" / "expected.md", text, update_golden)
    table = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(table) == 6 and all(len(re.findall(r"(?<!\\)\|", line)) == 5 for line in table), table
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert html.count("<tr>") == 1 + 8 + 1 + 3 + 1 + 3  # summary, blocked and unmanaged tables
    outside = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    assert not re.search(r"<(a|img|b|i|script)\b|@|#|https?:|www\.", outside), outside


def generated_estate(workdir: Path, subscriptions: int) -> None:
    subprocess.run(
        [
            *(sys.executable, str(REPO_ROOT / "bench" / "generate.py")),
            *(
                "--subscriptions",
                str(subscriptions),
                "--out",
                str(workdir),
                "--pending",
                "0.9",
                "--seed",
                "7",
            ),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_a_big_plan_lists_what_fits_within_60000_characters(
    run_cli: RunCli, tmp_path: Path, update_golden: bool
) -> None:
    generated_estate(tmp_path, 340)
    assert run_cli("sandbox", "init", "--from", "console.yaml").returncode == 0
    planned = run_cli("plan", "--format", "markdown", "--out", "plan.json")
    assert planned.returncode == 0, planned.stderr
    text, plan = planned.stdout, json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    total = plan["summary"]["changes"]
    assert total > 600 and len(text) <= 60_000
    shown = len(re.findall(r"^- (🆕|📦) ", text, flags=re.M))
    deferred = plan["summary"]["deferred"]
    ending = f"**…and {total - shown} more changes and {deferred} deferred subscriptions in the JSON plan.**"
    assert ending in text and shown > 250
    # Those shown are the first in the plan's org and site order, whole entries only.
    lines = text.splitlines()
    assert lines[0] == "<!-- reconciler-plan -->"
    assert lines[-1].startswith("<sub>desired `sha256:") and lines[-3] == f"Checksum: `{plan['checksum']}`"
    assert_golden(GOLDEN / "big" / "head.md", "\n".join(lines[:32]) + "\n", update_golden)
    assert_golden(GOLDEN / "big" / "tail.md", "\n".join(lines[-8:]) + "\n", update_golden)
    again = run_cli("show", "plan.json", "--format", "markdown")
    assert again.stdout == text  # deterministic, and the same from the saved plan
