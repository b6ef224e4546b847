"""The line apply by runbook shows while it waits for a step, on real pseudo-terminals: kept in place
within the terminal's width like apply's progress line, and said once, plainly, on a dumb one."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte

from tests.atlassian.conftest import atlassian_env
from tests.helpers import clean_env
from tests.http.conftest import Served

COLUMNS = 30
APPLY = [sys.executable, "-m", "reconciler", "apply", "--auto-approve"]


def _terminal() -> tuple[int, int]:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    return leader, follower


def wait_on_terminal(estate: Path, url: str, term: str) -> tuple[bytes, bytes]:
    """What apply writes to stderr while it waits on step 1 that nobody takes, until the step times
    out: all of it, and what it had written after a second (a few checks, still waiting)."""
    steps, steps_follower = _terminal()  # stdin and stdout: a person is here
    status, status_follower = _terminal()
    env = {"TERM": term, "RECONCILER_POLL_INTERVAL": "0.1", "RECONCILER_STEP_TIMEOUT": "2"}
    process = subprocess.Popen(
        APPLY,
        cwd=estate,
        env=clean_env(**atlassian_env(url), **env),
        stdin=steps_follower,
        stdout=steps_follower,
        stderr=status_follower,
    )
    os.close(steps_follower)
    os.close(status_follower)
    seen, early = b"", b""
    started = time.monotonic()
    open_ = {steps, status}
    while open_ and time.monotonic() < started + 60:
        ready, _, _ = select.select(list(open_), [], [], 0.1)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the other side closed: the process is done
                chunk = b""
            if not chunk:
                open_.discard(fd)
            elif fd == status:
                seen += chunk
        if not early and time.monotonic() > started + 1 and b"waiting for step 1" in seen:
            early = seen
        if not ready and process.poll() is not None:
            break
    os.close(steps)
    os.close(status)
    assert process.wait(timeout=30) == 3
    return early, seen


def screen_of(output: bytes) -> list[str]:
    screen = pyte.Screen(COLUMNS, 24)
    pyte.ByteStream(screen).feed(output)
    return [row.rstrip() for row in screen.display if row.strip()]


def test_on_a_narrow_terminal_the_waiting_line_fits_and_goes(estate: Path, stand_in: Served) -> None:
    early, seen = wait_on_terminal(estate, stand_in.url, "xterm-256color")
    # While waiting, one row: the line cut to the width, never wrapped into stale rows.
    assert screen_of(early) == ["  waiting for step 1 to be ob…"]  # 30 columns
    # Once the step timed out, the line is gone and only the outcome is left.
    shown = "".join(screen_of(seen))
    assert "waiting for step" not in shown and shown.startswith("waiting on a person: 3 steps")


def test_a_dumb_terminal_gets_the_waiting_line_once_without_escape_codes(
    estate: Path, stand_in: Served
) -> None:
    _, seen = wait_on_terminal(estate, stand_in.url, "dumb")
    assert b"\x1b" not in seen
    lines = seen.decode().replace("\r\n", "\n").splitlines()
    assert lines[0] == "  waiting for step 1 to be observed done..."
    assert lines[1].startswith("waiting on a person: 3 steps to take in admin.atlassian.com")
    assert len(lines) == 2
