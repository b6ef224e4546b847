"""Several CI runners, one console over HTTP and one PostgreSQL: they behave as one team.

Each runner is a real `reconciler apply` process in a working directory of its own (no shared
disk): only the console and the state store are shared. In every case the console ends with
exactly the four writes the example estate needs, never a duplicate.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.sandbox.console import SandboxConsole
from reconciler.store import RunOutcome, open_store
from tests.conftest import REPO_ROOT
from tests.helpers import clean_env, postgres_base_url, postgres_schema
from tests.http.conftest import ServerFactory, estate, http_env, sandbox_db
from tests.pgserver import Server, running_postgres

__all__ = ["estate"]

pytestmark = pytest.mark.slow

HOLDER = re.compile(r"error: the console sbx-[0-9a-f]+ is locked by \S+ pid \d+ \(run (\S+)\) since ")
NO_CHANGES = "No changes: the console already matches desired state; nothing was applied.\n"


@pytest.fixture
def team_state() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


class Runner:
    """One CI runner: its own checkout of the estate, nothing else on its disk."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        root.mkdir()
        shutil.copytree(REPO_ROOT / "desired-state", root / "desired-state")
        self.env = env
        self.process: subprocess.Popen[str] | None = None

    def start(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args],
            cwd=self.root,
            env=clean_env(**{**self.env, **extra}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return self.process

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=self.root,
            env=clean_env(**self.env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.communicate(timeout=30)


@pytest.fixture
def runners(tmp_path: Path) -> Iterator[list[Runner]]:
    made: list[Runner] = []
    yield made
    for runner in made:
        runner.stop()


def team(tmp_path: Path, made: list[Runner], url: str, state: str, count: int, **env: str) -> list[Runner]:
    for number in range(count):
        made.append(Runner(tmp_path / f"runner-{number}", http_env(url, RECONCILER_STATE=state, **env)))
    return made


def writes(cwd: Path) -> int:
    with SandboxConsole(sandbox_db(cwd)) as console:
        return console.write_count()


def wait_for_lock(state: str, timeout: float = 30) -> str:
    """The run id holding the one lock, once some runner holds it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        store = open_store(state)
        try:
            held = store.locks()
        finally:
            store.close()
        if held:
            return held[0].run_id
        time.sleep(0.1)
    raise AssertionError("no runner took the lock")


def test_four_runners_one_lock_one_journal(
    estate: Path, serve: ServerFactory, team_state: str, runners: list[Runner], tmp_path: Path
) -> None:
    served = serve(env={"RECONCILER_SANDBOX_DELAY": "0.5"})
    four = team(tmp_path, runners, served.url, team_state, 4)
    processes = [runner.start("apply", "--auto-approve", "--lock-timeout", "120") for runner in four]
    outputs = [process.communicate(timeout=180) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], [err for _, err in outputs]
    # One applied the plan; the others waited for the lock, re-planned and found nothing to do.
    assert sorted(out == NO_CHANGES for out, _ in outputs) == [False, True, True, True]
    assert writes(estate) == 4
    # Any runner's history shows every run, from the one shared journal.
    history = four[3].cli("history", "--format", "json")
    assert history.returncode == 0
    store = open_store(team_state)
    try:
        runs = store.runs(10)
        assert sorted(str(run.outcome) for run in runs) == ["converged"] * 4
        assert sorted(run.succeeded for run in runs) == [0, 0, 0, 4]
        assert len({run.lock_name for run in runs}) == 1
        assert store.locks() == []
    finally:
        store.close()
    for run in runs:
        assert f'"id": "{run.id}"' in history.stdout


def test_runners_that_cannot_wait_fail_naming_the_holder(
    estate: Path, serve: ServerFactory, team_state: str, runners: list[Runner], tmp_path: Path
) -> None:
    served = serve(env={"RECONCILER_SANDBOX_DELAY": "6"})
    holder, *others = team(tmp_path, runners, served.url, team_state, 4)
    holder.start("apply", "--auto-approve")
    run_id = wait_for_lock(team_state)
    impatient = [runner.start("apply", "--auto-approve", "--lock-timeout", "0.5") for runner in others]
    named: set[str] = set()
    for process in impatient:
        out, err = process.communicate(timeout=60)
        if (process.returncode, out) == (0, NO_CHANGES):
            continue  # so slow a machine that the holder finished before this one even asked
        assert (process.returncode, out) == (1, ""), err
        found = HOLDER.search(err)
        assert found is not None, err
        named.add(found.group(1))
    assert holder.process is not None
    holder.process.communicate(timeout=120)
    assert holder.process.returncode == 0
    assert writes(estate) == 4
    store = open_store(team_state)
    try:
        runs = {run.id: run for run in store.runs(10)}
    finally:
        store.close()
    refused = [run for run in runs.values() if run.outcome is RunOutcome.REFUSED]
    assert refused and all(run.message is not None and "is locked by" in run.message for run in refused)
    # Each named a run that really held the lock: the holder, or one that took it after.
    assert run_id in named and named <= set(runs)


def test_a_killed_runners_lock_is_free_within_the_ttl(
    estate: Path, serve: ServerFactory, team_state: str, runners: list[Runner], tmp_path: Path
) -> None:
    served = serve(env={"RECONCILER_SANDBOX_DELAY": "2"})
    holder, *others = team(tmp_path, runners, served.url, team_state, 3, RECONCILER_LOCK_TTL="3")
    holder.start("apply", "--auto-approve")
    dead_run = wait_for_lock(team_state)
    time.sleep(0.5)  # its first requests are out
    assert holder.process is not None
    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait(timeout=10)
    waiting = [runner.start("apply", "--auto-approve", "--lock-timeout", "60") for runner in others]
    outputs = [process.communicate(timeout=120) for process in waiting]
    assert [process.returncode for process in waiting] == [0, 0], [err for _, err in outputs]
    assert others[0].cli("plan", "--detailed-exitcode").returncode == 0
    assert writes(estate) == 4
    store = open_store(team_state)
    try:
        dead = store.run(dead_run)
    finally:
        store.close()
    assert dead is not None and dead.outcome is RunOutcome.ABANDONED


def test_the_in_process_sandbox_and_its_server_are_one_lock(
    estate: Path, serve: ServerFactory, team_state: str, runners: list[Runner], tmp_path: Path
) -> None:
    served = serve(env={"RECONCILER_SANDBOX_DELAY": "6"})
    (over_http,) = team(tmp_path, runners, served.url, team_state, 1)
    over_http.start("apply", "--auto-approve")
    run_id = wait_for_lock(team_state)
    direct = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--lock-timeout", "0"],
        cwd=estate,
        env=clean_env(RECONCILER_STATE=team_state),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert direct.returncode == 1
    assert f"(run {run_id}) since " in direct.stderr
    assert over_http.process is not None
    over_http.process.communicate(timeout=120)
    assert writes(estate) == 4


@pytest.fixture
def own_postgres() -> Iterator[Server]:
    """A PostgreSQL of this test's own, to restart under a running apply."""
    with running_postgres() as server:
        if server is None:
            postgres_base_url()  # skips, or fails under CI=true
            raise AssertionError("unreachable")
        yield server


def test_postgres_restarted_mid_apply_gives_a_clear_error_and_a_rerun_converges(
    estate: Path, serve: ServerFactory, own_postgres: Server, runners: list[Runner], tmp_path: Path
) -> None:
    served = serve(env={"RECONCILER_SANDBOX_DELAY": "1.5"})
    state = own_postgres.url
    (runner,) = team(tmp_path, runners, served.url, state, 1)
    process = runner.start("apply", "--auto-approve")
    wait_for_lock(state)
    time.sleep(0.5)  # requests are out and being polled
    own_postgres.restart()
    out, err = process.communicate(timeout=120)
    public = f"postgresql://reconciler@127.0.0.1:{own_postgres.port}/reconciler"
    if process.returncode != 0:
        assert process.returncode == 1
        assert f"the state store {public} failed: " in err, err
    assert own_postgres.password not in out + err
    again = runner.cli("apply", "--auto-approve", "--lock-timeout", "60")
    assert again.returncode == 0, again.stderr
    assert runner.cli("plan", "--detailed-exitcode").returncode == 0
    assert writes(estate) == 4
    history = runner.cli("history")
    assert history.returncode == 0 and own_postgres.password not in history.stdout
    assert len(history.stdout.splitlines()) == 3  # a header and both runs
