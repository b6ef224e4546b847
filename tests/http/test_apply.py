"""apply over HTTP, with a quarter of requests failing and a rate limit on, converges and writes once."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.sandbox import SandboxConsole
from tests.conftest import RunCli
from tests.http.conftest import ServerFactory, http_env, sandbox_db, seed_many

FAULTS = ("--fail-rate", "0.25", "--rate-limit", "10")
FAST_CONSOLE = {"RECONCILER_SANDBOX_DELAY": "0.05"}


def writes(cwd: Path) -> int:
    with SandboxConsole(sandbox_db(cwd)) as console:
        return console.write_count()


def test_apply_with_faults_converges_and_creates_each_site_once(
    estate: Path, serve: ServerFactory, run_cli: RunCli
) -> None:
    served = serve(*FAULTS, "--seed-faults", "5", env=FAST_CONSOLE)
    env = http_env(served.url)
    applied = run_cli("apply", "--auto-approve", env=env)
    assert applied.returncode == 0, applied.stderr
    summary = applied.stdout.splitlines()[-3]
    assert summary.startswith("Applied 4 changes in ") and summary.endswith(": 4 succeeded."), applied.stdout
    # create-site acme-align and three provisions: each took effect exactly once, whatever was retried.
    assert writes(estate) == 4
    with SandboxConsole(sandbox_db(estate)) as console:
        observed = console.observe(None)
    assert observed.sites["acme-align"].org == "acme-corp"
    assert dict(observed.subscriptions["SUB-1001"].apps) == {
        "jira-align": "acme-align",
        "focus": "acme",
        "talent": "acme",
    }
    assert run_cli("plan", "--detailed-exitcode", env=env).returncode == 0
    again = run_cli("apply", "--auto-approve", env=env)
    assert again.returncode == 0, again.stderr
    assert writes(estate) == 4, "a second apply makes no write"
    assert "(injected: " in served.log.read_text()


def test_apply_many_provisions_over_a_failing_console(
    tmp_path: Path, serve: ServerFactory, run_cli: RunCli
) -> None:
    SandboxConsole.create(sandbox_db(tmp_path), seed_many(24, delay=0.02)).close()
    desired = tmp_path / "desired-state"
    desired.mkdir()
    subscriptions = [{"id": f"SUB-{i:05d}", "apps": {"focus": {"site": f"site-{i:05d}"}}} for i in range(24)]
    (desired / "estate.yaml").write_text(json.dumps({"version": 1, "subscriptions": subscriptions}))
    served = serve(*FAULTS, "--seed-faults", "9")
    env = http_env(served.url)
    applied = run_cli("apply", "--auto-approve", "--parallelism", "8", env=env)
    assert applied.returncode == 0, applied.stderr
    assert writes(tmp_path) == 24
    assert run_cli("plan", "--detailed-exitcode", env=env).returncode == 0
    log = served.log.read_text()
    assert "(injected: " in log and " 429 " in log, "the faults were really there"
