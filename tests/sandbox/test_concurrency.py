"""Two real processes writing one database: no site created twice, no write lost."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from reconciler.model import BillingAccount, Organization, Site, Subscription
from reconciler.sandbox import SandboxConsole, Seed, SeedUser
from reconciler.sandbox.database import Connections
from tests.helpers import clean_env

WORKER = Path(__file__).resolve().parent / "race_worker.py"
ALICE = "alice@acme.example"
WORKERS = ("w1", "w2")
COUNT = 40


def race_seed() -> Seed:
    day = dt.date(2026, 11, 21)

    def subscription(sub_id: str, product: str) -> Subscription:
        apps = {"focus": None} if product == "focus" else {"talent": None}
        return Subscription(sub_id, "AC-1", product, "active", day, dt.date(2027, 11, 20), apps)

    subs = [subscription(f"SUB-RACE-{w}", "focus") for w in WORKERS]
    subs += [subscription(f"SUB-{w}-{i}", "talent") for w in WORKERS for i in range(COUNT)]
    return Seed(
        now=day,
        users=(SeedUser(ALICE),),
        billing_accounts=(BillingAccount("AC-1", "direct", None, frozenset({ALICE})),),
        organizations=(Organization("acme-corp", "ACME Corp", frozenset({ALICE}), frozenset()),),
        sites=(Site("acme", "acme-corp", "premium"),),
        subscriptions=tuple(subs),
        provisioning_delay=0.0,
    )


def start_workers(database: Path, go_file: Path) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(database), worker, str(go_file), str(COUNT)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        for worker in WORKERS
    ]


@pytest.mark.slow
def test_two_processes_never_create_the_same_site_twice_nor_lose_a_write(tmp_path: Path) -> None:
    database = tmp_path / "sandbox.db"
    SandboxConsole.create(database, race_seed()).close()
    go_file = tmp_path / "go"
    workers = start_workers(database, go_file)
    time.sleep(0.5)  # both processes are up and polling for the start signal
    go_file.touch()
    results = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr
        results.append(json.loads(stdout))

    # The one that comes second finds the site made, in its org: done, with no effect (write_count).
    assert sorted(r["contested-site"] for r in results) == ["ok", "ok"]
    assert sorted(r["contested-slot"] for r in results) == ["ok", "one-per-org"]
    assert all(r["distinct"] == ["ok"] * (2 * COUNT) for r in results)
    with SandboxConsole(database) as console:
        state = console.observe(ALICE)
        created = {name for name in state.sites if name != "acme"}
        assert created == {"contested"} | {f"{w}-site-{i}" for w in WORKERS for i in range(COUNT)}
        cancelled = {sub.id for sub in state.subscriptions.values() if sub.status == "cancelled"}
        assert cancelled == {f"SUB-{w}-{i}" for w in WORKERS for i in range(COUNT)}
        focus = {sub.id for sub in state.subscriptions.values() if sub.apps.get("focus") == "acme"}
        assert len(focus) == 1
        assert console.write_count() == 2 * 2 * COUNT + 2


@pytest.mark.slow
def test_two_first_runs_at_once_create_the_example_console_once(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "reconciler", "sandbox", "show"]
    runs = [
        subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env()
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert sorted(bool(err) for _, err in outputs) == [False, True]
    assert outputs[0][0] == outputs[1][0]


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through /proc")
def test_many_threads_share_one_console_without_leaking_connections(tmp_path: Path) -> None:
    """A server runs each request on a new thread: connections are pooled, not one per thread."""
    with SandboxConsole.create(tmp_path / "sandbox.db", race_seed()) as console:
        console.observe(ALICE)
        before = open_files()
        errors: list[BaseException] = []

        def request(i: int) -> None:
            try:
                console.cancel(ALICE, f"SUB-w1-{i % COUNT}", f"cancel-{i}")
                console.observe(ALICE)
            except BaseException as error:  # reported below: a thread's exception is otherwise lost
                errors.append(error)

        for batch in range(0, 4 * COUNT, 16):
            threads = [threading.Thread(target=request, args=(i,)) for i in range(batch, batch + 16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert errors == []
        assert console.write_count() == COUNT
        assert open_files() - before <= 3 * Connections.KEEP_IDLE  # a connection holds the db, WAL and shm
