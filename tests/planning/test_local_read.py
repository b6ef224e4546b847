"""plan reads an existing sandbox console in a child process (or, when this process has other
threads, on a thread) while it loads the desired state, and uses what that read gave only once
the files are loaded: their diagnostics still come first."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import pipeline
from reconciler.errors import ReconcilerError
from reconciler.options import GlobalOptions
from reconciler.pipeline import make_plan
from reconciler.providers.sandbox import SandboxProvider
from tests.conftest import REPO_ROOT, RunCli
from tests.helpers import clean_env


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Path:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    assert run_cli("sandbox", "init").returncode == 0
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _watch(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """The threads that observed through a sandbox provider, and every close of one."""
    observers: list[str] = []
    closes: list[str] = []
    observe, close = SandboxProvider.observe, SandboxProvider.close

    def observing(self: SandboxProvider):  # type: ignore[no-untyped-def]
        observers.append(threading.current_thread().name)
        return observe(self)

    def closing(self: SandboxProvider) -> None:
        closes.append(threading.current_thread().name)
        close(self)

    monkeypatch.setattr(SandboxProvider, "observe", observing)
    monkeypatch.setattr(SandboxProvider, "close", closing)
    return observers, closes


@pytest.fixture
def another_thread() -> Iterator[None]:
    """A second thread while planning: a fork would copy its locks, held, so the read is a thread."""
    done = threading.Event()
    waiting = threading.Thread(target=done.wait, name="another")
    waiting.start()
    yield
    done.set()
    waiting.join()


IN_A_FRESH_PROCESS = """
import os, sys
from reconciler.errors import ReconcilerError
from reconciler.options import GlobalOptions
from reconciler import pipeline
from reconciler.pipeline import make_plan
from reconciler.providers.sandbox import SandboxProvider

planner, fails = os.getpid(), sys.argv[1] == "fails-in-child"
observe = SandboxProvider.observe


def observing(self):
    print(f"observed in {'the planner' if os.getpid() == planner else 'a child'}", flush=True)
    if fails and os.getpid() != planner:
        raise RuntimeError("the child's read fails")
    return observe(self)


SandboxProvider.observe = observing
try:
    planned = make_plan(GlobalOptions(), ["desired-state"])
    print(f"planned against {len(planned.console.subscriptions)} subscriptions")
except ReconcilerError as error:
    print(f"refused: {error.message}")
try:
    os.waitpid(-1, os.WNOHANG)
    print("a child is left")
except ChildProcessError:
    print("no child is left")
