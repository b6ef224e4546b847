"""A served console's next observation is built once its writes pause, not by the next read."""

from __future__ import annotations

import time
from pathlib import Path

from msgspec import structs

from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.api import ConsoleApi, Request
from reconciler.sandbox.seedfile import example_seed
from reconciler.sandbox.warming import QUIET

TOKEN = "sandbox-token-alice"


def provision(api: ConsoleApi, subscription: str, app: str, site: str) -> int:
    request = Request(
        method="POST",
        path=f"/v1/subscriptions/{subscription}/apps/{app}/provision",
        query={},
        headers={
            "authorization": f"Bearer {TOKEN}",
            "idempotency-key": f"k-{app}",
            "content-type": "application/json",
        },
        body=f'{{"site": "{site}"}}'.encode(),
    )
    return api.handle(request).status


def read(api: ConsoleApi) -> int:
    request = Request("GET", "/v1/me", {}, {"authorization": f"Bearer {TOKEN}"})
    return api.handle(request).status


def built_for_now(api: ConsoleApi, console: SandboxConsole) -> bool:
    last = api._last  # what the next read would answer from, if it is still the console
    now = structs.replace(console.observe(console.default_actor()), actor=None)
    return last is not None and last.console == now


def wait_until_built(api: ConsoleApi, console: SandboxConsole) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if built_for_now(api, console):
            return True
        time.sleep(QUIET)
    return False


def test_the_observation_is_built_once_writes_pause(tmp_path: Path) -> None:
    console = SandboxConsole.create(tmp_path / "sandbox.db", example_seed())
    api = ConsoleApi(console, warm_after_writes=True)
    assert read(api) == 200  # built for the console before the write
    assert provision(api, "SUB-1001", "focus", "acme") in (200, 201, 202)
    assert wait_until_built(api, console)
    console.close()


def test_without_warming_the_next_read_builds_it(tmp_path: Path) -> None:
    console = SandboxConsole.create(tmp_path / "sandbox.db", example_seed())
    api = ConsoleApi(console)
    assert read(api) == 200
    assert provision(api, "SUB-1001", "focus", "acme") in (200, 201, 202)
    time.sleep(10 * QUIET)
    assert not built_for_now(api, console)
    assert read(api) == 200
    assert built_for_now(api, console)
    console.close()
