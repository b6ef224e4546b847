"""The http provider reads an answer's head itself: a stand-in console on 127.0.0.1 that answers
canned bytes, one connection after another, and records every request it read."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from reconciler.errors import ProviderError
from reconciler.providers.http import RetryPolicy
from reconciler.providers.http.transport import Transport

BODY = b'{"data": {"email": "alice@acme.example"}, "meta": {}}'
ONE_TRY = RetryPolicy(max_attempts=1, max_elapsed=5.0, base_delay=0.01, max_delay=0.01)


class Canned:
    """Answers each request it reads with the next of `answers`, on as few connections as the client
    keeps open; `connections` counts the ones it accepted."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.connections = 0
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(10)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(10)
                while self.answers:
                    request = conn.recv(65536)
                    if not request:
                        break
                    self.requests.append(request)
                    conn.sendall(self.answers.pop(0))

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=10)


@pytest.fixture
def canned() -> Iterator[list[Canned]]:
    made: list[Canned] = []
    yield made
    for one in made:
        one.close()


def transport_for(canned: list[Canned], *answers: bytes) -> tuple[Canned, Transport]:
    canned.append(Canned(list(answers)))
    return canned[-1], Transport(canned[-1].url, "tok-1", verify=False, retry=ONE_TRY, trust_env=False)


def ok(*headers: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + b"".join(headers) + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY


def test_a_folded_header_continues_the_value_before_it(canned: list[Canned]) -> None:
    _, transport = transport_for(canned, ok(b"Date: Wed, 02 Dec 2026\r\n 01:00:00 GMT\r\n"))
    transport.request("GET", "/v1/me")
    assert transport.last_date == "Wed, 02 Dec 2026 01:00:00 GMT"


def test_a_line_without_a_colon_hides_no_header_after_it(canned: list[Canned]) -> None:
    _, transport = transport_for(canned, ok(b"Garbage\r\nDate: Wed, 02 Dec 2026 01:00:00 GMT\r\n"))
    assert transport.request("GET", "/v1/me")["data"] == {"email": "alice@acme.example"}
    assert transport.last_date == "Wed, 02 Dec 2026 01:00:00 GMT"


@pytest.mark.parametrize(
    "first",
    [
        ok(),
        b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n" + ok(),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        + b"%x\r\n" % len(BODY)
        + BODY
        + b"\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n" + ok()[len(b"HTTP/1.1 200 OK\r\n") :],
    ],
    ids=["content-length", "after-100-continue", "chunked-over-a-length", "http-1.0-keep-alive"],
)
def test_a_connection_is_kept_when_the_answer_says_where_it_ends(canned: list[Canned], first: bytes) -> None:
    server, transport = transport_for(canned, first, ok())
    for _ in range(2):
        assert transport.request("GET", "/v1/me")["data"] == {"email": "alice@acme.example"}
    assert server.connections == 1


@pytest.mark.parametrize(
    "first",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n" + ok()[len(b"HTTP/1.1 200 OK\r\n") :],
        b"HTTP/1.0 200 OK\r\n" + ok()[len(b"HTTP/1.1 200 OK\r\n") :],
    ],
    ids=["connection-close", "http-1.0"],
)
def test_a_connection_the_answer_closes_is_not_used_again(canned: list[Canned], first: bytes) -> None:
    server, transport = transport_for(canned, first, ok())
    for _ in range(2):
        assert transport.request("GET", "/v1/me")["data"] == {"email": "alice@acme.example"}
    assert server.connections == 2


def test_a_write_sends_its_head_and_body_together(canned: list[Canned]) -> None:
    server, transport = transport_for(canned, ok())
    transport.request("POST", "/v1/sites", body={"org": "o", "name": "n"}, idempotency_key="k-1")
    (request,) = server.requests
    assert request.startswith(b"POST /v1/sites HTTP/1.1\r\n")
    assert request.endswith(b'\r\n\r\n{"org":"o","name":"n"}')


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b"HTTP/2 200 OK\r\n\r\n", "HTTP/2"),
        (b"HTTZ/1.1 200 OK\r\n\r\n", "HTTZ/1.1 200 OK\r\n"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 100 + b"\r\n", "more than 99 headers"),
        (
            b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000 + b"\r\n\r\n",
            "got more than 65536 bytes when reading header line",
        ),
    ],
    ids=["http-2", "not-http", "too-many-headers", "long-header"],
)
def test_a_head_that_is_not_http_1_is_a_protocol_error(
    canned: list[Canned], answer: bytes, problem: str
) -> None:
    _, transport = transport_for(canned, answer)
    with pytest.raises(ProviderError) as failed:
        transport.request("GET", "/v1/me")
    assert failed.value.code == "unavailable"
    assert failed.value.message.partition(" (last: ")[2] == f"RemoteProtocolError: {problem})"
