"""The console API on a socket: the standard library's threading HTTP server, with faults around it.

Each request runs in its own thread: the latency is slept there, so 16 concurrent requests with
50 ms of latency take 50 ms, not 800.

Any local client may connect, so the server bounds what a client can hold: a socket that stays
silent (or will not read its answer) for `SOCKET_TIMEOUT` seconds is dropped, and a request that
has not arrived whole `REQUEST_DEADLINE` seconds after its connection started waiting for it is
cut off however slowly it trickles in. Whatever a client sends, it gets a JSON answer.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TextIO
from urllib.parse import SplitResult, parse_qs, urlsplit

import msgspec

from reconciler.httpfields import Fields
from reconciler.sandbox.api import Request, Response, error_response
from reconciler.sandbox.faults import Fault, FaultInjector, FaultSettings, RateDecision, RateLimiter
from reconciler.sandbox.httphead import HeadError, parse_request_line, read_fields
from reconciler.terminal import visible
from reconciler.threads import start_daemon

MAX_BODY = 1 << 20
_ENCODER = msgspec.json.Encoder()
#: seconds a connection may stay silent, or refuse to read its answer, before it is dropped
SOCKET_TIMEOUT = 5.0
#: seconds from waiting for a request to having read it whole (request line, headers and body)
REQUEST_DEADLINE = 10.0
#: the longest Content-Length worth parsing: MAX_BODY has 7 digits
_MAX_LENGTH_DIGITS = 18


class Deadlines:
    """Cuts off connections whose request is still arriving past its deadline.

    A socket timeout alone bounds each wait for a byte, not the whole request: a client sending
    one byte every few seconds would hold its thread for ever. One watcher thread shuts such
    sockets down, which wakes the blocked read with an end of file.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self._due: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._interval = interval
        threading.Thread(target=self._watch, name="request-deadlines", daemon=True).start()

    def start(self, connection: socket.socket, seconds: float) -> None:
        with self._lock:
            self._due[connection] = time.monotonic() + seconds

    def done(self, connection: socket.socket) -> None:
        with self._lock:
            self._due.pop(connection, None)

    def close(self) -> None:
        self._closed.set()

    def _watch(self) -> None:
        while not self._closed.wait(self._interval):
            now = time.monotonic()
            with self._lock:
                late = [conn for conn, due in self._due.items() if due <= now]
                for conn in late:
                    del self._due[conn]
            for conn in late:
                with contextlib.suppress(OSError):  # already closed by its handler
                    conn.shutdown(socket.SHUT_RDWR)


class ApiFace(Protocol):
    """An API the server can serve: the console API (api.py) or the Admin API stand-in (adminapi.py)."""

    def handle(self, request: Request) -> Response: ...

    def rate_limited(self, decision: RateDecision) -> Response:
        """The answer to a request beyond the rate limit."""
        ...

    def http_date(self) -> str | None:
        """The Date header to send, or None for the wall clock's."""
        ...


class ConsoleHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        api: ApiFace,
        faults: FaultSettings,
        *,
        log: TextIO | None = None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.socket_timeout = SOCKET_TIMEOUT
        self.request_deadline = REQUEST_DEADLINE
        self.deadlines = Deadlines()  # before binding: a failed bind calls server_close()
        super().__init__(address, ConsoleRequestHandler)
        self.api = api
        self.latency = faults.latency_ms / 1000.0
        self.injector = FaultInjector(faults.fail_rate, faults.seed)
        self.limiter = RateLimiter(faults.rate_limit)
        self.log = log
        self._log_lock = threading.Lock()
        self._date = (0, "")

    def wall_date(self) -> str:
        """The Date header of now, formatted once a second rather than for every answer."""
        second = int(time.time())
        cached = self._date
        if cached[0] != second:
            cached = self._date = (second, email.utils.formatdate(second, usegmt=True))
        return cached[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        """Each connection's thread, started without waiting for it to run (reconciler/threads.py):
        the base class waits, so the connections of a client opening 64 at once were accepted one
        thread start after another. Nothing joins them: daemon_threads is set."""
        start_daemon(self.process_request_thread, request, client_address)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def write_log(self, line: str) -> None:
        if self.log is None:
            return
        with self._log_lock:
            # The line quotes the request path and errors: a client's bytes, shown and never acted on,
            # and clipped as every output is: a path of megabytes is logged by its start.
            self.log.write(visible(line) + "\n")
            self.log.flush()

    def server_close(self) -> None:
        self.deadlines.close()
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is routine under fault injection, not worth a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        self.write_log(f"{client_address[0]} internal error: {type(error).__name__}: {error}")


class ConsoleRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "reconciler-sandbox-console"
    # Small answers must leave at once: with Nagle's algorithm on, an answer sent in two writes
    # waits for the client's delayed ACK (40 ms on Linux), which doubles a 50 ms round trip.
    disable_nagle_algorithm = True
    # A buffered writer: headers and body leave in one write when the request is done.
    wbufsize = 1 << 16
    server: ConsoleHttpServer
    headers: Fields  # type: ignore[assignment]  # read by httphead, not the email package
    raw_requestline: bytes

    # Every standard method goes through the API, which answers 405 (with Allow) where the
    # contract has none, instead of the base class's HTML 501.
    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = do_QUERY = do_GET

    def date_time_string(self, timestamp: float | None = None) -> str:
        return self.server.api.http_date() or self.server.wall_date()

    def log_message(self, format: str, *args: Any) -> None:
        # BaseHTTPRequestHandler's own log lines; ours (without headers, so never a token) are in _serve.
        return

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.socket_timeout)

    def handle_one_request(self) -> None:
        """One request, read within the server's deadline (the body is read in `_read_body`)."""
        self.server.deadlines.start(self.connection, self.server.request_deadline)
        try:
            super().handle_one_request()
        except TimeoutError:
            self.close_connection = True  # silent past the socket timeout: drop it, no answer owed
        finally:
            self.server.deadlines.done(self.connection)

    def parse_request(self) -> bool:
        """The request line and headers (httphead.py); False when there is no request to serve,
        any refusal already answered."""
        self.command, self.request_version, self.close_connection = "", "HTTP/0.9", True
        self.requestline = str(self.raw_requestline, "latin-1").rstrip("\r\n")
        try:
            line = parse_request_line(self.raw_requestline)
            if line is None:
                return False
            self.command, self.path, self.request_version = line.method, line.target, line.version
            self.close_connection = not line.persistent
            self.headers = read_fields(self.rfile)
        except HeadError as error:
            if not self.command:
                self.request_version = error.version
            self.send_error(error.status, error.detail)
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        # HTTP/1.0 has no 100 Continue; versions compare as the base class compares them, as text.
        expect = self.headers.get("Expect") or ""
        if expect.lower() == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def handle_expect_100(self) -> bool:
        # The writer is buffered: without a flush the interim answer would wait for the final one.
        super().handle_expect_100()
        self.wfile.flush()
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own refusals (a malformed request line, headers too long, ...) in the API's
        JSON shape instead of its HTML page."""
        self.close_connection = True
        detail = message or explain or HTTPStatus(code).phrase
        error_code = "internal-error" if code >= 500 else "invalid-request"
        if code == 501:  # a method name the standard library knows nothing of
            code, error_code = 405, "method-not-allowed"
        response = error_response(error_code, detail, status=code)
        if not hasattr(self, "command") or self.command is None:
            self.command = ""
        self._send(response)

    def _serve(self) -> None:
        started = time.monotonic()
        target = _split(self.path)
        response, fault = self._answer(target)
        if response is None or fault is Fault.DROP_AFTER_WRITE:
            self._reset()
            status = "reset"
        else:
            self._send(response)
            status = str(response.status)
        elapsed = (time.monotonic() - started) * 1000
        suffix = "" if fault is Fault.NONE else f" (injected: {fault.value})"
        if response is not None and response.note:
            suffix += f": {response.note}"
        path = self.path if target is None else target.path
        self.server.write_log(
            f"{self.client_address[0]} {self.command} {path} {status} {elapsed:.0f}ms{suffix}"
        )

    def _answer(self, target: SplitResult | None) -> tuple[Response | None, Fault]:
        """The response to send (None: drop the connection) and the fault injected, if any."""
        body = self._read_body()
        self.server.deadlines.done(self.connection)
        if isinstance(body, Response):
            return body, Fault.NONE
        if target is None:
            return error_response("invalid-request", "the request target is not a URL path"), Fault.NONE
        if self.server.latency:
            time.sleep(self.server.latency)
        if self.server.limiter.enabled:
            decision = self.server.limiter.acquire()
            if not decision.allowed:
                return self.server.api.rate_limited(decision), Fault.NONE
        is_write = self.command == "POST"
        fault = self.server.injector.draw(is_write=is_write)
        if fault is Fault.RESET:
            return None, fault
        if fault is Fault.SERVER_ERROR:
            return error_response("internal-error", "the console failed (injected fault)"), fault
        request = Request(
            method=self.command,
            path=target.path,
            query=parse_qs(target.query, keep_blank_values=True) if target.query else {},
            headers=self.headers.lowered(),
            body=body,
        )
        try:
            response = self.server.api.handle(request)
        except Exception as exc:
            self.server.write_log(f"internal error: {type(exc).__name__}: {exc}")
            return error_response("internal-error", "the console failed unexpectedly"), Fault.NONE
        return response, fault

    def _read_body(self) -> bytes | Response:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return error_response("invalid-request", "send the body with a Content-Length, not chunked")
        values = self.headers.get_all("Content-Length") or ["0"]
        length = _content_length(values)
        if length is None:
            # The body's end cannot be known, so neither can the next request's start: close.
            self.close_connection = True
            return error_response("invalid-request", "Content-Length must be one number of bytes")
        if length > MAX_BODY:
            self.close_connection = True
            return error_response("payload-too-large", f"the request body is over {MAX_BODY} bytes")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            return error_response("invalid-request", "the request body ended before its Content-Length")
        return body

    def _send(self, response: Response) -> None:
        """The answer in one buffered write: its head built at once, byte for byte what the base
        class's send_response and send_header write (and, to HTTP/0.9, no head at all)."""
        payload = _encoded(response.body)
        if self.request_version != "HTTP/0.9":
            self.wfile.write(self._head(response, len(payload)))
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _head(self, response: Response, length: int) -> bytes:
        known = self.responses.get(response.status)
        lines = [
            f"{self.protocol_version} {response.status} {known[0] if known else ''}\r\n"
            f"Server: {self.version_string()}\r\nDate: {self.date_time_string()}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
        ]
        for name, value in response.headers:
            lines.append(f"{name}: {value}\r\n")
            if name.lower() == "connection" and value.lower() in ("close", "keep-alive"):
                self.close_connection = value.lower() == "close"
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def _reset(self) -> None:
        """Drop the connection with a TCP reset: the client sees no response at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


def _split(target: str) -> SplitResult | None:
    """The request target's parts; None for one no URL parser reads (`http://[::1/`)."""
    try:
        return urlsplit(target)
    except ValueError:
        return None


