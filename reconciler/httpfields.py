"""Header fields of an HTTP/1.x message, as both ends of the console API keep them.

The standard library keeps them in an `email` message, made for mail: building one and looking a
name up in it cost more than the rest of reading a request's or an answer's head. The console's
server (sandbox/httphead.py) and the http provider (providers/http/responses.py) each read lines
into these, each as strictly as its side should.
"""

from __future__ import annotations

from typing import Protocol

#: the longest request, status or header line read, without its line ending
MAX_LINE = 65536
#: lines of a head after its first line, the blank line that ends it included
MAX_LINES = 100


class Lines(Protocol):
    """Where a head is read from: a connection's buffered reader."""

    def readline(self, size: int, /) -> bytes: ...


class Fields:
    """Header fields in the order received, looked up by name without regard to case."""

    __slots__ = ("_by_name", "_pairs")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._by_name: dict[str, list[str]] = {}
        for name, value in pairs:
            self._by_name.setdefault(name.lower(), []).append(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of the field `name`."""
        values = self._by_name.get(name.lower())
        return default if values is None else values[0]

    def get_all(self, name: str) -> list[str] | None:
        """Every value of the field `name`, in order; None when there is none."""
        values = self._by_name.get(name.lower())
        return None if values is None else list(values)

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def lowered(self) -> dict[str, str]:
        """Lower-case names to values; of a field sent more than once, the last value."""
        return {name: values[-1] for name, values in self._by_name.items()}
