"""Daemon threads started without waiting for each one to run.

`threading.Thread.start()` returns only once the new thread has run its first steps: the caller
sleeps until the new thread wakes it. On a virtual machine (a CI runner) that hand-over measured
from 0.1 ms to 2 ms a thread, so `apply --parallelism 64` spent 30 to 80 ms starting its workers
before its first request, and the console server started the thread of each new connection in
turn, behind one another. A thread started here runs as soon as the system schedules it, while
the caller goes on: 64 start in about 3 ms.

For daemon threads that nothing joins: what such a thread raises must be caught by its target
(each one here keeps what it raised for its caller), as an uncaught exception would be printed.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable
from typing import Any


def start_daemon(target: Callable[..., object], *args: Any) -> None:
    """Run `target(*args)` on a new daemon thread, without waiting for it to start."""
    _thread.start_new_thread(target, args)
