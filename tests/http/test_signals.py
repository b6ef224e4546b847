"""Ctrl-C and SIGTERM at every stage, with real processes and real signals: during start-up, and
while the first read of a console that never answers is under way. Each ends the process with one
line and exit 130, with the lock released; a second signal ends it at once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import clean_env

#: far below the client's 30 s read timeout and its 60 s retry budget: a process that waits for
#: either fails the test
EXITS_WITHIN = 15.0
ONE_LINE = {"interrupted\n", "error: interrupted by SIGINT\n", "error: interrupted by SIGTERM\n"}


class SilentConsole:
    """Accepts connections, reads what is sent, never answers: the slowest console there is."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests = threading.Semaphore(0)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        try:
            if conn.recv(65536):
                self.requests.release()
            while conn.recv(65536):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentConsole]:
    console = SilentConsole()
    yield console
    console.close()


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    return tmp_path


def start(estate: Path, silent: SilentConsole, *args: str) -> subprocess.Popen[str]:
    env = clean_env(
        RECONCILER_PROVIDER=f"http://127.0.0.1:{silent.port}", RECONCILER_TOKEN="sandbox-token-alice"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=estate,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def handles_sigterm(pid: int) -> bool:
    """Whether the process has installed its own SIGTERM handler yet (its SigCgt mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=EXITS_WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"the process was still running {EXITS_WITHIN}s after the signal")
    return process.returncode, stderr


@pytest.mark.parametrize("delay", [0.0, 0.005, 0.02, 0.05, 0.1, 0.2])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_start_up_is_one_line_and_130(
    estate: Path, silent: SilentConsole, sig: signal.Signals, delay: float
) -> None:
    process = start(estate, silent, "plan")
    deadline = time.monotonic() + EXITS_WITHIN
    while not handles_sigterm(process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(delay)  # somewhere in imports, option parsing, opening the provider
    process.send_signal(sig)
    code, stderr = finish(process)
    assert (code, "Traceback" not in stderr) == (130, True), stderr
    assert stderr in ONE_LINE


@pytest.mark.parametrize("command", [["plan"], ["apply", "--auto-approve"]], ids=["plan", "apply"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_first_read_of_a_slow_console_stops_it(
    estate: Path, silent: SilentConsole, command: list[str], sig: signal.Signals
) -> None:
    process = start(estate, silent, *command)
    assert silent.requests.acquire(timeout=EXITS_WITHIN), "the command never started reading"
    time.sleep(0.2)
    process.send_signal(sig)
    code, stderr = finish(process)
    assert (code, stderr in ONE_LINE) == (130, True), repr(stderr)
    locks = subprocess.run(
        [sys.executable, "-m", "reconciler", "locks"],
        cwd=estate,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert locks.stdout == "No locks held.\n"


def test_a_second_signal_stops_at_once(estate: Path, silent: SilentConsole) -> None:
    process = start(estate, silent, "apply", "--auto-approve")
    assert silent.requests.acquire(timeout=EXITS_WITHIN), "the command never started reading"
    process.send_signal(signal.SIGTERM)
    os.kill(process.pid, signal.SIGINT)
    code, stderr = finish(process)
    assert (code, stderr in ONE_LINE) == (130, True), repr(stderr)


def run_script(
    script: str, sig: str, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`script`, the signal's name put in, run as a process of its own with `args`: apply in it
    reads a console that is not there (port 9), so nothing but the script's signal stops it."""
    return subprocess.run(
        [sys.executable, "-c", script.replace("{sig}", sig), *args],
        cwd=cwd,
        env=clean_env(RECONCILER_PROVIDER="http://127.0.0.1:9", RECONCILER_TOKEN="sandbox-token-alice"),
        capture_output=True,
        text=True,
        timeout=60,
    )


WRAPPED = """
import os, signal, sys
import reconciler.__main__ as entry
import reconciler.cli


class Named:
    def __set_name__(self, owner, name):
        os.kill(os.getpid(), signal.{sig})  # the signal comes while a class body is built


def build_a_class(*args):
    class Holder:  # Python 3.11 wraps what __set_name__ raises in a RuntimeError
        field = Named()


if sys.argv[1] == "entry":
    entry.main = build_a_class  # outside the command, as an import at start-up would be
else:
    reconciler.cli._invoke = build_a_class  # inside it, as a lazy import would be
entry.run()
"""


@pytest.mark.parametrize("where", ["entry", "command"])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_wrapped_by_an_import_is_still_one_line_and_130(where: str, sig: str) -> None:
    done = run_script(WRAPPED, sig, where)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


WRAPPED_IN_APPLY = """
import os, signal, sys, time
import reconciler.__main__ as entry
import reconciler.commands.apply as command


class StartsAThread:
    def __init__(self, *args):
        try:
            os.kill(os.getpid(), signal.{sig})  # apply's own handler raises in here...
            time.sleep(5)
        except BaseException:
            # ...as in the lock a thread's start waits on, whose release then fails
            raise RuntimeError("release unlocked lock")


command.Apply = StartsAThread
entry.run()
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_apply_took_that_comes_back_wrapped_is_still_one_line_and_130(
    sig: str, tmp_path: Path
) -> None:
    done = run_script(WRAPPED_IN_APPLY, sig, "apply", "--auto-approve", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


SWALLOWED = """
import os, signal, sys, time, weakref
import reconciler.__main__ as entry
import reconciler.commands.apply as command


class Thing:
    pass


def come_to_an_end(*args):
    thing = Thing()
    # What the import system's module locks do: a weakref callback, whose exception Python only prints.
    # Under apply's handler it is its Interrupted, as when the signal comes while the
    # early-observation thread and the main one import at once.
    ref = weakref.ref(thing, lambda _: os.kill(os.getpid(), signal.{sig}))
    del thing
    time.sleep(30)  # a command that goes on, had the signal been swallowed


if sys.argv[1:2] == ["apply"]:
    command.Apply = come_to_an_end
else:
    entry.main = come_to_an_end
entry.run()
"""


@pytest.mark.parametrize("where", ["start-up", "apply"])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_inside_a_weakref_callback_is_still_one_line_and_130(
    sig: str, where: str, tmp_path: Path
) -> None:
    args = ("apply", "--auto-approve") if where == "apply" else ()
    done = run_script(SWALLOWED, sig, *args, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


SECOND_WHILE_UNWINDING = """
import os, signal, time
import reconciler.__main__ as entry
import reconciler.commands.apply as command


class SwallowsTheFirst:
    def __init__(self, *args):
        try:
            os.kill(os.getpid(), signal.{sig})
            time.sleep(5)
        except BaseException:
            pass  # lost, as where Python cannot raise it
        os.kill(os.getpid(), signal.{sig})  # the second one must end it, whatever it meets
        time.sleep(30)


command.Apply = SwallowsTheFirst
entry.run()
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_second_signal_apply_takes_ends_it_even_when_the_first_was_lost(sig: str, tmp_path: Path) -> None:
    done = run_script(SECOND_WHILE_UNWINDING, sig, "apply", "--auto-approve", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


INSIDE_THE_HOOK = """
from types import SimpleNamespace

from reconciler import interrupts

interrupts.install_early_handlers()
interrupts.note_interrupted()


def printing_it(unraisable):
    raise KeyboardInterrupt  # a second signal's, arriving while the warning is printed


error = ValueError("an unrelated error in a __del__")
interrupts._unraisable(SimpleNamespace(exc_type=ValueError, exc_value=error), default=printing_it)
print("went on")
"""


def test_a_signal_while_an_unraisable_error_is_printed_still_ends_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", INSIDE_THE_HOOK], env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "interrupted\n")


AFTER_EXECUTION = """
import os, signal, sys, time
from reconciler.interrupts import install_early_handlers

install_early_handlers()
from reconciler.applying.signals import StopSignals
from reconciler.errors import Interrupted

with StopSignals() as signals:
    with signals.deferred():
        os.kill(os.getpid(), signal.{sig})  # while changes execute: only asks them to stop
        time.sleep(0.2)
    assert signals.stop.is_set()
    try:
        os.kill(os.getpid(), signal.{sig})  # while the run is finished and the lock given back
        time.sleep(5)
    except Interrupted:
        print("the run is finished and its lock given back", flush=True)
    os.kill(os.getpid(), signal.{sig})  # and one more ends it at once
    time.sleep(30)
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_after_a_deferred_one_still_lets_the_run_finish(sig: str) -> None:
    done = run_script(AFTER_EXECUTION, sig)
    assert (done.returncode, done.stdout, done.stderr) == (
        130,
        "the run is finished and its lock given back\n",
        "interrupted\n",
    )
