"""The numbers a user gives on the command line or in the environment, and the ranges they must fit.

`float()` reads "nan", "inf" and "1e300" without a word, and Python's ints have no end: each one
would go on to a sleep, a timestamp or a database query and fail there, far from the flag that
caused it. So every number a user gives is checked here against a finite range at once, and a
refusal names the flag or variable, the range and an example.
"""

from __future__ import annotations

import math
import os

import msgspec

from reconciler.errors import ReconcilerError


class Bounds(msgspec.Struct, frozen=True):
    """What a number means (`a number of seconds`), its least and greatest value, and an example."""

    what: str
    low: float
    high: float
    example: str
    #: the least value itself is refused (a timeout of 0 s)
    above_low: bool = False
    integer: bool = False

    def describe(self) -> str:
        if self.above_low:
            return f"{self.what} more than {_number(self.low)} and at most {_number(self.high)}"
        return f"{self.what} from {_number(self.low)} to {_number(self.high)}"

    def read(self, text: str) -> float | None:
        """The number `text` spells when it is in range, else None (NaN and infinities never are)."""
        try:
            # An int stays an int: a 400-digit one compares exactly, where float() would overflow.
            value: float = int(text) if self.integer else float(text)
        except ValueError:
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if value > self.high or value < self.low or (self.above_low and value == self.low):
            return None
        return value


def env_number(name: str, bounds: Bounds, default: float) -> float:
    """The environment variable `name` read within `bounds`; `default` when unset or blank."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    value = bounds.read(raw.strip())
    if value is None:
        raise ReconcilerError(
            f"{name}={raw!r} is not {bounds.describe()}",
            hint=f"e.g. {name}={bounds.example}, or unset it for the default ({_number(default)})",
        )
    return value


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)
