"""`plan`, `show` and `import` as a user runs them: exit codes, saved plans, checksums, errors."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import RunCli
from tests.helpers import assert_golden, clean_env
from tests.planning.test_golden import GOLDEN, seed_case


def plan_json(run_cli: RunCli, *args: str) -> dict[str, object]:
    result = run_cli("plan", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_exit_codes(run_cli: RunCli, tmp_path: Path) -> None:
    seed_case(GOLDEN / "example", run_cli, tmp_path)
    assert run_cli("plan").returncode == 0
    assert run_cli("plan", "--detailed-exitcode").returncode == 2

    shutil.rmtree(tmp_path / "desired-state")
    seed_case(GOLDEN / "no-changes", run_cli, tmp_path)
    assert run_cli("plan", "--detailed-exitcode").returncode == 0

    shutil.rmtree(tmp_path / "desired-state")
    seed_case(GOLDEN / "premium-site", run_cli, tmp_path)  # blocked, with a change beside it
    assert run_cli("plan").returncode == 1
    blocked = run_cli("plan", "--detailed-exitcode")
    assert blocked.returncode == 1
    assert blocked.stderr == "4 blocked: the plan cannot be applied until they are fixed.\n"


def test_a_plan_saved_from_files_outside_the_tree_warns_that_apply_will_refuse_it(
    run_cli: RunCli, tmp_path: Path
) -> None:
    seed_case(GOLDEN / "example", run_cli, tmp_path)
    here = tmp_path / "checkout"
    here.mkdir()
    shutil.copytree(tmp_path / ".reconciler", here / ".reconciler")
    saved = run_cli("plan", "../desired-state", "--out", "c.json", cwd=here)
    assert saved.returncode == 0
    assert saved.stderr.splitlines()[1:] == [
        "warning: the plan reads desired state outside the working directory (../desired-state): "
        "'reconciler apply --plan c.json' refuses to read it from there; give apply the same paths, "
        "or plan from inside the tree"
    ]
    inside = run_cli("plan", "--out", "d.json")  # from inside the tree: no warning
    assert "warning" not in inside.stderr


def test_plan_and_show_print_the_same_plan(run_cli: RunCli, tmp_path: Path) -> None:
    seed_case(GOLDEN / "example", run_cli, tmp_path)
    saved = run_cli("plan", "--format", "json", "--out", "plans/plan.json")
    checksum = json.loads(saved.stdout)["checksum"]
    assert saved.stderr == f"Saved the plan to plans/plan.json (checksum {checksum}).\n"
    assert saved.stdout == (tmp_path / "plans" / "plan.json").read_text(encoding="utf-8")
    assert run_cli("show", "plans/plan.json", "--format", "json").stdout == saved.stdout
    assert run_cli("show", "plans/plan.json").stdout == run_cli("plan").stdout
    assert run_cli("show", "plans/plan.json", "--format", "markdown").stdout == (
        run_cli("plan", "--format", "markdown").stdout
    )


REORDERED = """\
version: 1
sites:
  - {name: labs, org: acme-labs}
  - {name: acme-align, org: acme-corp, create: true}
  - {name: acme, org: acme-corp}
subscriptions:
  - id: SUB-1003
    apps:
      talent: {site: labs}
  - id: SUB-1002
    apps:
      focus: {site: labs}
  - id: SUB-1001
    apps:
      talent: {site: acme}
      focus: {site: acme}
      jira-align: {site: acme-align}
