"""The `http` provider: the console API's client (schemas/console-api.openapi.yaml).

Built for a console that is slow, paginated, rate-limited and sometimes failing: one pooled
connection set, timeouts, retries with exponential backoff and full jitter that honour
`Retry-After`, and an `Idempotency-Key` on every write, so a retried write, even one whose response
was lost after the console made it, never has a second effect.

The bearer token is a secret: it is sent in the Authorization header and nowhere else. It is not in
`description`, in `repr`, or in any error message (messages are scrubbed of it to be sure).
"""

from __future__ import annotations

import os
import random
import ssl
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from reconciler import __version__
from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Action, Change, Console, Operation
from reconciler.providers.base import ProviderSettings
from reconciler.server import wire
from reconciler.server.network import is_loopback, without_credentials
from reconciler.server.wire import JsonObject, WireError

ENV_CA_BUNDLE = "RECONCILER_CA_BUNDLE"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: sized for `apply --parallelism` plus the threads that read the collections
POOL_SIZE = 32
PAGE_SIZE = wire.MAX_LIMIT
#: how many times observe() reads again when the console changed between two of its requests
OBSERVE_ATTEMPTS = 5


@dataclass(frozen=True)
class RetryPolicy:
    #: attempts of one request that failed (5xx, reset, timeout); 429s are bounded by time only
    max_attempts: int = 8
    #: the whole budget of one request, waits included
    max_elapsed: float = 60.0
    base_delay: float = 0.05
    max_delay: float = 5.0

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^n)], so retrying clients spread out."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**failures))


