"""A value of megabytes from a pull request or a console is shown by its start and its length.

Text, Markdown and GitHub outputs show at most 200 characters of one value, then how many more
it has; the JSON outputs are for programs and keep every value whole.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, RunCli

LONG_NAME = "a" * 2_000_000
LONG_ID = "SUB-" + "9" * 200_000


def _estate(tmp_path: Path, old: str, new: str, file: str) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    path = tmp_path / "desired-state" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_site_name_of_two_megabytes_is_one_short_diagnostic(run_cli: RunCli, tmp_path: Path) -> None:
    _estate(tmp_path, "name: acme-align ", f"name: {LONG_NAME} ", "sites.yaml")
    # The quote that opens the value is one of the 200 characters shown.
    shown = "'" + "a" * 199 + "… (1,999,802 more characters)"
    message = f"site name {shown} is 2000000 characters long: at most 63 are allowed"
    text = run_cli("validate")
    assert (text.returncode, text.stdout) == (
        1,
        f"desired-state/sites.yaml:8:11: error[site-name]: {message}\n"
        "  hint: pick a shorter name\n"
        "1 error in 1 file\n",
    )
    github = run_cli("validate", "--format", "github")
    assert (github.returncode, github.stdout) == (
        1,
        f"::error file=desired-state/sites.yaml,line=8,col=11::[site-name] {message}"
        "%0Ahint: pick a shorter name\n1 error in 1 file\n",
    )
    machine = run_cli("validate", "--format", "json")
    [diagnostic] = json.loads(machine.stdout)["diagnostics"]
    assert (
        diagnostic["message"] == f"site name '{LONG_NAME}' is 2000000 characters long: at most 63 are allowed"
    )


def test_a_subscription_id_of_200000_characters_is_shown_by_its_start(
    run_cli: RunCli, tmp_path: Path
) -> None:
    _estate(tmp_path, "id: SUB-1001 ", f"id: {LONG_ID} ", "acme-corp.yaml")
    shown = LONG_ID[:200] + "… (199,804 more characters)"
    text = run_cli("plan")
    assert text.returncode == 1
    assert len(text.stdout) < 3_000
    # Wrapped at 100 columns as any long word is; the note of how many more stays whole.
    assert text.stdout.partition("\nBlocked:")[2].partition("\n\n")[0].splitlines()[2:] == [
        f"      blocks the provision of every app of {LONG_ID[:57]}",
        f"      {LONG_ID[57:151]}",
        f"      {LONG_ID[151:200]}… (199,804 more characters)",
        f"      subscription {LONG_ID[:81]}",
        f"      {LONG_ID[81:175]}",
        f"      {LONG_ID[175:200]}… (199,804 more characters) does not exist in the console",
    ]
    markdown = run_cli("plan", "--format", "markdown")
    assert markdown.returncode == 1 and len(markdown.stdout) < 4_000
    assert f"`{shown}`" in markdown.stdout and "9" * 201 not in markdown.stdout
    machine = json.loads(run_cli("plan", "--format", "json").stdout)
    assert [entry["subscription"] for entry in machine["blocked"]] == [LONG_ID]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("x" * 200, "x" * 200),
        ("x" * 201, "x" * 200 + "… (1 more characters)"),
        ("site " + "b" * 1_000 + " of org", "site " + "b" * 200 + "… (800 more characters) of org"),
        ("a b " * 1_000, ("a b " * 1_000)[:2_000] + "… (2,000 more characters)"),
        ("x" * 200 + "… (1 more characters) y", "x" * 200 + "… (1 more characters) y"),
        ("x" * 200 + "…" + "y" * 9, "x" * 200 + "… (10 more characters)"),
    ],
    ids=["200", "201", "inside", "spaced", "clipped-already", "ellipsis-inside"],
)
def test_clipped_keeps_200_characters_of_a_value(text: str, shown: str) -> None:
    from reconciler.terminal import clipped

    assert clipped(text) == shown
