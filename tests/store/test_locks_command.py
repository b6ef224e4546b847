"""`reconciler locks` names a holder's state with the same word in text as in JSON."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.store.test_locking import NAME, start_holder

#: what the text says after the lock's name: the state JSON gives, then what it means
NOTES = {
    "live": "(live)",
    "expired": "(expired: the next apply takes it over)",
    "dead": "(dead, its process is gone: the next apply takes it over)",
}


@pytest.mark.parametrize("state", sorted(NOTES))
def test_text_and_json_name_a_holders_state_alike(run_cli: RunCli, tmp_path: Path, state: str) -> None:
    url = f"sqlite:{tmp_path / 'state.db'}"
    holder = start_holder(url, "run-a", ttl="1" if state == "expired" else "30")
    try:
        assert holder.stdout is not None
        lock_id = holder.stdout.readline().strip()
        if state == "expired":
            holder.send_signal(signal.SIGSTOP)  # alive, but its heartbeat stops
            time.sleep(1.5)
        elif state == "dead":
            holder.kill()
            holder.wait()
        env = {"RECONCILER_STATE": url}
        text = run_cli("locks", env=env)
        listed = json.loads(run_cli("locks", "--format", "json", env=env).stdout)["locks"]
    finally:
        holder.send_signal(signal.SIGCONT)
        holder.kill()
        holder.wait()
    assert text.stdout.splitlines()[0] == f"{lock_id}  {NAME}  {NOTES[state]}"
    assert [(lock["id"], lock["state"]) for lock in listed] == [(lock_id, state)]
