"""An answer's head, read without the `email` package.

`http.client` reads an answer's headers into an `email` message: about a tenth of the client's
CPU per request. `Response` reads the same lines into `Fields` and leaves everything after the head
to `http.client`: the body by Content-Length, chunks or the connection's end, and whether the
connection stays open. It reads as leniently as `http.client` where a console may be sloppy
(a name is taken as sent, up to its colon), and more sanely where the `email` reading is odd: a
folded line continues the value before it, joined by a space (RFC 9112), and a line without a
colon is skipped rather than hiding every header after it.
"""

from __future__ import annotations

import http.client

from reconciler.httpfields import MAX_LINE, MAX_LINES, Fields, Lines

#: the statuses whose answers have no body, whatever their headers say
_NO_BODY = frozenset({http.client.NO_CONTENT, http.client.NOT_MODIFIED})


class Response(http.client.HTTPResponse):
    """The response class of the provider's connections."""

    headers: Fields  # type: ignore[assignment]
    msg: Fields  # type: ignore[assignment]

    def begin(self) -> None:
        # The attributes set here are the ones http.client's own begin() sets and its read() uses.
        if self.headers is not None:  # already begun
            return
        version, status, reason = self._read_status()
        while status == http.client.CONTINUE:  # an interim answer: its head is skipped
            read_fields(self.fp)
            version, status, reason = self._read_status()
        self.code = self.status = status
        self.reason = reason.strip()
        self.version = _version(version)
        self.headers = self.msg = read_fields(self.fp)
        encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(encoding) and encoding.lower() == "chunked"
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None if self.chunked else _length(self.headers.get("content-length"))
        if status in _NO_BODY or 100 <= status < 200 or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body ends where the connection does


def read_fields(stream: Lines) -> Fields:
    """An answer's header fields, up to the blank line (or the end of the connection)."""
    pairs: list[tuple[str, str]] = []
    for _ in range(MAX_LINES):
        raw = stream.readline(MAX_LINE + 1)
        if len(raw) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if raw in (b"\r\n", b"\n", b""):
            return Fields(pairs)
        line = raw.decode("latin-1").rstrip("\r\n")
        if line[:1] in (" ", "\t"):
            if pairs:
                name, value = pairs[-1]
                pairs[-1] = (name, value + " " + line.strip(" \t"))
            continue
        name, colon, value = line.partition(":")
        if colon:
            pairs.append((name, value.lstrip(" \t")))
    raise http.client.HTTPException(f"more than {MAX_LINES - 1} headers")


def _version(version: str) -> int:
    """http.client's number for the answer's version: 10 or 11 (for any HTTP/1.x past 1.0)."""
    if version in ("HTTP/1.0", "HTTP/0.9"):
        return 10
    if version.startswith("HTTP/1."):
        return 11
    raise http.client.UnknownProtocol(version)


def _length(value: str | None) -> int | None:
    """The declared length, or None for none usable (http.client takes what int() takes)."""
    if not value:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None
