"""Fixtures for the atlassian provider: the example estate with its billing facts, and the stand-in
of the Admin API (`reconciler sandbox serve --api atlassian`) over a sandbox, in a real process."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxConsole, Seed
from reconciler.sandbox.adminapi import AdminApi
from reconciler.sandbox.faults import FaultSettings
from reconciler.sandbox.httpserver import ConsoleHttpServer, make_server
from reconciler.sandbox.seedfile import example_seed
from tests.conftest import REPO_ROOT
from tests.http.conftest import Served, sandbox_db, start_server

KEY = "sandbox-token-alice"
ALICE = "alice@acme.example"


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    """desired-state/ and billing/ of the example estate, and the example console as a sandbox."""
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    shutil.copytree(REPO_ROOT / "billing", tmp_path / "billing")
    SandboxConsole.create(sandbox_db(tmp_path), example_seed()).close()
    return tmp_path


@pytest.fixture
def stand_in(estate: Path) -> Iterator[Served]:
    """The stand-in of the Admin API over the estate's sandbox, in its own process."""
    served = start_server(estate, "--api", "atlassian", env={"RECONCILER_SANDBOX_DELAY": "0"})
    yield served
    assert served.stop() == 0, "the stand-in stops cleanly"


def atlassian_env(url: str, **extra: str) -> dict[str, str]:
    return {
        "RECONCILER_PROVIDER": f"atlassian:{url}",
        "RECONCILER_ATLASSIAN_API_KEY": KEY,
        "RECONCILER_ACTOR": ALICE,
        **extra,
    }


class InProcess:
    """The stand-in served from a thread of the test, for settings the CLI does not expose."""

    def __init__(self, path: Path, seed: Seed, **api: int) -> None:
        self.console = SandboxConsole.create(path, seed)
        self.server: ConsoleHttpServer = make_server(
            AdminApi(self.console, **api), "127.0.0.1", 0, FaultSettings()
        )
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.console.close()
