"""Whether a lock's holder is alive: what a taker, `locks`, `unlock` and `history` all decide alike.

A holder is known by its random lock id and kept alive by its heartbeat. It is dead when the
heartbeat lapsed past its TTL, or at once when it is provably dead: its pid is gone from the
taker's own boot and PID namespace. A pid seen from another container or machine proves nothing,
so such a holder is waited out until its expiry.
"""

from __future__ import annotations

from enum import StrEnum

from reconciler.store.base import LockRecord
from reconciler.store.identity import host_name, pid_alive, pid_namespace


class HolderState(StrEnum):
    LIVE = "live"
    EXPIRED = "expired"  # its heartbeat lapsed past the TTL
    DEAD = "dead"  # its process is gone from this host and PID namespace


def holder_state(lock: LockRecord, now: float, taker: tuple[str, str] | None = None) -> HolderState:
    """How the holder stands, seen at `now` by `taker` (host, namespace): this process by default."""
    if lock.expired(now):
        return HolderState.EXPIRED
    host, namespace = taker if taker is not None else (host_name(), pid_namespace())
    same_place = lock.host == host and lock.namespace != "" and lock.namespace == namespace
    if same_place and not pid_alive(lock.pid):
        return HolderState.DEAD
    return HolderState.LIVE
