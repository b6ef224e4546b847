"""Observing the console while apply waits for its identity, before the lock, when that is safe.

Over HTTP, apply needs the console's identity (a round trip) to name its lock, and holds the lock
before it observes. The observation can be made during that round trip instead, if afterwards the
state store proves that no other run could have changed the console in between: the lock was not
held by anyone when the observation started, and nobody else wrote to the store until this run
took the lock. Any other run must take that lock (a write) before it changes the console, and
gives it back (another write). Otherwise the early observation is dropped and the console is
observed again under the lock, as it always was.
"""

from __future__ import annotations

import threading

from reconciler.model import Console
from reconciler.providers.base import Provider
from reconciler.store import StateStore, StoreMark
from reconciler.threads import start_daemon


class EarlyObservation:
    """One observation through `provider`, started now on a daemon thread."""

    def __init__(self, provider: Provider, mark: StoreMark) -> None:
        self.provider = provider
        self._mark = mark
        self._outcome: Console | Exception | None = None
        self._done = threading.Event()
        self._stands = False
        start_daemon(self._observe)

    def _observe(self) -> None:
        try:
            self._outcome = self.provider.observe()
        except Exception as error:  # raised where planning observes, if the observation stands
            self._outcome = error
        except BaseException:  # nothing of this thread's is ever printed: None, planning observes again
            self._outcome = None
        finally:
            self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def confirm(self, store: StateStore, lock_name: str) -> None:
        """Decide whether the observation stands: call at once after taking the lock without
        waiting for it, before this run writes to the store. Until called, it does not stand."""
        self._stands = lock_name not in self._mark.held and not store.written_since(self._mark)

    def outcome(self) -> Console | Exception | None:
        """The console as observed, or what observing it raised, if the observation stands (see
        `confirm`); else None at once: observe again (the provider serves both at a time)."""
        if not self._stands:
            return None
        self._done.wait()
        return self._outcome


def observe_early(provider: Provider, store: StateStore) -> EarlyObservation | None:
    """Start observing through `provider`, or None (and the provider closed) when the store cannot
    tell afterwards whether anyone else wrote to it."""
    mark = store.mark()  # before the observation starts: anything committed after it is seen
    if mark is None:
        provider.close()
        return None
    return EarlyObservation(provider, mark)
