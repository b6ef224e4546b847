"""The CLI explains itself: every option has help, every command lists the exit codes it really
returns, and a real run of each command exits with a code its --help lists."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from reconciler.cli import cli
from tests.atlassian.conftest import atlassian_env
from tests.conftest import REPO_ROOT, RunCli
from tests.helpers import clean_env
from tests.http.conftest import TOKEN, start_server
from tests.http.test_signals import SilentConsole, finish, start

CODE_LINE = re.compile(r" {4}(\d+) +(\S.*)")
MORE_LINE = re.compile(r" {9}(\S.*)")


def commands(group: click.Group = cli, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    """Every command and group under `group`, named as a user types it (`sandbox serve`)."""
    for name, command in sorted(group.commands.items()):
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")


LEAVES = sorted(name for name, command in commands() if not isinstance(command, click.Group))


def help_of(name: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *name.split(), "--help"],
        cwd=REPO_ROOT,
        env=clean_env(COLUMNS="80"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def exit_codes_in(help_text: str) -> list[tuple[int, str]]:
    """The `Exit codes:` section of a --help, as (code, meaning) with wrapped meanings joined."""
    _, found, section = help_text.partition("\n  Exit codes:\n")
    assert found, "no 'Exit codes:' section"
    codes: list[tuple[int, str]] = []
    for line in section.splitlines():
        if code := CODE_LINE.fullmatch(line):
            codes.append((int(code[1]), code[2]))
        elif (more := MORE_LINE.fullmatch(line)) and codes:
            codes[-1] = (codes[-1][0], f"{codes[-1][1]} {more[1]}")
        else:
            break
    return codes


@pytest.fixture(scope="module")
def listed() -> dict[str, list[tuple[int, str]]]:
    """What each command's --help says it exits with."""
    return {name: exit_codes_in(help_of(name)) for name in LEAVES}


