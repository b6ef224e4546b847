"""Fault injection for the sandbox server: the failures a real console's network and gateway produce.

A client that survives these (a 500, a reset connection, a write whose response never came back,
429s from a rate limiter) survives the real thing; `reconciler sandbox serve` turns them on by flag.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from enum import Enum


class Fault(Enum):
    NONE = "none"
    #: answer 500 without touching the console
    SERVER_ERROR = "server-error"
    #: reset the connection without touching the console
    RESET = "reset"
    #: make the write, then reset the connection instead of answering: the client cannot know it happened
    DROP_AFTER_WRITE = "drop-after-write"


@dataclass(frozen=True)
class FaultSettings:
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    rate_limit: float = 0.0
    seed: int | None = None


class FaultInjector:
    """Draws, per request, whether it fails and how. Thread-safe; reproducible with a seed."""

    def __init__(self, fail_rate: float, seed: int | None = None) -> None:
        self._fail_rate = fail_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self, *, is_write: bool) -> Fault:
        if self._fail_rate <= 0:
            return Fault.NONE
        with self._lock:
            if self._random.random() >= self._fail_rate:
                return Fault.NONE
            kinds = [Fault.SERVER_ERROR, Fault.RESET]
            if is_write:
                kinds.append(Fault.DROP_AFTER_WRITE)
            return self._random.choice(kinds)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: float
    remaining: int
    #: seconds until a request is allowed again (0 when one is allowed now)
    reset: float

    def headers(self) -> tuple[tuple[str, str], ...]:
        limit = f"{self.limit:g}"
        reset = f"{self.reset:.3f}"
        headers = [("X-RateLimit-Limit", limit), ("X-RateLimit-Remaining", str(self.remaining))]
        headers.append(("X-RateLimit-Reset", reset))
        if not self.allowed:
            # Retry-After is whole seconds (RFC 9110); the precise wait is in X-RateLimit-Reset.
            headers.append(("Retry-After", str(max(1, math.ceil(self.reset)))))
        return tuple(headers)


class RateLimiter:
    """A token bucket: `rate` requests per second on average, bursts of up to `rate` requests."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def acquire(self) -> RateDecision:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return RateDecision(True, self._rate, int(self._tokens), 0.0)
            wait = (1 - self._tokens) / self._rate
            return RateDecision(False, self._rate, 0, wait)
