"""`sandbox serve` answers any local client: a real server on 127.0.0.1, raw sockets sending what a
careless or hostile client sends. Every request gets a JSON answer or a closed connection within
the server's bounds, never a crash, a thread held for good, or a look at another user's work."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.api import ConsoleApi
from reconciler.sandbox.faults import FaultSettings
from reconciler.sandbox.httpserver import ConsoleHttpServer, make_server
from reconciler.sandbox.seedfile import example_seed

ALICE_TOKEN = "sandbox-token-alice"
DANA_TOKEN = "sandbox-token-dana"
#: generous bounds for a test on a loaded machine; the server's own are 1 s and 2 s here
DROPPED_WITHIN = 20.0


@dataclass
class Running:
    server: ConsoleHttpServer
    port: int

    def connect(self) -> socket.socket:
        conn = socket.create_connection(("127.0.0.1", self.port), timeout=DROPPED_WITHIN)
        return conn

    def exchange(self, raw: bytes) -> tuple[int, dict[str, object]]:
        """Send raw bytes, read one answer: its status and JSON body."""
        with self.connect() as conn:
            conn.sendall(raw)
            return parse_answer(read_all(conn))


def read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse_answer(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


@pytest.fixture
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", "30")  # operations stay pending: readable
    console = SandboxConsole.create(tmp_path / "sandbox.db", example_seed())
    server = make_server(ConsoleApi(console), "127.0.0.1", 0, FaultSettings())
    server.socket_timeout, server.request_deadline = 1.0, 2.0
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield Running(server, server.port)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    console.close()


def request(method: str, path: str, body: bytes = b"", *, token: str = ALICE_TOKEN, extra: str = "") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Connection: close\r\nIdempotency-Key: k-1\r\n{extra}"
    )
    if "Content-Length" not in extra:
        head += f"Content-Length: {len(body)}\r\n"
    try:
        encoded = head.encode("latin-1")  # what http.server decodes headers as
    except UnicodeEncodeError:
        encoded = head.encode("utf-8")
    return encoded + b"\r\n" + body


def handler_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("Thread-") and t.daemon)


# --- a client that stops sending ----------------------------------------------------------------


@pytest.mark.parametrize(
    "partial",
    [
        b"",  # connects and says nothing
        b"GET /v1/me HT",  # half a request line
        b"GET /v1/me HTTP/1.1\r\nHost: x\r\n",  # headers never end
        b"POST /v1/sites HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",  # the body never comes
    ],
    ids=["silent", "request-line", "headers", "body"],
)
def test_a_client_that_stops_mid_request_is_dropped(running: Running, partial: bytes) -> None:
    with running.connect() as conn:
        conn.sendall(partial)
        started = time.monotonic()
        answer = read_all(conn)  # returns when the server closes the connection
    assert time.monotonic() - started < DROPPED_WITHIN
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 ")


def test_a_client_that_trickles_a_request_never_holds_a_thread(running: Running) -> None:
    # One byte at a time, each within the socket timeout: only the request's deadline stops it.
    before = handler_threads()
    line = b"GET /v1/me HTTP/1.1\r\nX-Slow: " + b"a" * 10_000
    with running.connect() as conn:
        started = time.monotonic()
        with pytest.raises(OSError):
            for byte in line:
                conn.sendall(bytes([byte]))
                time.sleep(0.3)
                if time.monotonic() - started > DROPPED_WITHIN:
                    pytest.fail("the server kept reading a trickling request")
                if conn.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b"":
                    raise ConnectionResetError("closed by the server")
    deadline = time.monotonic() + DROPPED_WITHIN
    while handler_threads() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert handler_threads() <= before


def test_many_stalled_clients_do_not_stop_others_being_served(running: Running) -> None:
    stalled = [running.connect() for _ in range(40)]
    try:
        for conn in stalled:
            conn.sendall(b"GET /v1/me HTTP/1.1\r\n")
        status, body = running.exchange(request("GET", "/v1/me"))
        assert (status, body["data"]) == (200, {"email": "alice@acme.example"})
    finally:
        for conn in stalled:
            conn.close()


# --- malformed requests: always a JSON 400 ----------------------------------------------------------


@pytest.mark.parametrize(
    "length",
    ["abc", "-1", "+5", " 5 x", "1_0", "\u0665", "\u00b2", "0x10", "9" * 40, "5, 6"],
    ids=lambda v: repr(v),
)
def test_a_malformed_content_length_is_400(running: Running, length: str) -> None:
    raw = request(
        "POST", "/v1/sites", b'{"org": "acme-corp", "name": "x"}', extra=f"Content-Length: {length}\r\n"
    )
    status, body = running.exchange(raw)
    assert (status, body) == (
        400,
        {
            "errors": [
                {
                    "status": "400",
                    "code": "invalid-request",
                    "title": "Bad request",
                    "detail": "Content-Length must be one number of bytes",
                }
            ]
        },
    )


def test_two_content_lengths_that_disagree_are_400(running: Running) -> None:
    extra = "Content-Length: 2\r\nContent-Length: 40\r\n"
    status, body = running.exchange(request("POST", "/v1/sites", b"{}", extra=extra))
    assert status == 400
    assert body["errors"][0]["detail"] == "Content-Length must be one number of bytes"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            b'{"org": "acme-corp", "name": "\\ud800"}',
            "the request body holds a lone surrogate (\\ud800-\\udfff)",
        ),
        (b'{"org": "\\udfff", "name": "x"}', "the request body holds a lone surrogate (\\ud800-\\udfff)"),
        (b'{"\\ud83d": 1}', "the request body holds a lone surrogate (\\ud800-\\udfff)"),
        (b"[" * 100_000 + b"]" * 100_000, "the request body is nested too deeply"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "the request body is nested too deeply"),
        (b'{"org": "a", "org": "b", "name": "x"}', "the request body names a field twice"),
        (b'{"org": "\xff", "name": "x"}', "the request body is not valid JSON in UTF-8"),
        (b'{"org": 1' + b"0" * 5000 + b', "name": "x"}', "the request body is not valid JSON in UTF-8"),
    ],
    ids=[
        "surrogate",
        "low-surrogate",
        "surrogate-key",
        "deep-array",
        "deep-object",
        "twice",
        "utf8",
        "digits",
    ],
)
def test_hostile_json_is_400(running: Running, body: bytes, detail: str) -> None:
    status, answer = running.exchange(request("POST", "/v1/sites", body))
    assert (status, answer["errors"][0]["detail"]) == (400, detail)  # type: ignore[index]


@pytest.mark.parametrize(
    "path",
    ["/v1/sites?limit=" + "9" * 5000, "/v1/sites?cursor=" + "W1" * 20_000],
    ids=["limit-digits", "deep-cursor"],
)
def test_hostile_query_values_are_400(running: Running, path: str) -> None:
    status, answer = running.exchange(request("GET", path))
    assert (status, answer["errors"][0]["code"]) == (400, "invalid-request")  # type: ignore[index]


def test_what_the_http_library_refuses_is_json_too(running: Running) -> None:
    status, answer = running.exchange(b"GET /v1/me HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n")
    assert (status, answer["errors"][0]["code"]) == (431, "invalid-request")  # type: ignore[index]
    status, answer = running.exchange(b"BREW /v1/me HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert (status, answer["errors"][0]["code"]) == (405, "method-not-allowed")  # type: ignore[index]


def test_control_characters_from_a_client_never_reach_the_log(tmp_path: Path, running: Running) -> None:
    lines: list[str] = []

    class Log:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    running.server.log = Log()  # type: ignore[assignment]
    running.exchange(request("GET", "/v1/%1b[31mred\x1b[0m\x07"))
    assert lines == [lines[0]]
    assert "\x1b" not in lines[0] and "\x07" not in lines[0]
    assert "/v1/%1b[31mred\\x1b[0m\\x07 401" in lines[0] or "/v1/%1b[31mred\\x1b[0m\\x07 404" in lines[0]


# --- one user's work is not another's ---------------------------------------------------------------


def _create_site(running: Running, token: str, name: str, key: str) -> tuple[int, dict[str, object]]:
    body = json.dumps({"org": "acme-corp", "name": name}).encode()
    raw = request("POST", "/v1/sites", body, token=token).replace(
        b"Idempotency-Key: k-1", f"Idempotency-Key: {key}".encode()
    )
    return running.exchange(raw)


def test_idempotency_keys_belong_to_their_user(running: Running) -> None:
    status, mine = _create_site(running, ALICE_TOKEN, "acme-align", "shared-key")
    assert status == 202
    # dana, admin of acme-labs only, uses the same key for another request: hers, refused on its own
    # merits, and nothing in the answer is alice's.
    status, theirs = _create_site(running, DANA_TOKEN, "dana-site", "shared-key")
    assert (status, theirs["errors"][0]["code"]) == (403, "org-admin")  # type: ignore[index]
    assert "acme-align" not in json.dumps(theirs)
    status, replay = _create_site(running, ALICE_TOKEN, "acme-align", "shared-key")
    assert (status, replay) == (202, mine)
    status, mismatch = _create_site(running, ALICE_TOKEN, "acme-other", "shared-key")
    assert (status, mismatch["errors"][0]["detail"]) == (  # type: ignore[index]
        422,
        "idempotency key 'shared-key' was already used for another request "
        '({"kind": "create-site", "org": "acme-corp", "site": "acme-align"})',
    )


def test_an_operation_is_readable_only_by_its_user(running: Running) -> None:
    status, created = _create_site(running, ALICE_TOKEN, "acme-align", "k")
    operation = created["data"]["id"]  # type: ignore[index]
    status, mine = running.exchange(request("GET", f"/v1/operations/{operation}"))
    assert (status, mine["data"]["status"]) == (200, "pending")  # type: ignore[index]
    for token in (DANA_TOKEN, "sandbox-token-partner"):
        status, other = running.exchange(request("GET", f"/v1/operations/{operation}", token=token))
        assert (status, other["errors"][0]) == (  # type: ignore[index]
            404,
            {
                "status": "404",
                "code": "not-found",
                "title": "Not found",
                "detail": f"operation {operation} does not exist",
            },
        )


def test_a_path_of_10000_characters_is_logged_by_its_start(running: Running) -> None:
    lines: list[str] = []

    class Log:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    running.server.log = Log()  # type: ignore[assignment]
    path = "/v1/subscriptions/SUB-" + "9" * 10_000
    running.exchange(request("GET", path))
    assert len(lines) == 1 and len(lines[0]) < 400
    assert f" GET {path[:200]}… ({len(path) - 200:,} more characters) " in lines[0]
