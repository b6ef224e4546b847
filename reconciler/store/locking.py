"""Holding a lock for a whole run: wait for it, keep it alive, give it back.

A holder is known by its lock id, a random token fresh per acquisition. A heartbeat thread pushes
the expiry TTL seconds past each beat, every TTL/3, by the store's clock (so runners whose clocks
disagree still agree on it). If the holder dies the heartbeat stops and the lock is taken over
once it expires; at once only when its death is provable (`liveness`). Any `StateStore` gets this.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from collections.abc import Callable

import msgspec

from reconciler.bounds import Bounds, env_number
from reconciler.errors import Interrupted, ReconcilerError
from reconciler.store.base import LockRecord, LockRequest, StateStore, format_time
from reconciler.store.identity import host_name, owner_of_this_process, pid_namespace
from reconciler.terminal import printable

DEFAULT_TTL = 30.0
#: Seconds a lock lives without a heartbeat; shorter in tests of expiry, longer on slow storage.
ENV_LOCK_TTL = "RECONCILER_LOCK_TTL"
#: Under half a second the heartbeat would hammer the store; past an hour a dead holder's lock
#: would stand in the way for longer than anyone waits.
LOCK_TTL_BOUNDS = Bounds("a number of seconds", 0.5, 3600, "30")
POLL_INTERVAL = 0.2
RELEASE_TRIES = 5
RELEASE_PAUSE = 1.0


def lock_ttl() -> float:
    return env_number(ENV_LOCK_TTL, LOCK_TTL_BOUNDS, DEFAULT_TTL)


class HeldLock(msgspec.Struct):
    """A lock this process holds, renewed in the background until `release`."""

    store: StateStore
    record: LockRecord
    ttl: float
    #: set when a renewal finds the lock gone (someone ran `reconciler unlock` on it)
    lost: threading.Event = msgspec.field(default_factory=threading.Event)
    _stop: threading.Event = msgspec.field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start_heartbeat(self, on_lost: Callable[[], None] | None = None) -> None:
        def beat() -> None:
            while not self._stop.wait(self.ttl / 3):
                try:
                    held = self.store.renew_lock(self.record.id, self.store.clock(), self.ttl)
                except Exception:  # a busy database now is retried at the next beat
                    continue
                if not held:
                    self.lost.set()
                    if on_lost is not None:
                        on_lost()
                    return

        self._thread = threading.Thread(target=beat, name="lock-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.lost.is_set():
            return
        error: ReconcilerError | None = None
        # A database restarting answers again within seconds: worth a few tries before giving up.
        for _ in range(RELEASE_TRIES):
            try:
                self.store.release_lock(self.record.id)
                return
            except ReconcilerError as failed:
                error = failed
                time.sleep(RELEASE_PAUSE)
        if error is not None:
            # The run's own outcome matters more; an unreleased lock expires on its own.
            sys.stderr.write(
                f"warning: the lock {self.record.id} was not released ({printable(error.message)}); "
                f"it expires within {format_seconds(self.ttl)}\n"
            )


def new_lock_id() -> str:
    return "lk-" + secrets.token_hex(5)


def acquire(
    store: StateStore,
    name: str,
    run_id: str,
    timeout: float,
    *,
    stop: threading.Event | None = None,
    on_wait: Callable[[LockRecord], None] | None = None,
) -> HeldLock:
    """Take the lock `name`, waiting up to `timeout` seconds for its holder to let go."""
    ttl = lock_ttl()
    request_id = new_lock_id()
    started = time.monotonic()
    told: str | None = None
    while True:
        request = LockRequest(
            id=request_id,
            name=name,
            owner=owner_of_this_process(),
            host=host_name(),
            pid=os.getpid(),
            run_id=run_id,
            now=store.clock(),
            ttl=ttl,
            namespace=pid_namespace(),
        )
        holder = store.acquire_lock(request)
        if holder.id == request_id:
            return HeldLock(store=store, record=holder, ttl=ttl)
        waited = time.monotonic() - started
        if waited >= timeout:
            raise locked_error(holder, waited)
        if on_wait is not None and told != holder.id:
            told = holder.id
            on_wait(holder)
        pause = min(POLL_INTERVAL, timeout - waited)
        if stop is not None:
            if stop.wait(pause):
                raise Interrupted("interrupted while waiting for the lock")
        else:
            time.sleep(pause)


def locked_error(holder: LockRecord, waited: float) -> ReconcilerError:
    return ReconcilerError(
        f"the console {holder.name} is locked by {holder.owner} (run {holder.run_id}) "
        f"since {format_time(holder.acquired)}; waited {format_seconds(waited)}",
        hint=f"wait for that run to finish (or raise --lock-timeout); if its holder is gone for good, "
        f"'reconciler unlock {holder.id}' releases the lock",
    )


def format_seconds(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.0f}s"
    return f"{seconds:.1f}s"