"""


def _plan_in_a_fresh_process(estate: Path, how: str = "") -> list[str]:
    """What a plan made in a process of its own (one thread, as a command has: so it forks) says
    about who observed, what it planned against and whether a child is left."""
    done = subprocess.run(
        [sys.executable, "-c", IN_A_FRESH_PROCESS, how],
        cwd=estate,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_an_existing_console_is_read_in_a_child_process(estate: Path) -> None:
    said = _plan_in_a_fresh_process(estate)
    assert said == ["planned against 4 subscriptions", "no child is left"]  # the child's print: /dev/null


def test_a_read_the_child_could_not_send_is_made_again_here(estate: Path) -> None:
    said = _plan_in_a_fresh_process(estate, "fails-in-child")
    assert said == ["observed in the planner", "planned against 4 subscriptions", "no child is left"]


def test_invalid_files_leave_no_child_reading(estate: Path) -> None:
    (estate / "desired-state" / "broken.yaml").write_text("sites: [\n", encoding="utf-8")
    said = _plan_in_a_fresh_process(estate)
    assert said[-1] == "no child is left" and said[0].startswith("refused: desired state is invalid")


def _in_its_own_group(estate: Path, *args: str) -> subprocess.Popen[str]:
    """`python ARGS...` in `estate`, its stderr kept, in a process group of its own: one that a child
    it left behind would keep alive."""
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=estate,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "invalid"])
def test_no_process_of_a_plan_outlives_it(estate: Path, broken: bool) -> None:
    if broken:
        (estate / "desired-state" / "broken.yaml").write_text("sites: [\n", encoding="utf-8")
    plan = _in_its_own_group(estate, "-m", "reconciler", "plan")
    _, stderr = plan.communicate(timeout=60)
    assert plan.returncode == (1 if broken else 0), stderr
    with pytest.raises(ProcessLookupError):
        os.killpg(plan.pid, 0)


def test_with_other_threads_an_existing_console_is_read_on_a_thread(
    estate: Path, monkeypatch: pytest.MonkeyPatch, another_thread: None
) -> None:
    observers, closes = _watch(monkeypatch)
    planned = make_plan(GlobalOptions(), ["desired-state"])
    assert observers == ["console-read"]
    assert len(closes) == 1
    assert planned.console.subscriptions  # the thread's read is the one planned against


def test_a_console_still_to_create_is_read_after_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    monkeypatch.chdir(tmp_path)
    observers, _ = _watch(monkeypatch)
    make_plan(GlobalOptions(), ["desired-state"])
    assert observers == [threading.main_thread().name]
    assert (tmp_path / ".reconciler" / "sandbox.db").is_file()


def test_invalid_files_close_the_console_read_meanwhile(
    estate: Path, monkeypatch: pytest.MonkeyPatch, another_thread: None
) -> None:
    observers, closes = _watch(monkeypatch)
    (estate / "desired-state" / "broken.yaml").write_text("sites: [\n", encoding="utf-8")
    with pytest.raises(ReconcilerError):
        make_plan(GlobalOptions(), ["desired-state"])
    assert len(observers) == len(closes) == 1


def test_invalid_files_are_reported_before_a_damaged_console(estate: Path, run_cli: RunCli) -> None:
    with sqlite3.connect(estate / ".reconciler" / "sandbox.db") as db:
        db.execute("DROP TABLE operations")
    (estate / "desired-state" / "broken.yaml").write_text("sites: [\n", encoding="utf-8")
    result = run_cli("plan")
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert "broken.yaml:2:1: error[yaml-syntax]" in result.stderr
    assert "error: desired state is invalid: 1 error in 1 file" in result.stderr
    assert "damaged" not in result.stderr
    (estate / "desired-state" / "broken.yaml").unlink()
    result = run_cli("plan")
    assert (result.returncode, result.stdout) == (1, "")
    assert "is damaged or not a sandbox console database: no such table: operations" in result.stderr


def test_a_fork_refused_reads_on_a_thread(estate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")  # a process limit reached

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(pipeline, "_can_fork", lambda: True)  # whatever threads the tests left
    observers, closes = _watch(monkeypatch)
    planned = make_plan(GlobalOptions(), ["desired-state"])
    assert observers == ["console-read"]
    assert len(closes) == 1 and planned.console.subscriptions


IGNORING_SIGCHLD = """
import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kept across exec: children reap themselves
os.execv(sys.executable, [sys.executable, "-m", "reconciler", "plan"])
"""


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "invalid"])
def test_a_caller_that_ignores_sigchld_still_gets_its_plan(
    estate: Path, run_cli: RunCli, broken: bool
) -> None:
    expected = run_cli("plan")
    if broken:
        (estate / "desired-state" / "broken.yaml").write_text("sites: [\n", encoding="utf-8")
    plan = subprocess.run(
        [sys.executable, "-c", IGNORING_SIGCHLD], cwd=estate, env=clean_env(), capture_output=True, text=True
    )
    if broken:
        assert (plan.returncode, plan.stdout) == (1, ""), plan.stderr
        assert "error: desired state is invalid" in plan.stderr and "internal error" not in plan.stderr
    else:
        assert (plan.returncode, plan.stdout, plan.stderr) == (0, expected.stdout, expected.stderr)


SLOW_CHILD = """
import os, sys, time
import reconciler.__main__ as entry
from reconciler import interrupts, pipeline
from reconciler.providers.sandbox import SandboxProvider

planner, started, how = os.getpid(), sys.argv[1], sys.argv[2]
observe = SandboxProvider.observe


def observing(self):
    if os.getpid() != planner:
        with open(started, "w") as out:
            out.write("child reading")
        time.sleep(60)  # a read far longer than the command may take to stop
    return observe(self)


def loading(*args):
    while not os.path.exists(started):
        time.sleep(0.01)
    interrupts.interrupted_exit()  # what a second signal, or one lost in a weakref callback, does


SandboxProvider.observe = observing
if how == "ends-at-once":
    pipeline.load = loading
sys.argv[1:] = ["plan"]
entry.run()
"""


def _plan_with_a_slow_child(estate: Path, started: Path, how: str) -> subprocess.Popen[str]:
    return _in_its_own_group(estate, "-c", SLOW_CHILD, str(started), how)


def _ends_with_its_child(plan: subprocess.Popen[str]) -> None:
    try:
        _, stderr = plan.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(plan.pid, signal.SIGKILL)
    assert (plan.returncode, stderr) == (130, "interrupted\n")
    with pytest.raises(ProcessLookupError):
        os.killpg(plan.pid, 0)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_plan_alone_ends_its_child_too(estate: Path, tmp_path: Path, sig: signal.Signals) -> None:
    started = tmp_path / "child-started"
    plan = _plan_with_a_slow_child(estate, started, "signalled")
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline and plan.poll() is None:
        time.sleep(0.01)
    assert started.exists(), "the child never started reading"
    plan.send_signal(sig)  # to plan only, as `kill PID` or a runner's stop sends it, not to the group
    _ends_with_its_child(plan)


def test_a_plan_ended_at_once_ends_its_child_too(estate: Path, tmp_path: Path) -> None:
    _ends_with_its_child(_plan_with_a_slow_child(estate, tmp_path / "child-started", "ends-at-once"))
