"""Over HTTP, plan behaves exactly as in process: the same console, the same plan, faults or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.http.conftest import ServerFactory, http_env


@pytest.mark.parametrize(
    "faults",
    [(), ("--fail-rate", "0.25", "--rate-limit", "30", "--seed-faults", "2")],
    ids=["reliable", "a-quarter-failing"],
)
def test_plan_over_http_equals_plan_in_process(
    estate: Path, serve: ServerFactory, run_cli: RunCli, faults: tuple[str, ...]
) -> None:
    in_process = run_cli("plan", "--format", "json", "--detailed-exitcode")
    served = serve(*faults)
    env = http_env(served.url)
    over_http = run_cli("plan", "--format", "json", "--detailed-exitcode", env=env)
    assert (in_process.returncode, over_http.returncode) == (2, 2), over_http.stderr
    local, remote = json.loads(in_process.stdout), json.loads(over_http.stdout)
    assert local.pop("provider") == "sandbox:.reconciler/sandbox.db"
    assert remote.pop("provider") == served.url
    assert remote == local
    assert local["changes"], "the example estate has work to do"
    text_local = run_cli("plan").stdout
    text_remote = run_cli("plan", env=env).stdout
    assert text_remote == text_local.replace("sandbox:.reconciler/sandbox.db", served.url)