def test_every_option_and_every_command_has_help() -> None:
    missing = [
        f"{name} {'/'.join(param.opts)}"
        for name, command in [("reconciler", cli), *commands()]
        for param in command.params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    silent = [name for name, command in commands() if not (command.help or "").strip()]
    assert (missing, silent) == ([], [])


@pytest.mark.parametrize("name", LEAVES)
def test_every_command_lists_its_exit_codes_in_80_columns(
    name: str, listed: dict[str, list[tuple[int, str]]]
) -> None:
    codes = [code for code, _ in listed[name]]
    assert codes == sorted(set(codes)), "each code once, in order"
    assert codes[0] == 0
    assert all(len(line) <= 80 for line in help_of(name).splitlines())


def test_the_top_level_help_says_where_the_exit_codes_are() -> None:
    assert help_of("").endswith(
        "\n  Every command exits 0 when it succeeds and 1 on an error, a usage error too;\n"
        "  'reconciler COMMAND --help' lists the exit codes of each.\n"
    )


def test_the_plan_help_says_what_detailed_exitcode_counts(listed: dict[str, list[tuple[int, str]]]) -> None:
    assert listed["plan"] == [
        (
            0,
            "no change is blocked; with --detailed-exitcode: no changes (work still in progress "
            "on the console is not a change)",
        ),
        (1, "an error (e.g. the console cannot be reached), or a change is blocked"),
        (2, "with --detailed-exitcode: there are changes to make"),
        (130, "interrupted (Ctrl-C or SIGTERM)"),
    ]


# --- real runs: each exits with a code its command's --help lists ---------------------------------


@dataclass(frozen=True)
class Case:
    command: str
    args: tuple[str, ...]
    code: int
    setup: Callable[[Path, RunCli], None] | None = None
    env: tuple[tuple[str, str], ...] = ()


def example_estate(home: Path, run_cli: RunCli) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", home / "desired-state")


def applied_estate(home: Path, run_cli: RunCli) -> None:
    example_estate(home, run_cli)
    assert run_cli("apply", "--auto-approve", env={"RECONCILER_SANDBOX_DELAY": "0"}).returncode == 0


def blocked_estate(home: Path, run_cli: RunCli) -> None:
    (home / "desired-state").mkdir()
    (home / "desired-state" / "a.yaml").write_text(
        "version: 1\nsubscriptions:\n  - id: SUB-9999\n    apps: {focus: {site: acme}}\n"
    )


def saved_plan(home: Path, run_cli: RunCli) -> None:
    example_estate(home, run_cli)
    assert run_cli("plan", "--out", "plan.json").returncode == 0


CASES = [
    Case("validate", ("validate",), 0, example_estate),
    Case("validate", ("validate", "nowhere"), 1),
    Case("plan", ("plan", "--detailed-exitcode"), 2, example_estate),
    Case("plan", ("plan", "--detailed-exitcode"), 0, applied_estate),
    Case("plan", ("plan",), 0, example_estate),
    Case("plan", ("plan", "--detailed-exitcode"), 1, blocked_estate),
    Case("apply", ("apply", "--auto-approve"), 0, example_estate, (("RECONCILER_SANDBOX_DELAY", "0"),)),
    Case("apply", ("apply",), 1, example_estate),
    Case("show", ("show", "plan.json"), 0, saved_plan),
    Case("show", ("show", "missing.json"), 1),
    Case("import", ("import", "--out", "imported"), 0),
    Case("import", ("import", "--provider", "http://127.0.0.1:1"), 1, env=(("RECONCILER_TOKEN", TOKEN),)),
    Case("history", ("history",), 0, applied_estate),
    Case("history", ("history", "--run", "20260101-000000-000000"), 1, applied_estate),
    Case("locks", ("locks",), 0),
    Case("unlock", ("unlock", "no-such-lock"), 1),
    Case("schema", ("schema",), 0),
    Case("sandbox init", ("sandbox", "init"), 0),
    Case("sandbox init", ("sandbox", "init", "--from", "missing.yaml"), 1),
    Case("sandbox show", ("sandbox", "show"), 0),
    Case("sandbox show", ("sandbox", "show", "--provider", "http://127.0.0.1:1"), 1),
    Case("sandbox advance", ("sandbox", "advance", "--days", "1"), 0),
    Case("sandbox advance", ("sandbox", "advance", "--days", "1", "--provider", "https://x.example"), 1),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{' '.join(case.args)}->{case.code}")
def test_a_real_run_exits_with_a_code_its_help_lists(
    case: Case, run_cli: RunCli, tmp_path: Path, listed: dict[str, list[tuple[int, str]]]
) -> None:
    if case.setup is not None:
        case.setup(tmp_path, run_cli)
    result = run_cli(*case.args, env=dict(case.env))
    assert result.returncode == case.code, result.stderr
    assert case.code in [code for code, _ in listed[case.command]]


def test_every_command_is_run_by_some_case() -> None:
    assert sorted({case.command for case in CASES} | {"sandbox serve"}) == LEAVES


def test_serve_on_a_busy_port_exits_1(run_cli: RunCli, listed: dict[str, list[tuple[int, str]]]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        result = run_cli("sandbox", "serve", "--port", str(busy.getsockname()[1]), timeout=30)
    assert result.returncode == 1
    assert 1 in dict(listed["sandbox serve"])


def test_serve_stopped_by_sigterm_exits_0(tmp_path: Path, listed: dict[str, list[tuple[int, str]]]) -> None:
    served = start_server(tmp_path)
    assert served.stop(signal.SIGTERM) == 0
    assert 0 in dict(listed["sandbox serve"])


def test_plan_stopped_by_sigterm_exits_130(tmp_path: Path, listed: dict[str, list[tuple[int, str]]]) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    silent = SilentConsole()
    try:
        planning = start(tmp_path, silent, "plan")
        # The console has the request: plan is waiting on its answer.
        assert silent.requests.acquire(timeout=30)
        planning.send_signal(signal.SIGTERM)
        code, stderr = finish(planning)
    finally:
        silent.close()
    assert (code, stderr) == (130, "interrupted\n")
    assert 130 in dict(listed["plan"])


def test_apply_waiting_on_a_person_exits_3(tmp_path: Path, listed: dict[str, list[tuple[int, str]]]) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    shutil.copytree(REPO_ROOT / "billing", tmp_path / "billing")
    subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "init"],
        cwd=tmp_path, env=clean_env(), capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    stand_in = start_server(tmp_path, "--api", "atlassian")
    try:
        applied = subprocess.run(
            [sys.executable, "-m", "reconciler", "apply", "--auto-approve"],
            cwd=tmp_path, env=clean_env(**atlassian_env(stand_in.url)), capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
    finally:
        assert stand_in.stop() == 0
    assert applied.returncode == 3, applied.stderr
    assert 3 in dict(listed["apply"])


# --- the README's table of commands says what --help says ------------------------------------------

CODE_IN_PROSE = re.compile(r"(?<![\w,-])\d+(?!\w|,\d)")
COMMAND_IN_CELL = re.compile(r"`reconciler ([^`]+)`")


def readme_rows() -> list[tuple[list[str], list[int]]]:
    """(commands, exit codes) of each row of the README's "Commands and exit codes" table."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    _, found, section = text.partition("\n## Commands and exit codes\n")
    assert found
    table = section.lstrip("\n").split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        synopsis, codes = re.split(r"(?<!\\)\|", line)[1:3]
        named = [command_named(words.split()) for words in COMMAND_IN_CELL.findall(synopsis)]
        rows.append((named, sorted({int(code) for code in CODE_IN_PROSE.findall(codes)})))
    return rows


def command_named(words: list[str]) -> str:
    """`sandbox init` of `reconciler sandbox init [--from FILE]`, `plan` of `reconciler plan [PATHS]...`."""
    two = " ".join(words[:2])
    return two if two in LEAVES else words[0]


def test_the_readme_has_one_row_for_every_command() -> None:
    named = sorted(name for names, _ in readme_rows() for name in names)
    assert named == LEAVES


@pytest.mark.parametrize("row", readme_rows(), ids=lambda row: ", ".join(row[0]))
def test_each_readme_row_lists_the_exit_codes_of_its_commands(
    row: tuple[list[str], list[int]], listed: dict[str, list[tuple[int, str]]]
) -> None:
    names, codes = row
    assert {name: codes for name in names} == {name: [code for code, _ in listed[name]] for name in names}
