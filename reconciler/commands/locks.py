"""`reconciler locks` and `reconciler unlock ID`: see and free the locks apply holds."""

from __future__ import annotations

import json
import sys

from reconciler.errors import EXIT_OK, ReconcilerError
from reconciler.options import GlobalOptions
from reconciler.store import LockRecord, format_time, open_existing_store
from reconciler.store.liveness import HolderState, holder_state
from reconciler.terminal import visible


def list_locks(options: GlobalOptions, fmt: str) -> int:
    store = open_existing_store(options.state)
    records: list[LockRecord] = []
    now = 0.0
    if store is not None:
        try:
            records, now = store.locks(), store.clock()
        finally:
            store.close()
    if fmt == "json":
        payload = {"locks": [lock_to_json(lock, now) for lock in records]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(render_locks(records, now))
    return EXIT_OK


def unlock(options: GlobalOptions, lock_id: str, *, force: bool = False) -> int:
    store = open_existing_store(options.state)
    if store is None:
        raise _no_lock(lock_id)
    try:
        lock = next((held for held in store.locks() if held.id == lock_id), None)
        if lock is None:
            raise _no_lock(lock_id)
        if not force and holder_state(lock, store.clock()) is HolderState.LIVE:
            raise live_holder(lock)
        released = store.release_lock(lock_id)
    finally:
        store.close()
    if released is None:
        raise _no_lock(lock_id)  # released by its holder meanwhile
    sys.stdout.write(
        f"Released lock {visible(released.id)} on {visible(released.name)} "
        f"(held by {visible(released.owner)}, run {visible(released.run_id)}).\n"
    )
    return EXIT_OK


def _no_lock(lock_id: str) -> ReconcilerError:
    return ReconcilerError(f"no lock with id {lock_id!r}", hint="'reconciler locks' lists the locks held")


def live_holder(lock: LockRecord) -> ReconcilerError:
    return ReconcilerError(
        f"the lock {lock.id} on {lock.name} is held by {lock.owner} (run {lock.run_id}), whose heartbeat "
        f"is live: last beat {format_time(lock.heartbeat)}, expires {format_time(lock.expires)}",
        hint="wait for that run to finish (a holder that died frees its lock when it expires); "
        f"'reconciler unlock {lock.id} --force' releases it now, and that run stops starting changes "
        "at its next heartbeat",
    )


#: each state as `--format json` names it (`state`), then what it means for the next apply
_STATE_NOTES = {
    HolderState.LIVE: "live",
    HolderState.EXPIRED: "expired: the next apply takes it over",
    HolderState.DEAD: "dead, its process is gone: the next apply takes it over",
}


def render_locks(records: list[LockRecord], now: float) -> str:
    if not records:
        return "No locks held.\n"
    blocks = []
    for lock in records:
        # Every field comes from the team's shared store, where any runner (or its USER) wrote it.
        blocks.append(
            f"{visible(lock.id)}  {visible(lock.name)}  ({_STATE_NOTES[holder_state(lock, now)]})\n"
            f"  held by    {visible(lock.owner)}, run {visible(lock.run_id)}\n"
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
        "state": str(holder_state(lock, now)),
    }
