"""A reader that goes away (`| head`, a CI step that stops reading) changes no exit code and stops
nothing: the command finishes as it would have, the rest of its output sent nowhere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.apply.conftest import Estate
from tests.helpers import clean_env

BROKEN = "sites: [\n"


def with_reader_gone(estate: Estate, *args: str, both: bool = False) -> subprocess.CompletedProcess[str]:
    """`reconciler ARGS...` writing into a pipe whose reader has gone before the first byte; with
    `both`, standard error too (`2>&1 | head`)."""
    readable, writable = os.pipe()
    os.close(readable)
    try:
        return subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=estate.root,
            env=clean_env(**estate.env),
            stdout=writable,
            stderr=writable if both else subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(writable)


@pytest.mark.parametrize("both", [False, True], ids=["stdout", "stdout-and-stderr"])
def test_an_apply_whose_reader_went_away_still_applies_and_says_so(estate: Estate, both: bool) -> None:
    done = with_reader_gone(estate, "apply", "--auto-approve", both=both)
    assert done.returncode == 0, done.stderr
    assert estate.writes() == 4
    again = estate.cli("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout  # converged: nothing left to do
    run = estate.cli("history").stdout.splitlines()[1]
    assert run.endswith("converged  4 ok"), run


@pytest.mark.parametrize("both", [False, True], ids=["stdout", "stdout-and-stderr"])
def test_a_plan_whose_reader_went_away_keeps_its_exit_code(estate: Estate, both: bool) -> None:
    assert with_reader_gone(estate, "plan", "--detailed-exitcode", both=both).returncode == 2  # changes
    assert with_reader_gone(estate, "plan", both=both).returncode == 0
    (estate.root / "desired-state" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    assert with_reader_gone(estate, "plan", both=both).returncode == 1
    assert with_reader_gone(estate, "validate", "--format", "json", both=both).returncode == 1
    assert estate.writes() == 0


def test_a_failed_apply_whose_reader_went_away_still_fails(estate: Estate) -> None:
    (estate.root / "desired-state" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    done = with_reader_gone(estate, "apply", "--auto-approve", both=True)
    assert done.returncode == 1
    assert estate.writes() == 0