def _encoded(body: Any) -> bytes:
    """The body as compact JSON, byte for byte what json.dumps writes: msgspec's encoder is an
    order of magnitude faster (a page of 1,000 subscriptions: 0.3 ms against 4 ms) and writes the
    same bytes for ASCII text; anything else keeps json.dumps's \\uXXXX escapes."""
    try:
        payload = _ENCODER.encode(body)
    except (TypeError, ValueError, UnicodeEncodeError):
        payload = b""  # e.g. a lone surrogate, which only json.dumps escapes
    if payload and payload.isascii() and b"\x7f" not in payload:  # json.dumps escapes DEL too
        return payload
    return json.dumps(body, separators=(",", ":")).encode()


def _content_length(values: list[str]) -> int | None:
    """The one length all Content-Length headers agree on; None when they do not, or one is not
    plain ASCII digits (int() would take "+5", " 5", "1_0" or Arabic-Indic digits)."""
    lengths = {value.strip(" \t") for value in values}
    if len(lengths) != 1:
        return None
    (raw,) = lengths
    if not raw or len(raw) > _MAX_LENGTH_DIGITS or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def make_server(
    api: ApiFace, host: str, port: int, faults: FaultSettings, *, log: TextIO | None = None
) -> ConsoleHttpServer:
    return ConsoleHttpServer((host, port), api, faults, log=log)
