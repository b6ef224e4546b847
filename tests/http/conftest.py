"""Fixtures for the console over HTTP: a sandbox in a temp dir and the real server in a subprocess."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import selectors
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.model import Organization, Site, Subscription
from reconciler.sandbox import SandboxConsole, Seed
from reconciler.sandbox.seedfile import example_seed
from tests.conftest import REPO_ROOT
from tests.helpers import clean_env

#: alice's token in the example console: billing admin of AC-1111-2222-3333, admin of both orgs
TOKEN = "sandbox-token-alice"
ALICE = "alice@acme.example"
SERVING = re.compile(r"Serving (?P<provider>\S+) on (?P<url>http://\S+)")


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"the server printed nothing in {timeout}s")
    return process.stdout.readline().rstrip("\n")


def start_server(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Served:
    """`reconciler sandbox serve --port 0 ARGS...` in `cwd`; returns once it printed where it listens."""
    log = cwd / f"serve-{len(list(cwd.glob('serve-*.log')))}.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", *args],
            cwd=cwd,
            env=clean_env(**(env or {})),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    line = _first_line(process, timeout=20)
    match = SERVING.fullmatch(line)
    if match is None:
        process.kill()
        raise AssertionError(f"unexpected first line {line!r}; log: {log.read_text()}")
    return Served(match.group("url"), process, log)


ServerFactory = Callable[..., Served]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start servers in the test's directory; every one is stopped at the end."""
    started: list[Served] = []

    def factory(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Served:
        served = start_server(cwd or tmp_path, *args, env=env)
        started.append(served)
        return served

    yield factory
    for served in started:
        served.stop()


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    """The example estate: desired-state/ copied in, the sandbox created from the example console."""
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    SandboxConsole.create(sandbox_db(tmp_path), example_seed()).close()
    return tmp_path


@pytest.fixture(scope="module")
def example_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server over a fresh example console (provisioning delay 0), shared by a module's tests."""
    home = tmp_path_factory.mktemp("example")
    SandboxConsole.create(sandbox_db(home), example_seed()).close()
    served = start_server(home, env={"RECONCILER_SANDBOX_DELAY": "0"})
    yield served
    assert served.stop() == 0, "the server stops cleanly"


def seed_many(count: int, *, delay: float = 0.0) -> Seed:
    """A console with `count` Focus subscriptions, each in its own org with one Premium site, none
    provisioned yet: every one is one `provision` away from done."""
    base = example_seed()
    orgs = tuple(
        Organization(f"org-{i:05d}", f"Org {i}", frozenset({ALICE}), frozenset()) for i in range(count)
    )
    sites = tuple(Site(f"site-{i:05d}", f"org-{i:05d}", "premium") for i in range(count))
    subscriptions = tuple(
        Subscription(
            id=f"SUB-{i:05d}",
            billing_account="AC-1111-2222-3333",
            product="focus",
            status="active",
            start_date=dt.date(2026, 1, 1),
            term_end=dt.date(2027, 1, 1),
            apps={"focus": None},
        )
        for i in range(count)
    )
    return dataclasses.replace(
        base,
        organizations=orgs,
        sites=sites,
        subscriptions=subscriptions,
        billing_accounts=tuple(a for a in base.billing_accounts if a.id == "AC-1111-2222-3333"),
        provisioning_delay=delay,
    )


def http_env(url: str, token: str = TOKEN, **extra: str) -> dict[str, str]:
    return {"RECONCILER_PROVIDER": url, "RECONCILER_TOKEN": token, **extra}


def sandbox_db(cwd: Path) -> Path:
    return cwd / ".reconciler" / "sandbox.db"
