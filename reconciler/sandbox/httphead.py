"""The head of an HTTP/1.x request: its request line and header fields, read from the connection.

The standard library parses request headers with the `email` package, built for mail messages:
52 us of CPU for a provision's seven headers, where this takes 13 us. It is also stricter where a
lenient reading lets a client smuggle one request into another (RFC 9112): a folded line (one
starting with whitespace), a line without a colon, a name that is not a token (whitespace before
the colon included) and a NUL or a lone CR are refused with a 400, where the `email` reading
joined such lines to the previous header or silently dropped every header after them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.httpfields import MAX_LINE, MAX_LINES, Fields, Lines

_VERSION = re.compile(r"HTTP/([0-9]{1,10})\.([0-9]{1,10})")
#: a field line: a token, the colon right after it, the value without its leading blanks
_FIELD = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00\r\n]*)\r?\n")
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class HeadError(Exception):
    """A request head refused: the status and detail of the JSON answer, and the version it is
    written in (HTTP/0.9, a body alone, while the request line has not named a valid one)."""

    def __init__(self, status: int, detail: str, *, version: str = "HTTP/0.9") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.version = version


@dataclass(frozen=True, slots=True)
class RequestLine:
    method: str
    target: str
    #: as sent ("HTTP/1.1"); "HTTP/0.9" for a request line without one
    version: str
    #: HTTP/1.1 or later: the connection stays open unless the client says otherwise
    persistent: bool


def parse_request_line(raw: bytes) -> RequestLine | None:
    """The request line's parts; None for a line of only whitespace (no request at all).

    The version is checked before the number of words, so a refusal of a line with a valid
    version is answered in that version."""
    text = raw.decode("latin-1").rstrip("\r\n")
    words = text.split()
    if not words:
        return None
    version, persistent = "HTTP/0.9", False
    if len(words) >= 3:
        version, persistent = _version(words[-1])
    if not 2 <= len(words) <= 3:
        raise HeadError(400, f"Bad request syntax ({text!r})", version=version)
    if len(words) == 2 and words[0] != "GET":
        raise HeadError(400, f"Bad HTTP/0.9 request type ({words[0]!r})")
    target = words[1]
    if target.startswith("//"):  # a browser would read //host/path as another origin
        target = "/" + target.lstrip("/")
    return RequestLine(words[0], target, version, persistent)


def _version(word: str) -> tuple[str, bool]:
    """The version as sent, and whether its connections stay open by default (1.1 and later)."""
    match = _VERSION.fullmatch(word)
    if match is None:
        raise HeadError(400, f"Bad request version ({word!r})")
    number = int(match.group(1)), int(match.group(2))
    if number >= (2, 0):
        raise HeadError(505, f"Invalid HTTP version ({word[5:]})")
    return word, number >= (1, 1)


def read_fields(stream: Lines) -> Fields:
    """The header fields up to the blank line that ends them."""
    pairs: list[tuple[str, str]] = []
    for _ in range(MAX_LINES):
        line = stream.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise HeadError(431, "Line too long")
        if line in (b"\r\n", b"\n"):
            return Fields(pairs)
        match = _FIELD.fullmatch(line)
        if match is None:
            raise HeadError(400, _refusal(line))
        pairs.append((match.group(1).decode("ascii"), match.group(2).decode("latin-1")))
    raise HeadError(431, "Too many headers")


def _refusal(line: bytes) -> str:
    """Why a header line is not one (a client's bytes are never quoted: they may hold a token)."""
    if not line.endswith(b"\n"):
        return "the request ended before the blank line that ends its headers"
    if line[:1] in (b" ", b"\t"):
        return "a header line starts with whitespace: folded header lines are not accepted"
    name, colon, _ = line.partition(b":")
    if not colon:
        return "a header line has no colon: each header is a name, a colon and a value"
    if _NAME.fullmatch(name) is None:
        return "a header name must be letters, digits or !#$%&'*+-.^_`|~ and end at its colon"
    return "a header value holds a NUL or a carriage return"
