"""Real processes racing, crashing and being stopped: nothing is written twice, nothing is lost."""

from __future__ import annotations

import signal

import pytest

from reconciler.store import RunOutcome, format_time
from reconciler.store.identity import host_name, user_name
from tests.apply.conftest import Estate, normalise, wait_for

SLOW = {"RECONCILER_SANDBOX_DELAY": "1.0"}
#: long enough that a second process, started on a loaded machine, still finds the first one running
SLOWER = {"RECONCILER_SANDBOX_DELAY": "3.0"}


def in_flight(estate: Estate, count: int) -> bool:
    """Whether the running apply has sent `count` requests the console answered `pending`."""
    runs = estate.runs() if (estate.root / ".reconciler" / "state.db").exists() else []
    return bool(runs) and sum(a.operation_id is not None for a in estate.attempts(runs[0].id)) >= count


def test_kill_9_mid_apply_then_apply_again_converges_without_a_duplicate(estate: Estate) -> None:
    first = estate.start("apply", "--auto-approve", env=SLOW)
    wait_for(lambda: in_flight(estate, 3), what="three requests in flight")
    first.kill()
    first.wait()

    again = estate.cli(
        "apply", "--auto-approve", "--lock-timeout", "0", env=SLOW
    )  # the dead pid's lock is free
    assert again.returncode == 0, again.stderr
    assert estate.cli("plan", "--detailed-exitcode").returncode == 0
    # One site and three provisions took effect, whatever was sent twice.
    assert estate.writes() == 4
    console = estate.console()
    assert "acme-align" in console.observe(None).sites
    console.close()

    second_run, first_run = estate.runs()
    assert first_run.outcome is RunOutcome.ABANDONED
    assert first_run.message == f"its process ended without finishing; run {second_run.id} took the lock"
    crashed = estate.attempts(first_run.id)
    assert {a.change_id for a in crashed} == {
        "create-site:acme-align",
        "provision:SUB-1001:focus",
        "provision:SUB-1001:talent",
    }
    assert {str(a.outcome) for a in crashed} == {"started"}
    assert all(a.operation_id is not None and a.finished is None for a in crashed)
    assert second_run.outcome is RunOutcome.CONVERGED
    assert estate.cli("locks").stdout == "No locks held.\n"


def test_two_applies_at_once_one_waits_then_fails_naming_the_holder(estate: Estate) -> None:
    first = estate.start("apply", "--auto-approve", env=SLOWER)
    wait_for(lambda: in_flight(estate, 1), what="the first apply to hold the lock")
    patient = estate.start("apply", "--auto-approve", "--lock-timeout", "60")
    store = estate.store()
    (lock,) = store.locks()
    store.close()

    second = estate.cli("apply", "--auto-approve", "--lock-timeout", "0.5")
    assert (second.returncode, second.stdout) == (1, ""), second.stderr
    holder = f"{user_name()}@{host_name()} pid {first.pid} (run {lock.run_id})"
    since = format_time(lock.acquired)
    assert second.stderr == (
        f"waiting up to 0.5s for the lock on {estate.console_name}, held by {holder} since {since}\n"
        f"error: the console {estate.console_name} is locked by {holder} since {since}; "
        "waited 0.5s\n"
        "hint: wait for that run to finish (or raise --lock-timeout); if its holder is gone for good, "
        f"'reconciler unlock {lock.id}' releases the lock\n"
    )
    assert first.wait(timeout=60) == 0
    # The patient one waited for the lock, re-planned, and found nothing left to do.
    out, _ = patient.communicate(timeout=60)
    assert (patient.returncode, out) == (
        0,
        "No changes: the console already matches desired state; nothing was applied.\n",
    )
    assert estate.writes() == 4
    outcomes = sorted(str(run.outcome) for run in estate.runs())
    assert outcomes == ["converged", "converged", "refused"]


def test_two_spellings_of_one_console_share_its_lock(estate: Estate) -> None:
    first = estate.start("apply", "--auto-approve", env=SLOW)
    wait_for(lambda: in_flight(estate, 1), what="the first apply to hold the lock")
    other = estate.cli(
        "--provider",
        "sandbox:./.reconciler/../.reconciler/sandbox.db",
        "apply",
        "--auto-approve",
        "--lock-timeout",
        "0",
    )
    assert other.returncode == 1
    assert f"error: the console {estate.console_name} is locked by " in other.stderr
    assert first.wait(timeout=60) == 0
    assert estate.writes() == 4


