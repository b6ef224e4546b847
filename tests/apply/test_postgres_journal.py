"""apply on `--parallelism` threads journals every change on PostgreSQL exactly once, each write in a
transaction of its own, though the threads (and the lock's heartbeat) share one connection."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from reconciler.sandbox import SandboxConsole
from tests.conftest import RunCli
from tests.helpers import postgres_schema
from tests.http.conftest import sandbox_db, seed_many

COUNT = 48


def test_a_parallel_apply_journals_each_change_once_in_transactions_of_their_own(
    tmp_path: Path, run_cli: RunCli
) -> None:
    # A provisioning delay makes each change poll its operation: three journal writes per change.
    SandboxConsole.create(sandbox_db(tmp_path), seed_many(COUNT, delay=0.05)).close()
    (tmp_path / "desired-state").mkdir()
    subscriptions = [
        {"id": f"SUB-{i:05d}", "apps": {"focus": {"site": f"site-{i:05d}"}}} for i in range(COUNT)
    ]
    (tmp_path / "desired-state" / "estate.yaml").write_text(
        json.dumps({"version": 1, "subscriptions": subscriptions})
    )
    with postgres_schema() as url:
        # A short TTL: the heartbeat writes from its own thread all through the run.
        env = {"RECONCILER_STATE": url, "RECONCILER_LOCK_TTL": "0.5"}
        applied = run_cli("apply", "--auto-approve", "--parallelism", "8", env=env)
        assert applied.returncode == 0, applied.stderr
        history = json.loads(run_cli("history", "--format", "json", env=env).stdout)
        with psycopg.connect(url, autocommit=True) as db:
            rows = db.execute(
                "SELECT xmin::text, change_id, outcome, operation_id, finished FROM reconciler_attempts"
            ).fetchall()
    assert len(rows) == COUNT
    assert len({row[0] for row in rows}) == COUNT, "two journal writes shared a transaction"
    assert sorted(row[1] for row in rows) == [f"provision:SUB-{i:05d}:focus" for i in range(COUNT)]
    assert {row[2] for row in rows} == {"succeeded"}
    assert all(row[3] is not None and row[4] is not None for row in rows)
    (run,) = history["runs"]
    assert (run["outcome"], run["changes"]["succeeded"]) == ("converged", COUNT)
    assert run_cli("plan", "--detailed-exitcode").returncode == 0