class Secret:
    """A value that never shows itself: not in repr, str or any attribute dump."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class HttpProvider:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        verify: ssl.SSLContext | bool = True,
        retry: RetryPolicy | None = None,
        trust_env: bool = True,
    ) -> None:
        self._url = base_url
        self._token = Secret(token)
        self._retry = retry or RetryPolicy()
        self._rng = random.Random()
        self._gate_lock = threading.Lock()
        self._gate_until = 0.0
        self._client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"reconciler/{__version__}"},
            timeout=httpx.Timeout(30.0, connect=5.0),
            limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
            verify=verify,
            trust_env=trust_env,
            follow_redirects=False,
        )
        self._readers = ThreadPoolExecutor(
            max_workers=len(wire.COLLECTIONS) + 1, thread_name_prefix="observe"
        )

    @property
    def description(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"HttpProvider({self._url!r})"

    def close(self) -> None:
        self._readers.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    # --- the Provider protocol ---------------------------------------------------------------------

    def observe(self) -> Console:
        """Every collection read concurrently; the versions the console answers prove one consistent state."""
        for _ in range(OBSERVE_ATTEMPTS):
            me_body, collections = self._read_everything()
            versions = {self._version_of(me_body, "/v1/me")}
            for _items, seen in collections.values():
                versions |= seen
            if len(versions) == 1:
                items = {name: value[0] for name, value in collections.items()}
                try:
                    return wire.decode_console(me_body, items)
                except WireError as exc:
                    raise self._malformed(exc) from None
        raise ProviderError(
            f"the console at {self._url} kept changing while it was being read",
            code="unavailable",
            transient=True,
            hint="something else is writing to the console; try again when it is done",
        )

    def execute(self, change: Change, idempotency_key: str) -> Operation:
        path, body = _write_request(change)
        return self._operation(self._request("POST", path, body=body, idempotency_key=idempotency_key))

    def operation(self, operation_id: str) -> Operation:
        return self._operation(self._request("GET", f"/v1/operations/{quote(operation_id, safe='')}"))

    # --- reading -----------------------------------------------------------------------------------

    def _read_everything(self) -> tuple[Any, dict[str, tuple[list[JsonObject], set[str]]]]:
        """`/v1/me` and every collection, concurrently. When one read fails the others stop
        retrying, and all have returned before the failure is raised: nothing is left running."""
        stop = threading.Event()
        me = self._readers.submit(self._request, "GET", "/v1/me", stop=stop)
        pages = {name: self._readers.submit(self._read_collection, name, stop) for name in wire.COLLECTIONS}
        everything = [me, *pages.values()]
        done, _ = wait(everything, return_when=FIRST_EXCEPTION)
        errors = [error for f in everything if f in done and (error := f.exception()) is not None]
        if errors:
            stop.set()
            wait(everything)
            raise errors[0]
        return me.result(), {name: future.result() for name, future in pages.items()}

    def _read_collection(self, name: str, stop: threading.Event) -> tuple[list[JsonObject], set[str]]:
        items: list[JsonObject] = []
        versions: set[str] = set()
        params: dict[str, str | int] = {"limit": PAGE_SIZE}
        seen_cursors: set[str] = set()
        while True:
            body = self._request("GET", f"/v1/{name}", params=params, stop=stop)
            versions.add(self._version_of(body, name))
            try:
                items.extend(body["data"])
                next_link = body["links"]["next"]
            except (KeyError, TypeError) as exc:
                raise self._malformed(WireError(f"a page of {name} is malformed ({exc!r})")) from None
            if next_link is None:
                return items, versions
            cursor = _cursor_of(str(next_link))
            if cursor is None or cursor in seen_cursors:
                raise self._malformed(WireError(f"the pages of {name} do not lead to an end"))
            seen_cursors.add(cursor)
            params = {"limit": PAGE_SIZE, "cursor": cursor}

    def _version_of(self, body: Any, what: str) -> str:
        try:
            return str(body["meta"]["version"])
        except (KeyError, TypeError):
            raise self._malformed(WireError(f"{what} has no meta.version")) from None

    def _operation(self, body: Any) -> Operation:
        try:
            return wire.decode_operation(body)
        except WireError as exc:
            raise self._malformed(exc) from None

    def _malformed(self, error: WireError) -> ProviderError:
        return ProviderError(
            self._scrub(
                f"the console at {self._url} answered something this client does not understand: {error}"
            ),
            code="invalid-response",
            hint="check that RECONCILER_PROVIDER points at the console API (see docs/http.md)",
        )

    # --- one request, retried -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        body: JsonObject | None = None,
        idempotency_key: str | None = None,
        stop: threading.Event | None = None,
    ) -> Any:
        """The decoded JSON of a 2xx answer; retries what may succeed later, within the policy's bounds."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        started = time.monotonic()
        failures = 0
        last_problem = "no answer"
        retry_after: float | None = None
        stop = stop or threading.Event()
        while True:
            self._wait_for_gate()
            if stop.is_set():
                raise ProviderError("stopped: a concurrent read failed", code="unavailable", transient=True)
            try:
                response = self._client.request(method, path, params=params, json=body, headers=headers)
            except httpx.TransportError as exc:
                self._raise_if_tls_failure(exc)
                failures += 1
                last_problem = _describe_transport_error(exc)
                delay = self._retry.backoff(failures, self._rng)
            else:
                self._note_rate_headers(response)
                if response.status_code < 300:
                    return self._json(response)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise self._refusal(response)
                last_problem = f"HTTP {response.status_code}"
                retry_after = _retry_after(response)
                if response.status_code == 429:
                    delay = (retry_after or self._retry.base_delay) + self._retry.backoff(1, self._rng)
                    self._close_gate(delay)
                else:
                    failures += 1
                    delay = max(retry_after or 0.0, self._retry.backoff(failures, self._rng))
            elapsed = time.monotonic() - started
            if failures >= self._retry.max_attempts or elapsed + delay > self._retry.max_elapsed:
                raise self._gave_up(method, path, failures, elapsed, last_problem, retry_after)
            stop.wait(delay)

    def _wait_for_gate(self) -> None:
        with self._gate_lock:
            wait = self._gate_until - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def _close_gate(self, seconds: float) -> None:
        """After a 429 every thread waits, not just the one that was told: the limit is the console's."""
        with self._gate_lock:
            self._gate_until = max(self._gate_until, time.monotonic() + seconds)

    def _note_rate_headers(self, response: httpx.Response) -> None:
        if response.status_code != 429 and response.headers.get("X-RateLimit-Remaining") == "0":
            reset = _float(response.headers.get("X-RateLimit-Reset"))
            if reset is not None and 0 < reset <= self._retry.max_delay:
                self._close_gate(reset)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._malformed(
                WireError(f"HTTP {response.status_code} with a body that is not JSON")
            ) from None

    def _refusal(self, response: httpx.Response) -> ProviderError:
        code, detail = _first_error(response)
        if response.status_code == 401:
            return ProviderError(
                f"the console at {self._url} did not accept the token in RECONCILER_TOKEN (HTTP 401)",
                code="unauthorized",
                hint="set RECONCILER_TOKEN to an API token of a user of this console",
            )
        return ProviderError(self._scrub(detail), code=code)

    def _gave_up(
        self, method: str, path: str, failures: int, elapsed: float, problem: str, retry_after: float | None
    ) -> ProviderError:
        return ProviderError(
            self._scrub(
                f"the console at {self._url} did not answer {method} {path} after {failures} failed "
                f"attempt(s) in {elapsed:.1f}s (last: {problem})"
            ),
            code="unavailable",
            transient=True,
            retry_after=retry_after,
            hint="check that the console is up and reachable; running the command again is safe",
        )

    def _raise_if_tls_failure(self, exc: httpx.TransportError) -> None:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            raise ReconcilerError(
                self._scrub(
                    f"the console at {self._url} presented a certificate that cannot be verified: {cause}"
                ),
                hint=f"if it is signed by your own CA, point {ENV_CA_BUNDLE} at that CA's PEM bundle",
            ) from None

    def _scrub(self, text: str) -> str:
        return text.replace(self._token.reveal(), "***")


