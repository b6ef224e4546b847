"""The command line itself: where global options go, and what a usage error exits with."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from reconciler.cli import cli
from tests.conftest import RunCli


@pytest.fixture
def two_consoles(run_cli: RunCli, tmp_path: Path) -> None:
    for name in ("one.db", "two.db"):
        assert run_cli("--provider", f"sandbox:{name}", "sandbox", "init").returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--provider", "sandbox:two.db", "sandbox", "show"],
        ["sandbox", "--provider", "sandbox:two.db", "show"],
        ["sandbox", "show", "--provider", "sandbox:two.db"],
        ["--provider", "sandbox:one.db", "sandbox", "--provider", "sandbox:two.db", "show"],
        ["sandbox", "--provider", "sandbox:one.db", "show", "--provider", "sandbox:two.db"],
    ],
    ids=["before-the-group", "between", "after-the-command", "between-wins", "last-wins"],
)
def test_a_global_option_is_accepted_wherever_it_is_written(
    run_cli: RunCli, two_consoles: None, args: list[str]
) -> None:
    result = run_cli(*args, env={"RECONCILER_PROVIDER": "sandbox:one.db"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Sandbox console sandbox:two.db"


def test_the_environment_gives_the_default_and_a_flag_overrides_it(
    run_cli: RunCli, two_consoles: None
) -> None:
    env = {"RECONCILER_PROVIDER": "sandbox:two.db"}
    assert run_cli("sandbox", "show", env=env).stdout.startswith("Sandbox console sandbox:two.db\n")
    overridden = run_cli("sandbox", "show", "--provider", "sandbox:one.db", env=env)
    assert overridden.stdout.startswith("Sandbox console sandbox:one.db\n")


def test_a_usage_error_exits_1_never_2(run_cli: RunCli) -> None:
    # 2 means "changes" to a pipeline running plan --detailed-exitcode: a typo must not look like it.
    result = run_cli("plan", "--detailed-exitcode", "--no-such-flag")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.endswith("Error: No such option '--no-such-flag'.\n")


def test_the_clock_moves_at_most_a_century_at_once(run_cli: RunCli) -> None:
    result = run_cli("sandbox", "advance", "--days", "3000000")
    assert result.returncode == 1
    assert result.stderr.endswith(
        "Error: Invalid value for '--days': '3000000' is not a whole number of days from 0 to 36500, "
        "e.g. --days 30.\n"
    )


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert (result.returncode, result.stdout) == (0, "reconciler, version 0.1.0\n")


def every_command() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            found |= {f"{name} {sub}": subcommand for sub, subcommand in command.commands.items()}
        else:
            found[name] = command
    return found


@pytest.mark.parametrize("name", sorted(every_command()))
def test_every_command_takes_the_global_options_after_its_name(name: str) -> None:
    assert {"provider", "actor", "state"} <= {param.name for param in every_command()[name].params}


def test_commands_that_need_no_console_accept_the_global_options_and_run(
    run_cli: RunCli, tmp_path: Path
) -> None:
    flags = ["--provider", "sandbox:unused.db", "--actor", "x@example.com", "--state", "sqlite:unused.db"]
    (tmp_path / "desired-state").mkdir()
    (tmp_path / "desired-state" / "a.yaml").write_text("version: 1\n")
    assert run_cli("validate", *flags).returncode == 0
    assert run_cli("schema", *flags).stdout.startswith("{")
    assert run_cli("plan", "--out", "plan.json").returncode == 0
    assert run_cli("show", "plan.json", *flags).returncode == 0
    assert not (tmp_path / "unused.db").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize(
    "args",
    [("plan", "desired-state"), ("validate", "desired-state"), ("plan", "--format", "json", "desired-state"),
     ("apply", "--auto-approve", "desired-state"), ("sandbox", "show"), ("history",)],
    ids=["plan", "validate", "plan-json", "apply", "sandbox-show", "history"],
)  # fmt: skip
def test_output_to_a_full_disk_is_one_error_not_a_crash(tmp_path: Path, args: tuple[str, ...]) -> None:
    """`> /dev/full` (a full disk): one error and a hint, no crash report blaming reconciler."""
    import shutil
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT
    from tests.helpers import clean_env

    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "reconciler", *args], cwd=tmp_path, env=clean_env(), stdout=full,
            stderr=subprocess.PIPE, text=True, timeout=120, check=False,
        )  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if not line.startswith("Created the sandbox")]
    assert result.returncode == 1
    assert lines[0] == "error: cannot write the output: No space left on device", result.stderr
    assert lines[1].startswith("hint: ") and len(lines) == 2
    assert not (tmp_path / ".reconciler" / "logs").exists()
