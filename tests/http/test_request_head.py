"""The request head as the server reads it: a real server on 127.0.0.1, raw sockets.

A head that could be read two ways (a folded line, a line without a colon, a name with blanks
before its colon, a lone CR that a proxy would take for a line end) is refused whole with a JSON
400, so no header is ever taken from where it was not meant to be; what HTTP/1.0 and 1.1 say of
keeping a connection open is kept."""

from __future__ import annotations

import re
import socket

import pytest

from tests.http import test_hostile_clients
from tests.http.test_hostile_clients import ALICE_TOKEN, DROPPED_WITHIN, Running, parse_answer, read_all

#: the same fixture: a real server on 127.0.0.1 with short timeouts
running = test_hostile_clients.running

AUTH = f"Authorization: Bearer {ALICE_TOKEN}\r\n".encode()
ME = {"email": "alice@acme.example"}


def answer_of(running: Running, raw: bytes, *, half_close: bool = False) -> bytes:
    with running.connect() as conn:
        conn.sendall(raw)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        return read_all(conn)


def error_of(raw: bytes) -> tuple[int, str]:
    status, body = parse_answer(raw)
    return status, body["errors"][0]["detail"]  # type: ignore[index]


def answers(raw: bytes) -> list[bytes]:
    """The status lines of every answer on one connection, in order."""
    return re.findall(rb"HTTP/1\.1 [^\r]*", raw)


FOLDED = "a header line starts with whitespace: folded header lines are not accepted"
NO_COLON = "a header line has no colon: each header is a name, a colon and a value"
BAD_NAME = "a header name must be letters, digits or !#$%&'*+-.^_`|~ and end at its colon"
BAD_VALUE = "a header value holds a NUL or a carriage return"


@pytest.mark.parametrize(
    ("head", "detail"),
    [
        # folded onto the line before, the token would have been read as "Bearer sandbox-token-alice"
        (b"Authorization: Bearer\r\n " + ALICE_TOKEN.encode() + b"\r\n", FOLDED),
        (b"\tX-Note: first\r\n" + AUTH, FOLDED),
        # every header after a line without a colon used to be dropped unseen
        (b"Garbage\r\n" + AUTH, NO_COLON),
        (AUTH + b"Content-Length : 5\r\n", BAD_NAME),
        (AUTH + b"X(y): z\r\n", BAD_NAME),
        (AUTH + b": nameless\r\n", BAD_NAME),
        (AUTH + "Caf\u00e9: x\r\n".encode("latin-1"), BAD_NAME),
        (AUTH + b"X-Note: a\x00b\r\n", BAD_VALUE),
        # a lone CR: the Content-Length after it is not a header of this request
        (AUTH + b"X-Note: a\rContent-Length: 5\r\n", BAD_VALUE),
    ],
    ids=[
        "folded",
        "folded-first",
        "no-colon",
        "space-before-colon",
        "bad-name",
        "empty-name",
        "latin-1-name",
        "nul",
        "cr",
    ],
)
def test_a_head_that_reads_two_ways_is_refused(running: Running, head: bytes, detail: str) -> None:
    raw = b"GET /v1/me HTTP/1.1\r\nHost: x\r\n" + head + b"Connection: close\r\n\r\n"
    answer = answer_of(running, raw)
    assert error_of(answer) == (400, detail)
    assert answer.partition(b"\r\n\r\n")[0].endswith(b"\r\nConnection: close")


def test_a_head_cut_off_before_its_blank_line_is_refused(running: Running) -> None:
    answer = answer_of(running, b"GET /v1/me HTTP/1.1\r\nHost: x\r\n" + AUTH, half_close=True)
    assert error_of(answer) == (400, "the request ended before the blank line that ends its headers")


