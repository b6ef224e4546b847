"""Hostile inputs through the real CLI: each folder tests/hostile/<class>/<case>/ is one attempt.

A case holds its inputs as files (copied into a fresh working directory), or a `make.py` that
writes them there (for inputs too big to keep in the repository), the `command` to run (one line
of arguments, shell-quoted; more lines run first, as setup that must succeed), an optional `env`
(KEY=VALUE lines), and what must come out: `expected.stdout`, `expected.stderr`, `expected.exit`.
`pytest --update-golden` rewrites the expected files; review them like code.

Every run is capped at 1 GiB of address space: a limit that only holds by exhausting the
machine does not hold.
"""

from __future__ import annotations

import resource
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import assert_golden, clean_env

CORPUS = Path(__file__).resolve().parent
CASES = sorted(p.parent for p in CORPUS.glob("*/*/command"))
MEMORY_CAP = 1024 * 1024 * 1024
EXPECTED = ("expected.stdout", "expected.stderr", "expected.exit", "command", "env", "make.py")


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _prepare(case: Path, workdir: Path) -> None:
    for item in case.iterdir():
        if item.name in EXPECTED:
            continue
        if item.is_dir():
            shutil.copytree(item, workdir / item.name, symlinks=True)
        else:
            shutil.copy2(item, workdir / item.name, follow_symlinks=False)
    if (case / "make.py").exists():
        subprocess.run([sys.executable, str(case / "make.py"), str(workdir)], check=True, timeout=60)


def _env(case: Path) -> dict[str, str]:
    path = case / "env"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return clean_env(**dict(line.split("=", 1) for line in lines if line.strip()))


def run_case(case: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    _prepare(case, workdir)
    *setup, command = (case / "command").read_text(encoding="utf-8").strip().splitlines()
    for line in [*setup, command]:
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", *shlex.split(line)],
            cwd=workdir,
            env=_env(case),
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_capped,
        )
        if line is not command:
            assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_hostile_case(case: Path, tmp_path: Path, update_golden: bool) -> None:
    done = run_case(case, tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    assert_golden(case / "expected.stdout", done.stdout, update_golden)
    assert_golden(case / "expected.stderr", done.stderr, update_golden)
    assert_golden(case / "expected.exit", f"{done.returncode}\n", update_golden)


def test_every_class_has_several_variants() -> None:
    classes = {case.parent.name for case in CASES}
    assert classes, "no hostile case found"
    for name in classes:
        assert sum(1 for case in CASES if case.parent.name == name) >= 3, name