# --- helpers ----------------------------------------------------------------------------------------


def _write_request(change: Change) -> tuple[str, JsonObject]:
    def sub() -> str:
        return quote(_required(change.subscription, change, "subscription"), safe="")

    if change.action == Action.CREATE_SITE:
        return "/v1/sites", {
            "org": _required(change.org, change, "org"),
            "name": _required(change.site, change, "site"),
        }
    if change.action == Action.PROVISION:
        app = quote(_required(change.app, change, "app"), safe="")
        return f"/v1/subscriptions/{sub()}/apps/{app}/provision", {
            "site": _required(change.site, change, "site")
        }
    if change.action == Action.CANCEL:
        return f"/v1/subscriptions/{sub()}/cancel", {}
    return f"/v1/subscriptions/{sub()}/reactivate", {}


def _required(value: str | None, change: Change, name: str) -> str:
    if value is None:
        raise ProviderError(f"change {change.id} has no {name}", code="invalid-request")
    return value


def _cursor_of(link: str) -> str | None:
    values = parse_qs(urlsplit(link).query).get("cursor")
    return values[-1] if values else None


def _first_error(response: httpx.Response) -> tuple[str, str]:
    fallback = (f"http-{response.status_code}", f"the console answered HTTP {response.status_code}")
    try:
        error = response.json()["errors"][0]
        return str(error["code"]), str(error.get("detail") or error.get("title") or fallback[1])
    except (ValueError, KeyError, IndexError, TypeError):
        return fallback


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    seconds = _float(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _float(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _describe_transport_error(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


# --- opening ----------------------------------------------------------------------------------------


def open_http_provider(settings: ProviderSettings) -> HttpProvider:
    base_url, host, scheme = _checked_url(settings.url)
    if scheme == "http" and not is_loopback(host):
        raise ReconcilerError(
            f"refusing plain http:// to {host}: the token would cross the network unencrypted",
            hint="use https:// for a console on another machine; plain http:// is only for loopback "
            "(127.0.0.1, ::1, localhost)",
        )
    token = _checked_token(settings.token)
    # Plain http (loopback only) has no certificate to verify; not loading the CA store for it
    # saves ~25 ms per client. Loopback traffic must not go through a proxy from the environment.
    verify = _tls_verification() if scheme == "https" else False
    return HttpProvider(base_url, token, verify=verify, trust_env=not is_loopback(host))


def _checked_url(url: str) -> tuple[str, str, str]:
    shown = without_credentials(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ReconcilerError(
            f"provider URL {shown} is not a valid URL", hint="e.g. https://console.example.com"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ReconcilerError(
            f"provider URL {shown} needs http:// or https:// and a host",
            hint="e.g. https://console.example.com",
        )
    if "@" in parts.netloc:
        raise ReconcilerError(
            f"provider URL {shown} carries credentials",
            hint="remove them from the URL and put the API token in RECONCILER_TOKEN",
        )
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}", parts.hostname, scheme


def _checked_token(token: str | None) -> str:
    if not token:
        raise ReconcilerError(
            "the http provider needs an API token, and RECONCILER_TOKEN is not set",
            hint="export RECONCILER_TOKEN=<your API token> (the sandbox's tokens are in its seed file)",
        )
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise ReconcilerError(
            "RECONCILER_TOKEN holds characters a bearer token cannot carry (spaces, control or non-ASCII)",
            hint="copy the token again without surrounding spaces or line breaks",
        )
    return token


def _tls_verification() -> ssl.SSLContext | bool:
    bundle = os.environ.get(ENV_CA_BUNDLE)
    if not bundle:
        return True
    try:
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ReconcilerError(
            f"cannot use the CA bundle {bundle} from {ENV_CA_BUNDLE}: {exc}",
            hint=f"point {ENV_CA_BUNDLE} at a readable PEM file of CA certificates, or unset it",
        ) from None
