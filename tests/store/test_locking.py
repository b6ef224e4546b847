"""Locks across real processes: waiting, naming the holder, heartbeat, expiry, dead holders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from msgspec.structs import replace

from reconciler.errors import ReconcilerError
from reconciler.store import LockRequest, open_store
from reconciler.store.identity import host_name, user_name
from reconciler.store.locking import acquire
from tests.helpers import clean_env

NAME = "sandbox:console.db"

HOLDER = """
import sys, time
from reconciler.store import open_store
from reconciler.store.locking import acquire
store = open_store(sys.argv[1])
held = acquire(store, sys.argv[2], sys.argv[3], timeout=float(sys.argv[4]))
held.start_heartbeat()
print(held.record.id, flush=True)
time.sleep(float(sys.argv[5]))
held.release()
print("released", flush=True)
"""


def start_holder(
    url: str, run_id: str, *, hold: float = 60.0, timeout: float = 0.0, ttl: str = "30"
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, NAME, run_id, str(timeout), str(hold)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(RECONCILER_LOCK_TTL=ttl),
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:{tmp_path / 'state.db'}"


@pytest.fixture
def holder(url: str) -> Iterator[subprocess.Popen[str]]:
    process = start_holder(url, "run-a")
    assert process.stdout is not None
    process.stdout.readline()  # the lock id: it holds the lock from here on
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_a_second_taker_waits_then_fails_naming_the_holder(url: str, holder: subprocess.Popen[str]) -> None:
    store = open_store(url)
    lock = store.locks()[0]
    started = time.monotonic()
    with pytest.raises(ReconcilerError) as caught:
        acquire(store, NAME, "run-b", timeout=0.5)
    assert time.monotonic() - started >= 0.5
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(lock.acquired))
    assert caught.value.message == (
        f"the console {NAME} is locked by {user_name()}@{host_name()} pid {holder.pid} (run run-a) "
        f"since {since}; waited 0.5s"
    )
    assert caught.value.hint == (
        "wait for that run to finish (or raise --lock-timeout); if its holder is gone for good, "
        f"'reconciler unlock {lock.id}' releases the lock"
    )


def test_a_waiter_gets_the_lock_when_the_holder_releases_it(url: str) -> None:
    process = start_holder(url, "run-a", hold=0.5)
    try:
        assert process.stdout is not None
        process.stdout.readline()
        held = acquire(open_store(url), NAME, "run-b", timeout=10)
        assert held.record.run_id == "run-b"
        assert process.stdout.readline() == "released\n"
    finally:
        process.wait()


def test_a_killed_holders_lock_is_taken_over_at_once_on_the_same_host(
    url: str, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    held = acquire(open_store(url), NAME, "run-b", timeout=0)
    assert (held.record.run_id, held.record.pid) == ("run-b", os.getpid())


def test_a_killed_holder_on_another_host_is_waited_out_until_expiry(url: str) -> None:
    store = open_store(url)
    process = start_holder(url, "run-a", ttl="1")
    assert process.stdout is not None
    process.stdout.readline()
    try:
        time.sleep(1.5)  # longer than the TTL: only the heartbeat keeps it alive
        lock = store.locks()[0]
        assert lock.heartbeat > lock.acquired
        elsewhere = LockRequest(
            id="lk-other",
            name=NAME,
            owner="bob@ci-2 pid 7",
            host="ci-2",
            pid=7,
            run_id="run-b",
            now=time.time(),
            ttl=30,
        )
        assert store.acquire_lock(elsewhere).id == lock.id
        process.send_signal(signal.SIGKILL)
        process.wait()
        # Another host cannot see that the pid is gone: it waits for the expiry.
        expired = store.locks()[0].expires
        assert store.acquire_lock(elsewhere).id == lock.id
        assert store.acquire_lock(replace(elsewhere, now=expired + 0.01)).id == "lk-other"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_only_one_of_several_racing_processes_gets_the_lock(url: str) -> None:
    open_store(url).close()
    racers = [start_holder(url, f"run-{n}", hold=1.0) for n in range(4)]
    try:
        outputs = [racer.communicate(timeout=30) for racer in racers]
        assert sum(out.startswith("lk-") for out, _ in outputs) == 1
        assert sum("is locked by" in err for _, err in outputs) == 3
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
            racer.wait()