"""


def test_the_checksum_depends_on_the_changes_only(run_cli: RunCli, tmp_path: Path) -> None:
    seed_case(GOLDEN / "example", run_cli, tmp_path)
    first = plan_json(run_cli)

    # The same declarations in one file, in another order and another style, elsewhere.
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "everything.yml").write_text(REORDERED)
    again = plan_json(run_cli, "elsewhere")
    assert again["checksum"] == first["checksum"]
    assert again["desired_digest"] != first["desired_digest"]
    assert again["changes"] != first["changes"]  # the sources differ

    # One change less: another checksum.
    (tmp_path / "elsewhere" / "everything.yml").write_text(
        REORDERED.replace("      talent: {site: acme}\n", "")
    )
    fewer = plan_json(run_cli, "elsewhere")
    assert fewer["checksum"] != first["checksum"]


def test_invalid_desired_state_fails_before_the_console_is_contacted(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "desired-state").mkdir()
    (tmp_path / "desired-state" / "bad.yaml").write_text(
        "version: 1\nsubscriptions:\n  - id: SUB-1\n    colour: red\n"
    )
    result = run_cli("plan")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "desired-state/bad.yaml:4:5: error[unknown-key]" in result.stderr
    assert "error: desired state is invalid" in result.stderr
    assert not (tmp_path / ".reconciler").exists()  # no sandbox was created, nothing was observed


def test_show_refuses_what_is_not_a_plan_it_can_trust(run_cli: RunCli, tmp_path: Path) -> None:
    missing = run_cli("show", "nowhere.json")
    assert (missing.returncode, missing.stderr) == (
        1,
        "error: plan file nowhere.json does not exist\n"
        "hint: make one with: reconciler plan --out nowhere.json\n",
    )
    seed_case(GOLDEN / "example", run_cli, tmp_path)
    run_cli("plan", "--out", "plan.json")
    plan = json.loads((tmp_path / "plan.json").read_text())
    plan["changes"][1]["site"] = "acme-std"
    (tmp_path / "edited.json").write_text(json.dumps(plan))
    edited = run_cli("show", "edited.json")
    assert edited.returncode == 1
    assert edited.stderr.startswith(
        f"error: the changes in edited.json do not match its checksum {plan['checksum']} "
        "(they hash to sha256:"
    )


def test_no_token_reaches_the_plan(run_cli: RunCli, tmp_path: Path) -> None:
    seed_case(GOLDEN / "example", run_cli, tmp_path)
    secret = "tok-3f9a-never-print-me"
    result = run_cli("plan", "--format", "markdown", "--out", "plan.json", env={"RECONCILER_TOKEN": secret})
    assert secret not in result.stdout + result.stderr + (tmp_path / "plan.json").read_text()


def run_on_a_terminal(args: list[str], cwd: Path, **env: str) -> str:
    """Run the CLI with stdout on a pseudo-terminal, as a person at a shell would."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=clean_env(**env),
        stdout=terminal,
        stderr=subprocess.DEVNULL,
    ) as process:
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process is done writing
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    os.close(controller)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(run_cli: RunCli, tmp_path: Path) -> None:
    seed_case(GOLDEN / "example", run_cli, tmp_path)
    assert "\x1b[" not in run_cli("plan").stdout
    assert "\x1b[32m+\x1b[0m create-site acme-align" in run_on_a_terminal(["plan"], tmp_path)
    assert "\x1b[" not in run_on_a_terminal(["plan"], tmp_path, NO_COLOR="1")


# --- import ------------------------------------------------------------------------------------------


def test_import_then_plan_gives_no_changes_on_the_example(run_cli: RunCli, tmp_path: Path) -> None:
    imported = run_cli("import")
    assert imported.returncode == 0, imported.stderr
    assert run_cli("validate").returncode == 0
    plan = run_cli("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout
    assert plan.stdout.endswith("No changes. The console matches desired state (1 deferred).\n")


def test_import_a_richer_estate(run_cli: RunCli, tmp_path: Path, update_golden: bool) -> None:
    case = GOLDEN / "import-rich"
    assert run_cli("sandbox", "init", "--from", str(case / "console.yaml")).returncode == 0
    imported = run_cli("import", "--out", "adopted")
    assert imported.returncode == 0, imported.stderr
    assert_golden(case / "expected-output.txt", imported.stdout, update_golden)
    for written in sorted((tmp_path / "adopted").iterdir()):
        assert_golden(case / "expected" / written.name, written.read_text(encoding="utf-8"), update_golden)
    assert sorted(p.name for p in (tmp_path / "adopted").iterdir()) == sorted(
        p.name for p in (case / "expected").iterdir()
    )
    assert run_cli("validate", "adopted").returncode == 0
    plan = plan_json(run_cli, "adopted")
    assert (plan["changes"], plan["blocked"], plan["unmanaged"]) == ([], [], [])
    assert [d["subscription"] for d in plan["deferred"]] == ["SUB-UP"]  # type: ignore[index]


def test_import_never_overwrites_desired_state(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "desired-state" / "team").mkdir(parents=True)
    (tmp_path / "desired-state" / "team" / "ours.yml").write_text("version: 1\n")
    result = run_cli("import")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: desired-state already holds YAML files (desired-state/team/ours.yml); "
        "import never overwrites desired state\n"
        "hint: import into an empty directory, e.g. --out imported, and compare\n"
    )
    assert not (tmp_path / ".reconciler").exists()


def test_import_suggests_a_directory_other_than_the_one_given(run_cli: RunCli, tmp_path: Path) -> None:
    for taken in ("imported", "imported-2"):
        (tmp_path / "estate" / taken).mkdir(parents=True)
        (tmp_path / "estate" / taken / "sites.yaml").write_text("version: 1\n")
    result = run_cli("import", "--out", "estate/imported")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: estate/imported already holds YAML files (estate/imported/sites.yaml); "
        "import never overwrites desired state\n"
        "hint: import into an empty directory, e.g. --out estate/imported-3, and compare\n"
    )