def test_a_dead_holders_lock_is_listed_and_can_be_unlocked_by_id(estate: Estate) -> None:
    first = estate.start("apply", "--auto-approve", env=SLOW)
    wait_for(lambda: in_flight(estate, 1), what="the first apply to hold the lock")
    first.send_signal(signal.SIGKILL)
    first.wait()
    store = estate.store()
    (lock,) = store.locks()
    store.close()
    assert estate.cli("locks").stdout == (
        f"{lock.id}  {estate.console_name}  (dead, its process is gone: the next apply takes it over)\n"
        f"  held by    {user_name()}@{host_name()} pid {first.pid}, run {lock.run_id}\n"
        f"  acquired   {format_time(lock.acquired)}\n"
        f"  heartbeat  {format_time(lock.heartbeat)}\n"
        f"  expires    {format_time(lock.expires)}\n"
    )
    released = estate.cli("unlock", lock.id)
    assert released.returncode == 0
    assert released.stdout == (
        f"Released lock {lock.id} on {estate.console_name} "
        f"(held by {user_name()}@{host_name()} pid {first.pid}, run {lock.run_id}).\n"
    )
    assert estate.cli("locks").stdout == "No locks held.\n"
    assert str(estate.runs()[0].outcome) == "abandoned"
    unknown = estate.cli("unlock", lock.id)
    assert unknown.returncode == 1
    assert (
        unknown.stderr
        == f"error: no lock with id '{lock.id}'\nhint: 'reconciler locks' lists the locks held\n"
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_apply_records_in_flight_work_releases_the_lock_and_exits_130(
    estate: Estate, sig: signal.Signals
) -> None:
    first = estate.start("apply", "--auto-approve", env=SLOW)
    wait_for(lambda: in_flight(estate, 3), what="three requests in flight")
    first.send_signal(sig)
    stdout, stderr = first.communicate(timeout=30)
    assert first.returncode == 130
    (summary,) = [line for line in stdout.splitlines() if line.startswith("Applied")]
    assert normalise(summary) == "Applied 0 of 4 changes in N.Ns: 3 interrupted, 1 not started."
    assert stderr.splitlines()[-1] == (
        f"error: interrupted by {sig.name}: 3 interrupted, 1 not started; "
        "in-flight changes are recorded in the journal and the lock is released"
    )
    assert estate.cli("locks").stdout == "No locks held.\n"
    (run,) = estate.runs()
    assert (run.outcome, run.interrupted, run.unfinished) == (RunOutcome.INTERRUPTED, 3, 0)
    assert {a.error_message for a in estate.attempts(run.id)} == {
        f"stopped while operation {a.operation_id} was pending; the console finishes it on its own"
        for a in estate.attempts(run.id)
    }
    again = estate.cli("apply", "--auto-approve", env=SLOW)
    assert again.returncode == 0, again.stderr
    assert estate.writes() == 4


def test_an_apply_whose_lock_is_taken_away_stops_starting_changes(estate: Estate) -> None:
    env = {**SLOWER, "RECONCILER_LOCK_TTL": "0.6"}  # a heartbeat every 0.2 s notices quickly
    first = estate.start("apply", "--auto-approve", env=env)
    wait_for(lambda: in_flight(estate, 3), what="three requests in flight")
    store = estate.store()
    (lock,) = store.locks()
    store.close()
    refused = estate.cli("unlock", lock.id)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0].startswith(
        f"error: the lock {lock.id} on {estate.console_name} is held by {lock.owner} (run {lock.run_id}), "
        "whose heartbeat is live: last beat "
    )
    assert estate.cli("unlock", lock.id, "--force").returncode == 0
    _, stderr = first.communicate(timeout=30)
    assert first.returncode == 1
    assert stderr.splitlines()[-2:] == [
        f"error: the lock on {estate.console_name} was released by someone else "
        "('reconciler unlock') during the run: stopped starting changes; 3 interrupted, 1 not started",
        f"hint: 'reconciler history --run {lock.run_id}' shows every attempt; fix the cause and apply again: "
        "what succeeded is not repeated",
    ]
    (run,) = estate.runs()
    assert (run.outcome, run.interrupted) == (RunOutcome.FAILED, 3)
