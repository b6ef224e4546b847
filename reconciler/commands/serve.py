"""`reconciler sandbox serve`: the sandbox console over its REST API, with optional fault injection."""

from __future__ import annotations

import errno
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from reconciler.errors import EXIT_OK, ReconcilerError
from reconciler.network import is_loopback
from reconciler.options import GlobalOptions
from reconciler.secrets import without_credentials
from reconciler.terminal import info

if TYPE_CHECKING:
    from reconciler.sandbox.console import SandboxConsole
    from reconciler.sandbox.httpserver import ApiFace, ConsoleHttpServer

SANDBOX_SCHEME = "sandbox:"


def run(
    options: GlobalOptions,
    *,
    host: str,
    port: int,
    latency_ms: float,
    fail_rate: float,
    rate_limit: float,
    fault_seed: int | None,
    api: str = "console",
) -> int:
    from reconciler.sandbox.checkpoints import IdleCheckpoints
    from reconciler.sandbox.faults import FaultSettings
    from reconciler.sandbox.httpserver import make_server
    from reconciler.sandbox.location import open_console

    _require_sandbox(options.provider)
    if not is_loopback(host):
        info(
            f"warning: serving on {host}, reachable from the network; this sandbox's tokens are in its "
            "seed file, so anyone who can reach it can act as its users"
        )
    console = open_console(options.provider)
    try:
        console.check_whole()
        faults = FaultSettings(
            latency_ms=latency_ms, fail_rate=fail_rate, rate_limit=rate_limit, seed=fault_seed
        )
        try:
            server = make_server(_face(api, console), host, port, faults, log=sys.stderr)
        except OSError as exc:
            raise ReconcilerError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint=_listen_hint(exc)
            ) from None
        shown = f"[{host}]" if ":" in host else host
        if api == "atlassian":
            info("It speaks the Atlassian Admin API stand-in (read only): use --provider atlassian:URL.")
        checkpoints = IdleCheckpoints(console.path, console.checkpoint)
        banner = f"Serving {options.provider} on http://{shown}:{server.port}"
        _serve_until_signalled(server, banner, checkpoints.tick)
    finally:
        console.close()
    return EXIT_OK


def _listen_hint(error: OSError) -> str:
    """What to change when the server cannot listen: the host when it is no address of this
    machine, else the port."""
    if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
        return "--host must be an address of this machine, e.g. 127.0.0.1 (or 0.0.0.0 for all of them)"
    return "choose another --port, or --port 0 for a free one"


def _face(api: str, console: SandboxConsole) -> ApiFace:
    """The API to serve: the console's own REST API, or the stand-in of Atlassian's Admin API."""
    if api == "atlassian":
        from reconciler.sandbox.adminapi import AdminApi

        return AdminApi(console)
    from reconciler.sandbox.api import ConsoleApi

    return ConsoleApi(console)


def _require_sandbox(provider: str) -> None:
    if not provider.startswith(SANDBOX_SCHEME):
        raise ReconcilerError(
            f"sandbox serve serves a sandbox console, and the provider is {without_credentials(provider)}",
            hint="name the database to serve with --provider sandbox:PATH "
            "(default: sandbox:.reconciler/sandbox.db)",
        )


def _serve_until_signalled(server: ConsoleHttpServer, banner: str, idle: Callable[[], None]) -> None:
    """Serve until SIGINT or SIGTERM, calling `idle` from this thread twice a second meanwhile."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Only now that a signal stops the server cleanly may whoever waits for the banner send one.
    print(banner, flush=True)
    # serve_forever runs in a thread because shutdown() waits for it: calling it from a signal
    # handler interrupting serve_forever on the same thread would wait forever.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        while not stop.wait(0.5):
            idle()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
