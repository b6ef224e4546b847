"""A served console's next observation, built as soon as its writes pause.

After a stream of writes the next read (a client verifying what it wrote, say) reads and encodes
the whole console again: tens of milliseconds at a thousand subscriptions, most of a verification's
time beyond its round trip. The server builds it in the background instead, once no write has come
for `QUIET` seconds, on a thread of its own: never during a stream of writes, never in a request.
A read that comes meanwhile builds it itself as before (the builds share one lock), and one that
comes later finds it built. What a build raises is left to the next read to report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: how long the console must go without a write before its observation is built
QUIET = 0.02


class WarmAfterWrites:
    """Calls `build(actor)` once writes pause, with the actor of the last write."""

    def __init__(self, build: Callable[[str], object]) -> None:
        self._build = build
        self._written = threading.Event()
        self._last = 0.0
        self._actor = ""
        threading.Thread(target=self._run, name="warm-after-writes", daemon=True).start()

    def written(self, actor: str) -> None:
        self._last, self._actor = time.monotonic(), actor
        self._written.set()

    def _run(self) -> None:
        while self._written.wait():
            self._written.clear()  # a write from here on sets it again: built again after it
            while (left := self._last + QUIET - time.monotonic()) > 0:
                time.sleep(left)
            try:
                self._build(self._actor)
            except Exception:  # a damaged console: the next read says so, as it would have
                continue
