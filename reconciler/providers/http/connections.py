"""Keep-alive HTTP/1.1 connections to one console, on the standard library's `http.client`.

A request costs a few tenths of a millisecond of CPU here, a third of what a general-purpose
client with its own connection pool, event model and URL objects takes; `apply` sends one per
change, so that is the client's share of every change. Idle connections are kept (at most
`KEEP_IDLE`, enough for `apply --parallelism 64`) and checked for a close by the console before
they are used again. Proxies from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
`NO_PROXY`) are used when `trust_env`: an https console through an http:// proxy's CONNECT tunnel.
Failures are raised as the `TransportError` kinds below, the cause chained, so the caller can
tell a certificate or a name that does not resolve from a failure worth a retry.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import ssl
import threading
import zlib
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import msgspec

from reconciler.httpfields import Fields
from reconciler.providers.http.responses import Response

#: idle connections kept open for the next request
KEEP_IDLE = 64
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
_CHUNK = 1 << 16


class TransportError(Exception):
    """No answer: the request may or may not have reached the console."""


class ConnectError(TransportError):
    pass


class ConnectTimeout(TransportError):
    pass


class WriteError(TransportError):
    pass


class WriteTimeout(TransportError):
    pass


class ReadError(TransportError):
    pass


class ReadTimeout(TransportError):
    pass


class RemoteProtocolError(TransportError):
    """The console answered something that is not HTTP, or hung up without an answer."""


class LocalProtocolError(TransportError):
    """A request this client cannot make (a header value or a proxy it cannot send): never retried."""


class AnswerTooLarge(Exception):
    """The answer is longer than the cap (declared, streamed or decompressed): refused unread."""


class Answer(msgspec.Struct, frozen=True):
    status_code: int
    #: case-insensitive `get`
    headers: Fields
    content: bytes
    method: str
    path: str


class Connections:
    """A pool of connections to the origin of `base_url`, shared by every thread of a client."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        verify: ssl.SSLContext | bool,
        trust_env: bool,
    ) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path.rstrip("/")
        self._headers = {**headers, "Accept-Encoding": "gzip, deflate"}
        self._verify = verify
        self._context: ssl.SSLContext | None = None
        self._proxy: _Proxy | None = None
        #: a proxy the environment names that this client cannot use: every request fails with it
        self._proxy_error: LocalProtocolError | None = None
        if trust_env:
            try:
                self._proxy = _proxy_for(parts.scheme, self._host)
            except LocalProtocolError as error:
                self._proxy_error = error
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def send(
        self, method: str, path: str, query: str, body: bytes | None, headers: dict[str, str], cap: int
    ) -> Answer:
        """One request and its whole answer, read up to `cap` bytes (decompressed)."""
        target = self._prefix + path + (f"?{query}" if query else "")
        if self._proxy is not None and not self._https:
            target = self._origin + target  # a plain-http proxy takes the absolute form
        sent = {**self._headers, **headers}
        if body is not None:
            sent["Content-Type"] = "application/json"
        connection = self._checkout()
        try:
            response = self._exchange(connection, method, target, body, sent)
            content = _read_capped(response, cap)
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._give_back(connection)
        return Answer(response.status, response.headers, content, method, path)

    def _exchange(
        self,
        connection: _Connection,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> Response:
        if connection.sock is None:
            _connect(connection)
        try:
            connection.hold_head = body is not None
            connection.request(method, target, body=body, headers=headers)
            connection.release()
        except (ValueError, http.client.InvalidURL) as exc:
            raise LocalProtocolError(str(exc)) from exc
        except TimeoutError as exc:
            raise WriteTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise WriteError(str(exc)) from exc
        try:
            return cast(Response, connection.getresponse())  # the connection's response_class
        except http.client.HTTPException as exc:
            raise RemoteProtocolError(str(exc) or type(exc).__name__) from exc
        except TimeoutError as exc:
            raise ReadTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise ReadError(str(exc)) from exc

    def _checkout(self) -> _Connection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._new_connection()
            if not _dropped(connection):
                return connection
            connection.close()  # the console closed it while it was idle: open another

    def _give_back(self, connection: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < KEEP_IDLE:
                self._idle.append(connection)
                return
        connection.close()

    def _new_connection(self) -> _Connection:
        if self._proxy_error is not None:
            raise self._proxy_error
        host, port = (self._host, self._port) if self._proxy is None else self._proxy.address
        if not self._https:
            return _Connection(host, port, timeout=CONNECT_TIMEOUT)
        connection = _SecureConnection(host, port, timeout=CONNECT_TIMEOUT, context=self._tls())
        if self._proxy is not None:
            connection.set_tunnel(self._host, self._port, headers=self._proxy.headers)
        return connection

    def _tls(self) -> ssl.SSLContext:
        """The TLS context, made once (loading the CA store takes tens of milliseconds)."""
        if self._context is None:
            if isinstance(self._verify, ssl.SSLContext):
                self._context = self._verify
            elif self._verify:
                self._context = ssl.create_default_context()
            else:
                self._context = ssl._create_unverified_context()
        return self._context


class _Connection(http.client.HTTPConnection):
    """Connects within the connect timeout, then reads with the (longer) read timeout; sends a
    request's head and body in one write."""

    response_class = Response
    #: the next write is a head whose body follows: hold it and send both at once
    hold_head = False
    _held: bytes | None = None

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(READ_TIMEOUT)
        # An answer-sized request leaves in one segment, without waiting for a delayed ACK.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data: Any) -> None:  # what http.client sends: bytes, a file, an iterable
        # http.client writes a head and its body apart: two segments to send, and two reads for the
        # console. Joined, a write request costs each side one system call and one segment less.
        if self.hold_head and isinstance(data, bytes):
            self.hold_head, self._held = False, data
            return
        held, self._held = self._held, None
        if held is not None and isinstance(data, bytes):
            data = held + data
        elif held is not None:
            super().send(held)
        super().send(data)

    def release(self) -> None:
        """Send a head still held (a request whose body never came)."""
        held, self._held, self.hold_head = self._held, None, False
        if held is not None:
            super().send(held)


class _SecureConnection(_Connection, http.client.HTTPSConnection):
    pass


class _Proxy(msgspec.Struct, frozen=True):
    address: tuple[str, int]
    headers: dict[str, str]


def _proxy_for(scheme: str, host: str) -> _Proxy | None:
    """The proxy the environment names for this scheme and host, unless NO_PROXY exempts the host."""
    import urllib.request  # only here: loopback consoles never ask, and it imports much

    proxies = urllib.request.getproxies_environment()
    url = proxies.get(scheme) or proxies.get("all")
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise LocalProtocolError(
            f"only http:// proxies are supported (the environment names {parts.scheme}://)"
        )
    headers: dict[str, str] = {}
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return _Proxy((parts.hostname, parts.port or 80), headers)


def _connect(connection: http.client.HTTPConnection) -> None:
    try:
        connection.connect()
    except TimeoutError as exc:
        raise ConnectTimeout(str(exc) or "timed out") from exc
    except (OSError, http.client.HTTPException) as exc:  # refused, unresolvable, TLS, a proxy's refusal
        raise ConnectError(str(exc) or type(exc).__name__) from exc


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """An idle connection with something to read was closed by the console (or is out of step)."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _read_capped(response: Response, cap: int) -> bytes:
    declared = _number(response.getheader("Content-Length"))
    if declared is not None and declared > cap:
        raise AnswerTooLarge
    decoder = _decoder(response.getheader("Content-Encoding"))
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := response.read(_CHUNK):
            if decoder is not None:
                chunk = decoder.decompress(chunk, cap + 1 - size)
                if decoder.unconsumed_tail:
                    raise AnswerTooLarge
            size += len(chunk)
            if size > cap:
                raise AnswerTooLarge
            chunks.append(chunk)
        if decoder is not None:
            chunks.append(decoder.flush())
    except http.client.HTTPException as exc:
        raise RemoteProtocolError(str(exc) or type(exc).__name__) from exc
    except zlib.error as exc:
        raise RemoteProtocolError(f"the answer's compression is broken: {exc}") from exc
    except TimeoutError as exc:
        raise ReadTimeout(str(exc) or "timed out") from exc
    except OSError as exc:
        raise ReadError(str(exc)) from exc
    return b"".join(chunks)


def _decoder(encoding: str | None) -> zlib._Decompress | None:
    name = (encoding or "").strip().lower()
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return zlib.decompressobj()
    return None


def _number(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None