@pytest.mark.parametrize(
    ("raw", "status", "detail"),
    [
        (b"GET /v1/me HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431, "Line too long"),
        (b"GET /v1/me HTTP/1.1\r\n" + b"X: y\r\n" * 100 + b"\r\n", 431, "Too many headers"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "Request-URI Too Long"),
        (b"GET /a b HTTP/1.1\r\n\r\n", 400, "Bad request syntax ('GET /a b HTTP/1.1')"),
    ],
    ids=["long-header", "many-headers", "long-request-line", "four-words"],
)
def test_oversized_and_malformed_heads_are_refused(
    running: Running, raw: bytes, status: int, detail: str
) -> None:
    assert error_of(answer_of(running, raw)) == (status, detail)


def test_ninety_nine_headers_are_read(running: Running) -> None:
    raw = b"GET /v1/me HTTP/1.1\r\n" + AUTH + b"X: y\r\n" * 97 + b"Connection: close\r\n\r\n"
    status, body = parse_answer(answer_of(running, raw))
    assert (status, body["data"]) == (200, ME)


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        (b"GET /v1/me HTTP/2.0", '"Invalid HTTP version (2.0)"'),
        (b"GET /v1/me HTTP/1.x", "\"Bad request version ('HTTP/1.x')\""),
        (b"POST /v1/me", "\"Bad HTTP/0.9 request type ('POST')\""),
    ],
    ids=["http-2", "bad-version", "http-0.9-post"],
)
def test_a_request_line_without_a_usable_version_is_answered_with_a_body_alone(
    running: Running, line: bytes, detail: str
) -> None:
    # Without a version it can read, the server answers as HTTP/0.9 does: no status line, no headers.
    answer = answer_of(running, line + b"\r\n\r\n")
    assert answer.startswith(b'{"errors":[{"status":"')
    assert answer.endswith(b'"detail":' + detail.encode() + b"}]}")


@pytest.mark.parametrize(
    ("version", "connection", "served"),
    [
        (b"HTTP/1.1", b"", 2),
        (b"HTTP/1.1", b"Connection: keep-alive\r\n", 2),
        (b"HTTP/1.1", b"Connection: close\r\n", 1),
        (b"HTTP/1.1", b"Connection: CLOSE\r\n", 1),
        (b"HTTP/1.0", b"", 1),
        (b"HTTP/1.0", b"Connection: keep-alive\r\n", 2),
    ],
    ids=["1.1", "1.1-keep-alive", "1.1-close", "1.1-close-upper", "1.0", "1.0-keep-alive"],
)
def test_a_connection_stays_open_as_its_version_and_header_say(
    running: Running, version: bytes, connection: bytes, served: int
) -> None:
    first = b"GET /v1/me " + version + b"\r\nHost: x\r\n" + AUTH + connection + b"\r\n"
    second = b"GET /v1/me HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Connection: close\r\n\r\n"
    assert answers(answer_of(running, first + second)) == [b"HTTP/1.1 200 OK"] * served


def test_expect_100_continue_is_answered_before_the_body(running: Running) -> None:
    body = b'{"org": "acme-corp", "name": "x"}'
    head = (
        b"POST /v1/sites HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Idempotency-Key: k-1\r\nExpect: 100-continue\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    )
    with running.connect() as conn:
        conn.sendall(head)
        conn.settimeout(DROPPED_WITHIN)
        interim = conn.recv(25)
        conn.sendall(body)
        rest = read_all(conn)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert error_of(rest)[0] == 422  # the site name is refused by a console rule: the body was read


@pytest.mark.parametrize(
    ("tokens", "status"),
    [(("nope", ALICE_TOKEN), 200), ((ALICE_TOKEN, "nope"), 401)],
    ids=["last-good", "first-good"],
)
def test_of_a_header_sent_twice_the_api_reads_the_last(
    running: Running, tokens: tuple[str, str], status: int
) -> None:
    auth = b"".join(f"Authorization: Bearer {token}\r\n".encode() for token in tokens)
    raw = b"GET /v1/me HTTP/1.1\r\nHost: x\r\n" + auth + b"Connection: close\r\n\r\n"
    assert parse_answer(answer_of(running, raw))[0] == status


def test_a_target_no_url_parser_reads_is_400(running: Running) -> None:
    raw = b"GET http://[::1/v1/me HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Connection: close\r\n\r\n"
    assert error_of(answer_of(running, raw)) == (400, "the request target is not a URL path")
