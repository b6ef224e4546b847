"""How apply over HTTP starts: the console is asked who it is while the desired state is read, and
what a user sees first when the console, the token or the files are wrong stays what it was."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reconciler.providers.base import ProviderSettings
from reconciler.providers.registry import ask_lock_name
from reconciler.store import RunOutcome, open_store
from tests.conftest import RunCli
from tests.http.conftest import TOKEN, ServerFactory, http_env

#: how long the stand-in holds its answer at most: far past any read of a few small files
HOLD = 30.0
NOBODY = "http://127.0.0.1:9"  # the discard port: nothing listens there
INVALID = "version: 1\nsubscriptions:\n  - id: 5\n"
DIAGNOSTICS = (
    "desired-state/bad.yaml:3:9: error[schema]: expected a string, got the integer 5\n"
    "  hint: quote it to keep it a string, as written: '5'\n"
    "1 error in 1 file\n"
    "error: desired state is invalid: 1 error in 1 file\n"
    "hint: fix the files; `reconciler validate` checks them without contacting the console\n"
)


class HeldConsole(ThreadingHTTPServer):
    """A console on 127.0.0.1 that answers `GET /v1/me` (who it is) only once `release` is set, or
    after HOLD seconds; any other request is refused as unauthorised."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.release = threading.Event()
        self.asked = threading.Event()
        #: whether `release` was set when the identity was answered
        self.released_in_time: bool | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HeldConsole

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path == "/v1/me" and not self.server.asked.is_set():
            self.server.asked.set()
            self.server.released_in_time = self.server.release.wait(HOLD)
            self._answer(200, {"data": {"email": "alice@acme.example"}, "meta": {"console": "sbx-held"}})
            return
        self._answer(401, {"error": {"code": "unauthorized", "message": "unknown token"}})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def held() -> Iterator[HeldConsole]:
    server = HeldConsole()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def test_the_lock_name_is_asked_for_without_waiting_for_the_answer(held: HeldConsole) -> None:
    answer = ask_lock_name(ProviderSettings(url=held.url, token=TOKEN), held.url)
    assert held.asked.wait(HOLD)
    held.release.set()  # only now: ask_lock_name returned while the console still held its answer
    assert answer.wait() == "sbx-held"
    assert held.released_in_time is True


def test_a_console_that_refuses_the_question_is_locked_by_its_url(held: HeldConsole) -> None:
    held.asked.set()  # every request is now refused as unauthorised
    assert ask_lock_name(ProviderSettings(url=held.url, token=TOKEN), held.url).wait() == (
        f"http://127.0.0.1:{held.server_address[1]}"
    )


def atime_moves_when_read(path: Path) -> bool:
    """Whether reading `path` shows in its access time here (not on a noatime mount)."""
    status = os.stat(path)
    os.utime(path, ns=(status.st_mtime_ns - 10**11, status.st_mtime_ns))
    path.read_bytes()
    moved = os.stat(path).st_atime_ns != status.st_mtime_ns - 10**11
    os.utime(path, ns=(status.st_mtime_ns - 10**11, status.st_mtime_ns))
    return moved


def test_apply_reads_the_desired_state_while_the_console_says_who_it_is(
    estate: Path, held: HeldConsole, run_cli: RunCli
) -> None:
    last = sorted((estate / "desired-state").glob("*.yaml"))[-1]  # read last: all are read by then
    if not atime_moves_when_read(last):
        pytest.skip("access times do not move on this file system")
    before = os.stat(last).st_atime_ns

    def release_once_read() -> None:
        held.asked.wait(HOLD)
        while not held.release.is_set() and os.stat(last).st_atime_ns == before:
            held.release.wait(0.01)
        held.release.set()

    watcher = threading.Thread(target=release_once_read, daemon=True)
    watcher.start()
    result = run_cli("apply", "--auto-approve", cwd=estate, env=http_env(held.url))
    watcher.join(timeout=HOLD)
    assert held.released_in_time is True  # the files were read before the console answered
    # Observing, after the lock, is refused: apply stops there, as with any refused token.
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"error: the console at {held.url} did not accept the token")


@pytest.mark.parametrize(
    ("console", "token", "invalid", "stderr"),
    [
        ("nobody", TOKEN, True, DIAGNOSTICS),
        ("served", "wrong-token", True, DIAGNOSTICS),
        ("served", TOKEN, True, DIAGNOSTICS),
        (
            "served",
            "wrong-token",
            False,
            "error: the console at {url} did not accept the token in RECONCILER_TOKEN (HTTP 401)\n"
            "hint: set RECONCILER_TOKEN to an API token of a user of this console\n",
        ),
    ],
)
def test_what_a_user_sees_first_when_something_is_wrong(
    estate: Path, serve: ServerFactory, run_cli: RunCli, console: str, token: str, invalid: bool, stderr: str
) -> None:
    url = NOBODY if console == "nobody" else serve(cwd=estate).url
    if invalid:
        (estate / "desired-state" / "bad.yaml").write_text(INVALID)
    result = run_cli("apply", "--auto-approve", cwd=estate, env=http_env(url, token))
    assert (result.returncode, result.stdout, result.stderr) == (1, "", stderr.format(url=url))
    store = open_store(f"sqlite:{estate / '.reconciler' / 'state.db'}")
    try:
        (run,) = store.runs(10)
    finally:
        store.close()
    # The run is journaled, under the lock, as failed with the error's first line.
    first = stderr.splitlines()[-2 if invalid else 0].removeprefix("error: ").format(url=url)
    assert (run.outcome, run.message) == (RunOutcome.FAILED, first)
