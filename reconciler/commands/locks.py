"""`reconciler locks` and `reconciler unlock ID`: see and free the locks apply holds."""

from __future__ import annotations

import json
import sys
import time

from reconciler.errors import EXIT_OK, ReconcilerError
from reconciler.options import GlobalOptions
from reconciler.store import LockRecord, format_time, open_existing_store
from reconciler.store.identity import host_name, pid_alive
from reconciler.terminal import info


def list_locks(options: GlobalOptions, fmt: str) -> int:
    store = open_existing_store(options.state)
    records = [] if store is None else store.locks()
    if store is not None:
        store.close()
    now = time.time()
    if fmt == "json":
        payload = {"locks": [lock_to_json(lock, now) for lock in records]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(render_locks(records, now))
    return EXIT_OK


def unlock(options: GlobalOptions, lock_id: str) -> int:
    store = open_existing_store(options.state)
    released = None if store is None else store.release_lock(lock_id)
    if store is not None:
        store.close()
    if released is None:
        raise ReconcilerError(f"no lock with id {lock_id!r}", hint="'reconciler locks' lists the locks held")
    sys.stdout.write(
        f"Released lock {released.id} on {released.name} (held by {released.owner}, run {released.run_id}).\n"
    )
    if holder_state(released, time.time()) == "live":
        info(
            f"warning: its holder still looked alive; it stops starting changes at its next heartbeat, "
            f"and run {released.run_id} shows as abandoned in 'reconciler history'"
        )
    return EXIT_OK


def holder_state(lock: LockRecord, now: float) -> str:
    """live, expired, or dead (its process is gone from this host): what the next apply will do."""
    if lock.expired(now):
        return "expired"
    if lock.host == host_name() and not pid_alive(lock.pid):
        return "dead"
    return "live"


_STATE_NOTES = {
    "live": "held",
    "expired": "expired: the next apply takes it over",
    "dead": "its process is gone: the next apply takes it over",
}


def render_locks(records: list[LockRecord], now: float) -> str:
    if not records:
        return "No locks held.\n"
    blocks = []
    for lock in records:
        blocks.append(
            f"{lock.id}  {lock.name}  ({_STATE_NOTES[holder_state(lock, now)]})\n"
            f"  held by    {lock.owner}, run {lock.run_id}\n"
            f"  acquired   {format_time(lock.acquired)}\n"
            f"  heartbeat  {format_time(lock.heartbeat)}\n"
            f"  expires    {format_time(lock.expires)}\n"
        )
    return "\n".join(blocks)


def lock_to_json(lock: LockRecord, now: float) -> dict[str, object]:
    return {
        "id": lock.id,
        "name": lock.name,
        "owner": lock.owner,
        "host": lock.host,
        "pid": lock.pid,
        "run": lock.run_id,
        "acquired": format_time(lock.acquired),
        "heartbeat": format_time(lock.heartbeat),
        "expires": format_time(lock.expires),
        "state": holder_state(lock, now),
    }
