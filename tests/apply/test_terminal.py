"""Apply on a terminal: it shows the plan, asks, and only `yes` proceeds; progress redraws one line."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

from tests.apply.conftest import Estate
from tests.helpers import clean_env

PROMPT = "Apply 4 changes to sandbox:.reconciler/sandbox.db? Only 'yes' is accepted: "


def on_terminal(estate: Estate, *args: str, answer: str | None) -> tuple[int, str]:
    """Run `reconciler ARGS...` with a pseudo-terminal as stdin, stdout and stderr; answer the prompt
    (or, with no answer, press Ctrl-C there)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=estate.root,
        env=clean_env(**estate.env, NO_COLOR="1"),
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other side closed: the process is done
                break
            if not chunk:
                break
            seen += chunk
        if not answered and PROMPT.encode() in seen:
            if answer is None:
                process.send_signal(signal.SIGINT)
            else:
                os.write(leader, answer.encode() + b"\n")
            answered = True
    os.close(leader)
    return process.wait(timeout=30), seen.decode().replace("\r\n", "\n")


def test_on_a_terminal_apply_shows_the_plan_and_yes_applies_it(estate: Estate) -> None:
    code, screen = on_terminal(estate, "apply", answer="yes")
    assert code == 0, screen
    before, _, after = screen.partition(PROMPT)
    assert "Plan: 1 site to create, 3 apps to provision, 0 to reactivate, 0 to cancel;" in before
    assert "Verified: re-planning finds every change done." in after
    # The progress line is redrawn in place, then cleared.
    assert "\r\033[2K[0/4]" in after and "\r\033[2K[4/4]" in after
    assert estate.writes() == 4


def test_on_a_terminal_any_answer_but_yes_applies_nothing(estate: Estate) -> None:
    code, screen = on_terminal(estate, "apply", answer="y")
    assert code == 1
    assert screen.endswith(
        f"{PROMPT}y\nerror: apply cancelled: the answer was not 'yes'; nothing was applied\n"
    )
    assert estate.writes() == 0
    (run,) = estate.runs()
    assert (str(run.outcome), run.message) == (
        "refused",
        "apply cancelled: the answer was not 'yes'; nothing was applied",
    )


def test_ctrl_c_at_the_prompt_stops_with_130_and_releases_the_lock(estate: Estate) -> None:
    code, screen = on_terminal(estate, "apply", answer=None)
    assert code == 130
    assert screen.endswith(f"{PROMPT}error: interrupted by SIGINT\n")
    assert estate.writes() == 0
    assert estate.cli("locks").stdout == "No locks held.\n"
    (run,) = estate.runs()
    assert (str(run.outcome), run.message) == ("interrupted", "interrupted by SIGINT")
