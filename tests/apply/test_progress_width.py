"""apply's live progress on a real pseudo-terminal: never wider than it, plain on a dumb one."""

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

from tests.apply.conftest import Estate, normalise
from tests.helpers import assert_golden, clean_env

GOLDEN = Path(__file__).parent / "golden" / "progress"


def apply_on_terminal(estate: Estate, columns: int, term: str) -> bytes:
    """What `apply --auto-approve` writes to a terminal `columns` wide (stderr: the progress)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--parallelism", "1"],
        cwd=estate.root,
        env=clean_env(**{**estate.env, "TERM": term, "RECONCILER_SANDBOX_DELAY": "0.3"}),
        stdin=follower,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other side closed: the process is done
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert process.wait(timeout=30) == 0
    return seen


def screen_of(output: bytes, columns: int) -> str:
    screen = pyte.Screen(columns, 24)
    pyte.ByteStream(screen).feed(output)
    rows = [row.rstrip() for row in screen.display]
    while rows and not rows[-1]:
        rows.pop()
    return "\n".join(rows) + "\n"


def test_on_a_narrow_terminal_the_live_line_leaves_only_the_outcomes(
    estate: Estate, update_golden: bool
) -> None:
    output = apply_on_terminal(estate, 40, "xterm-256color")
    shown = screen_of(output, 40)
    # Every status line was cut to the width and cleared: no stale "[n/4]  0.3s ..." row is left.
    assert_golden(GOLDEN / "narrow-terminal.txt", normalise(shown), update_golden)


def test_a_dumb_terminal_gets_plain_lines_without_escape_codes(estate: Estate) -> None:
    output = apply_on_terminal(estate, 40, "dumb")
    assert b"\x1b" not in output
    assert normalise(output.decode().replace("\r\n", "\n")) == (
        "[1/4] create-site acme-align (acme-corp): succeeded (N.Ns)\n"
        "[2/4] provision SUB-1001 focus -> acme: succeeded (N.Ns)\n"
        "[3/4] provision SUB-1001 talent -> acme: succeeded (N.Ns)\n"
        "[4/4] provision SUB-1001 jira-align -> acme-align: succeeded (N.Ns)\n"
    )


def test_plan_and_validate_never_import_rich(estate: Estate) -> None:
    probe = (
        "import sys\n"
        "from reconciler.cli import run_cli\n"
        "run_cli(sys.argv[1:])\n"
        "print('rich loaded' if any(m.split('.')[0] == 'rich' for m in sys.modules) else 'no rich')\n"
    )
    for command in ("plan", "validate"):
        ran = subprocess.run(
            [sys.executable, "-c", probe, command],
            cwd=estate.root,
            env=clean_env(**estate.env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ran.stdout.splitlines()[-1] == "no rich", (command, ran.stderr)
