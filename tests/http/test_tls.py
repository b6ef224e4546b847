"""https: the certificate is verified, and a private CA is trusted only when RECONCILER_CA_BUNDLE names it."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.providers.base import ProviderSettings
from reconciler.providers.http import HttpProvider, open_http_provider
from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.api import ConsoleApi
from reconciler.sandbox.faults import FaultSettings
from reconciler.sandbox.httpserver import make_server
from tests.http.conftest import ALICE, TOKEN, sandbox_db


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def https_url(estate: Path, certificate: tuple[Path, Path]) -> Iterator[str]:
    """The console API over TLS on 127.0.0.1, with a self-signed certificate."""
    console = SandboxConsole(sandbox_db(estate))
    server = make_server(ConsoleApi(console), "127.0.0.1", 0, FaultSettings())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.port}"
    server.shutdown()
    server.server_close()
    console.close()


def test_an_unverifiable_certificate_is_refused(https_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_CA_BUNDLE", raising=False)
    provider = open_http_provider(ProviderSettings(url=https_url, token=TOKEN))
    with pytest.raises(ReconcilerError) as caught:
        provider.observe()
    provider.close()
    assert re.fullmatch(
        rf"the console at {re.escape(https_url)} presented a certificate that cannot be verified: "
        r"\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: self[- ]signed certificate .*",
        caught.value.message,
    ), caught.value.message
    assert caught.value.hint == (
        "if it is signed by your own CA, point RECONCILER_CA_BUNDLE at that CA's PEM bundle"
    )


def test_a_ca_bundle_makes_it_trusted(
    https_url: str, certificate: tuple[Path, Path], estate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_CA_BUNDLE", str(certificate[0]))
    provider = open_http_provider(ProviderSettings(url=https_url, token=TOKEN))
    try:
        observed = provider.observe()
    finally:
        provider.close()
    with SandboxConsole(sandbox_db(estate)) as console:
        assert observed == console.observe(ALICE)


def test_an_unreadable_ca_bundle_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.pem"
    monkeypatch.setenv("RECONCILER_CA_BUNDLE", str(missing))
    with pytest.raises(ReconcilerError) as caught:
        open_http_provider(ProviderSettings(url="https://console.example.com", token=TOKEN))
    assert caught.value.message == (
        f"cannot use the CA bundle {missing} from RECONCILER_CA_BUNDLE: [Errno 2] No such file or directory"
    )
    assert caught.value.hint == (
        "point RECONCILER_CA_BUNDLE at a readable PEM file of CA certificates, or unset it"
    )


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An http:// proxy that tunnels CONNECT to wherever it is asked, noting each request's head."""

    daemon_threads = True
    heads: list[str]


class _Tunnel(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.request.recv(4096)
        self.server.heads.append(head.decode())
        host, port = head.split(b" ")[1].decode().rsplit(":", 1)
        with socket.create_connection((host, int(port))) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            threading.Thread(target=_pump, args=(upstream, self.request), daemon=True).start()
            _pump(self.request, upstream)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)


def test_an_https_console_is_reached_through_the_proxy_the_environment_names(
    https_url: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = ConnectProxy(("127.0.0.1", 0), _Tunnel)
    proxy.heads = []
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://who:pass%21@127.0.0.1:{proxy.server_address[1]}")
    verify = ssl.create_default_context(cafile=str(certificate[0]))
    provider = HttpProvider(https_url, TOKEN, verify=verify, trust_env=True)
    try:
        assert provider.console_id() is not None
    finally:
        provider.close()
        proxy.shutdown()
        proxy.server_close()
    (head,) = proxy.heads
    assert head.startswith(f"CONNECT {https_url.removeprefix('https://')} HTTP/1.")
    assert "Proxy-Authorization: Basic d2hvOnBhc3Mh\r\n" in head
