"""Over HTTP, plan and apply behave exactly as in process: the same console, the same plan."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunCli
from tests.http.conftest import ServerFactory, http_env


def test_plan_over_http_equals_plan_in_process(estate: Path, serve: ServerFactory, run_cli: RunCli) -> None:
    in_process = run_cli("plan", "--format", "json", "--detailed-exitcode")
    served = serve()
    over_http = run_cli("plan", "--format", "json", "--detailed-exitcode", env=http_env(served.url))
    assert (in_process.returncode, over_http.returncode) == (2, 2), over_http.stderr
    local, remote = json.loads(in_process.stdout), json.loads(over_http.stdout)
    assert local.pop("provider") == "sandbox:.reconciler/sandbox.db"
    assert remote.pop("provider") == served.url
    assert remote == local
    assert local["changes"], "the example estate has work to do"
