"""Telling whoever makes a change that a provider is sending its request again.

A provider retries a write inside one `execute` call (the http provider: after a 5xx, a reset, a
timeout, a 429). Each of those tries reached, or may have reached, the console, so the journal
records each as an attempt of the change. The provider does not know about the journal, and
apply does not know about HTTP: the provider reports here, apply listens here, for the calls it
makes on its own thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import msgspec


class RetryNotice(msgspec.Struct, frozen=True):
    """One try of a write that failed and is about to be sent again."""

    code: str
    message: str


Listener = Callable[[RetryNotice], None]
_listener: ContextVar[Listener | None] = ContextVar("retry_listener", default=None)


@contextmanager
def retries_reported_to(listener: Listener) -> Iterator[None]:
    """While the block runs (on this thread), a provider's retries of a write go to `listener`; it
    may raise to stop the retrying."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report_retry(notice: RetryNotice) -> None:
    listener = _listener.get()
    if listener is not None:
        listener(notice)
