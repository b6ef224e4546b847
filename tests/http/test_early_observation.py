"""apply over HTTP observes the console while it asks who the console is, before its lock, and keeps
that observation only when the state store proves no other run can have come between."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from reconciler.applying.early import observe_early
from reconciler.errors import ProviderError
from reconciler.model import Console
from reconciler.providers.http import HttpProvider
from reconciler.sandbox.console import SandboxConsole
from reconciler.store import StateStore, open_store
from reconciler.store.locking import acquire
from tests.apply.test_lock_wait import first_line
from tests.conftest import REPO_ROOT
from tests.helpers import clean_env
from tests.http.conftest import TOKEN, Served, ServerFactory, http_env, sandbox_db

LOCK = "sbx-under-test"
RUN = "20261202-000000-abcdef"
NOBODY = "http://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture
def served(estate: Path, serve: ServerFactory) -> Served:
    return serve(env={"RECONCILER_SANDBOX_DELAY": "0"})


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return open_store(f"sqlite:{tmp_path / 'state.db'}")


def provider(url: str) -> HttpProvider:
    return HttpProvider(url, TOKEN, trust_env=False)


def observed_after_lock(
    store: StateStore,
    url: str,
    meanwhile: Callable[[], None] = lambda: None,
    holding: Callable[[], None] = lambda: None,
) -> Console | Exception | None:
    """Observe early, run `meanwhile`, take the lock, run `holding`: what the observation gives."""
    early = observe_early(provider(url), store)
    assert early is not None
    meanwhile()
    held = acquire(store, LOCK, RUN, 0)
    try:
        holding()
        early.confirm(store, LOCK)
        return early.outcome()
    finally:
        held.release()
        early.provider.close()


def test_an_observation_nobody_came_between_is_kept(served: Served, store: StateStore) -> None:
    observed = observed_after_lock(store, served.url)
    assert isinstance(observed, Console)
    assert observed.subscriptions  # the example console, as read


def test_another_run_that_took_and_gave_back_the_lock_meanwhile_drops_it(
    served: Served, store: StateStore, tmp_path: Path
) -> None:
    def another_run() -> None:
        other = open_store(f"sqlite:{tmp_path / 'state.db'}")  # another runner on the same store
        acquire(other, LOCK, "20261202-000001-bcdef0", 0).release()
        other.close()

    assert observed_after_lock(store, served.url, another_run) is None  # observed again under the lock


def test_any_other_write_to_the_store_meanwhile_drops_it(
    served: Served, store: StateStore, tmp_path: Path
) -> None:
    def another_console() -> None:
        other = open_store(f"sqlite:{tmp_path / 'state.db'}")
        acquire(other, "another-console", "20261202-000001-bcdef0", 0).release()  # not even this lock
        other.close()

    assert observed_after_lock(store, served.url, another_console) is None


def test_a_lock_held_when_the_observation_started_drops_it(
    served: Served, store: StateStore, tmp_path: Path
) -> None:
    other = open_store(f"sqlite:{tmp_path / 'state.db'}")
    before = acquire(other, LOCK, "20261202-000001-bcdef0", 0)

    def holder_gone() -> None:
        # Its holder is gone without a word (no release, no write): the lock row is all that is left.
        before.lost.set()
        store.release_lock(before.record.id)  # as `reconciler unlock` would, from this connection
        other.close()

    assert observed_after_lock(store, served.url, holder_gone) is None


def test_this_runs_own_writes_keep_it(served: Served, store: StateStore) -> None:
    def own_write() -> None:  # the same connection writes: not another run
        store.record_plan(RUN, "sha256:" + "0" * 64, None)

    assert isinstance(observed_after_lock(store, served.url, holding=own_write), Console)


def test_a_failed_observation_that_stands_is_what_planning_raises(store: StateStore) -> None:
    observed = observed_after_lock(store, NOBODY)
    assert isinstance(observed, ProviderError)  # not observed a second time


def test_never_confirmed_it_does_not_stand(served: Served, store: StateStore) -> None:
    early = observe_early(provider(served.url), store)
    assert early is not None
    assert early.outcome() is None  # the lock was waited for: nothing is confirmed
    early.provider.close()


def console_id_of(path: Path) -> str:
    console = SandboxConsole(path)
    try:
        return console.console_id()
    finally:
        console.close()


def test_apply_that_waited_for_the_lock_plans_from_the_console_as_its_holder_left_it(
    estate: Path, served: Served
) -> None:
    store = open_store(f"sqlite:{estate / '.reconciler' / 'state.db'}")
    held = acquire(store, console_id_of(sandbox_db(estate)), RUN, 0)
    try:
        waiting = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--lock-timeout", "60"],
            cwd=estate,
            env=clean_env(**http_env(served.url)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        notice = first_line(waiting.stderr, timeout=30)
        assert notice.startswith("waiting up to 60s for the lock on ")
        # The holder provisions one of the four changes apply would make, then lets go.
        done = httpx.post(
            f"{served.url}/v1/subscriptions/SUB-1001/apps/focus/provision",
            json={"site": "acme"},
            headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "holder-1"},
            trust_env=False,
        )
        assert done.status_code in (200, 201, 202), done.text
    finally:
        held.release()
        store.close()
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert "Applied 3 changes in " in out  # not 4: what the holder did is not asked again
    assert "provision   SUB-1001 focus" not in out
    assert "provision   SUB-1001 talent" in out


def test_apply_nobody_came_between_observes_once_before_its_writes(estate: Path, served: Served) -> None:
    applied = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve"],
        cwd=estate,
        env=clean_env(**http_env(served.url)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert applied.returncode == 0, applied.stderr
    assert served.stop() == 0
    requests = [line.split(" ")[1:3] for line in served.log.read_text().splitlines()]
    first_write = next(i for i, (method, _) in enumerate(requests) if method == "POST")
    reads = [path for method, path in requests[:first_write] if path.startswith("/v1/subscriptions")]
    assert len(reads) == 1, requests[:first_write]  # the early observation was kept, not made again


class NamesItselfOnly(ThreadingHTTPServer):
    """A console on 127.0.0.1 that says who it is (`GET /v1/me`) and never answers anything else."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _NamesItself)
        self.reading = threading.Event()  # a collection was asked for
        self.closing = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _NamesItself(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: NamesItselfOnly

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        if self.path != "/v1/me":
            self.server.reading.set()
            self.server.closing.wait(60)
            return
        data = json.dumps(
            {"data": {"email": "alice@acme.example"}, "meta": {"console": "sbx-names", "version": "1"}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_the_early_observation_hangs_ends_apply_at_once(
    tmp_path: Path, sig: signal.Signals
) -> None:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    console = NamesItselfOnly()
    threading.Thread(target=console.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "--auto-approve"],
            cwd=tmp_path,
            env=clean_env(**http_env(console.url)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert console.reading.wait(30), "apply never read the console"
        time.sleep(0.3)  # it holds the lock and waits for the observation now
        process.send_signal(sig)
        # far below the client's 30 s read timeout: apply must not wait for the observation
        _, stderr = process.communicate(timeout=10)
    finally:
        console.closing.set()
        console.shutdown()
        console.server_close()
    assert (process.returncode, stderr) == (130, f"error: interrupted by {sig.name}\n")
