"""One request to the console, retried within bounds: backoff with full jitter, `Retry-After`
honoured for every thread at once, refusals mapped to `ProviderError`s, the token scrubbed."""

from __future__ import annotations

import json
import random
import socket
import ssl
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import msgspec

from reconciler import __version__
from reconciler.errors import ProviderError, ReconcilerError
from reconciler.providers.http.connections import (
    KEEP_IDLE,
    Answer,
    AnswerTooLarge,
    Connections,
    LocalProtocolError,
    TransportError,
)
from reconciler.retries import RetryNotice, report_retry
from reconciler.secrets import scrub
from reconciler.wire import JsonObject, WireError

ENV_CA_BUNDLE = "RECONCILER_CA_BUNDLE"
#: what an answer from another API than the console API's suggests
CONSOLE_API_HINT = (
    "RECONCILER_PROVIDER (or --provider) may point at the wrong API: an http(s):// URL is read as "
    "the console API of 'reconciler sandbox serve' (docs/http.md); for the Atlassian Admin API "
    "use atlassian:URL (docs/atlassian.md)"
)
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: 503 codes that say the console's operator must repair it first: trying again cannot help
UNRETRYABLE_CODES = frozenset({"console-damaged", "console-read-only"})
#: idle connections kept: enough for `apply --parallelism 64`
POOL_SIZE = KEEP_IDLE
#: the largest answer read: a page of 1000 subscriptions is well under a megabyte
MAX_RESPONSE_BYTES = 32 << 20
#: name-resolution failures that say the name does not exist: asking again will not make it exist
_NO_SUCH_NAME = frozenset(
    code
    for code in (
        getattr(socket, name, None) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_FAIL", "EAI_SERVICE")
    )
    if code is not None
)


class Stopped(ProviderError):
    """A request given up because a concurrent one failed: that failure is the one to report."""


class RetryPolicy(msgspec.Struct, frozen=True):
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


class Transport:
    """Pooled connections with the token, and the retry loop around every request."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        verify: ssl.SSLContext | bool,
        retry: RetryPolicy,
        trust_env: bool,
        credential: str = "RECONCILER_TOKEN",
        max_response_bytes: int | None = None,
        wrong_api: str = CONSOLE_API_HINT,
    ) -> None:
        self.url = base_url
        #: the hint for an answer that says the URL is another API's (a 404 on one of this API's own paths)
        self.wrong_api = wrong_api
        self._token = Secret(token)
        self._retry = retry
        #: the environment variable the token comes from, for messages
        self._credential = credential
        #: answers longer than this are refused unread (None: no limit, for the console API's large pages)
        self._max_response_bytes = max_response_bytes
        #: the Date header of the latest answer: the peer's clock
        self.last_date: str | None = None
        self._rng = random.Random()
        self._gate_lock = threading.Lock()
        self._gate_until = 0.0
        self._connections = Connections(
            base_url,
            {"Authorization": f"Bearer {token}", "User-Agent": f"reconciler/{__version__}"},
            verify=verify,
            trust_env=trust_env,
        )

    def close(self) -> None:
        self._connections.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        body: JsonObject | None = None,
        idempotency_key: str | None = None,
        stop: threading.Event | None = None,
        own_path: bool = False,
    ) -> Any:
        """The decoded JSON of a 2xx answer; retries what may succeed later, within the policy's bounds.

        `own_path`: the path is one every server of this API has (not an id that may be gone), so
        a 404 says the URL points at another API, and the error says so."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        started = time.monotonic()
        failures = 0
        last_problem = "no answer"
        retry_after: float | None = None
        stop = stop or threading.Event()
        while True:
            self._wait_for_gate(stop)
            if stop.is_set():
                raise Stopped("stopped: a concurrent read failed", code="unavailable", transient=True)
            try:
                response = self._send(method, path, params, body, headers)
            except TransportError as exc:
                self._raise_if_tls_failure(exc)
                self._raise_if_permanent(exc)
                failures += 1
                last_problem = _describe_transport_error(exc)
                delay = self._retry.backoff(failures, self._rng)
            else:
                self._note_rate_headers(response)
                if response.status_code < 300:
                    return self._json(response)
                if own_path and response.status_code == 404:
                    raise self._not_this_api(response)
                if response.status_code not in RETRYABLE_STATUSES or _needs_repair(response):
                    raise self._refusal(response)
                last_problem = f"HTTP {response.status_code}"
                retry_after = _retry_after(response)
                if response.status_code == 429:
                    # Without Retry-After, the rate-limit headers say when a request is allowed again.
                    wait = retry_after or _reset_seconds(response.headers.get("X-RateLimit-Reset"))
                    delay = min(wait or self._retry.base_delay, self._retry.max_elapsed)
                    delay += self._retry.backoff(1, self._rng)
                    self._close_gate(delay)
                else:
                    failures += 1
                    delay = max(retry_after or 0.0, self._retry.backoff(failures, self._rng))
            elapsed = time.monotonic() - started
            if failures >= self._retry.max_attempts or elapsed + delay > self._retry.max_elapsed:
                raise self._gave_up(method, path, failures, elapsed, last_problem, retry_after)
            if idempotency_key is not None:
                self._report_retry(method, path, last_problem)
            stop.wait(delay)

    def _report_retry(self, method: str, path: str, problem: str) -> None:
        """A write about to be sent again: that try may have reached the console, so it is one."""
        code = "rate-limited" if problem == "HTTP 429" else "unavailable"
        message = f"{method} {path} failed ({problem}); sent again with the same idempotency key"
        report_retry(RetryNotice(code, self.scrub(message)))

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, str | int] | None,
        body: JsonObject | None,
        headers: dict[str, str],
    ) -> Answer:
        """One request whose answer is read up to the cap: a console cannot fill memory (a compressed
        answer counts at its decoded size)."""
        cap = self._max_response_bytes or MAX_RESPONSE_BYTES
        query = urlencode(params) if params else ""
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        try:
            return self._connections.send(method, path, query, payload, headers, cap)
        except AnswerTooLarge:
            raise self._too_large(method, path, cap) from None

    def _too_large(self, method: str, path: str, cap: int) -> ProviderError:
        return ProviderError(
            self.scrub(f"{self.url} answered {method} {path} with more than {cap:,} bytes: refused unread"),
            code="invalid-response",
            hint="check that the provider URL points at the API it should",
        )

    def _wait_for_gate(self, stop: threading.Event) -> None:
        with self._gate_lock:
            wait = self._gate_until - time.monotonic()
        if wait > 0:
            stop.wait(wait)

    def _close_gate(self, seconds: float) -> None:
        """After a 429 every thread waits, not just the one that was told: the limit is the console's."""
        with self._gate_lock:
            self._gate_until = max(self._gate_until, time.monotonic() + seconds)

    def _note_rate_headers(self, response: Answer) -> None:
        self.last_date = response.headers.get("Date")
        if response.status_code != 429 and response.headers.get("X-RateLimit-Remaining") == "0":
            reset = _reset_seconds(response.headers.get("X-RateLimit-Reset"))
            if reset is not None and 0 < reset <= self._retry.max_delay:
                self._close_gate(reset)

    def _json(self, response: Answer) -> Any:
        try:
            text = response.content.decode("utf-8")
            decoded = _decoded(text)
            self._refuse_the_token(text, decoded, response)
        except (ValueError, RecursionError):
            raise self.malformed(
                WireError(f"HTTP {response.status_code} with a body that is not JSON")
            ) from None
        return decoded

    def _refuse_the_token(self, text: str, decoded: Any, response: Answer) -> None:
        """A console that answers with our own token (as a site name, an id, anything) would have it
        printed, planned and journaled: refuse the answer instead of masking a value that matters."""
        token = self._token.reveal()
        if token in text or ("\\" in text and any(token in value for value in _strings(decoded))):
            raise ProviderError(
                f"the console at {self.url} answered {response.method} {response.path} "
                "with a value that holds the API token; refusing to show or store it",
                code="invalid-response",
                hint="the console is broken or hostile: check RECONCILER_PROVIDER, and rotate the token",
            )

    def _refusal(self, response: Answer) -> ProviderError:
        code, detail = _first_error(response)
        if response.status_code == 401:
            return ProviderError(
                f"the console at {self.url} did not accept the token in {self._credential} (HTTP 401)",
                code="unauthorized",
                hint=f"set {self._credential} to an API token of a user of this console",
            )
        if response.status_code == 503:
            return ProviderError(
                self.scrub(f"the console at {self.url} cannot serve: {detail}"),
                code=self.scrub(code),
                hint="running the command again is safe once the console is repaired",
            )
        return ProviderError(self.scrub(detail), code=self.scrub(code))

    def _not_this_api(self, response: Answer) -> ProviderError:
        _, detail = _first_error(response)
        return ProviderError(
            self.scrub(
                f"the console at {self.url} has no {response.method} {response.path} "
                f"(HTTP 404: {detail}): it does not speak the API this provider reads"
            ),
            code="invalid-response",
            hint=self.wrong_api,
        )

    def _gave_up(
        self, method: str, path: str, failures: int, elapsed: float, problem: str, retry_after: float | None
    ) -> ProviderError:
        return ProviderError(
            self.scrub(
                f"the console at {self.url} did not answer {method} {path} after {failures} failed "
                f"attempt(s) in {elapsed:.1f}s (last: {problem})"
            ),
            code="unavailable",
            transient=True,
            retry_after=retry_after,
            hint="check that the console is up and reachable; running the command again is safe",
        )

    def _raise_if_permanent(self, exc: TransportError) -> None:
        """Failures that trying again cannot mend: a name that does not exist, a request this client
        cannot make. A temporary resolver failure (EAI_AGAIN) stays transient."""
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, socket.gaierror) and cause.errno in _NO_SUCH_NAME:
                host = urlsplit(self.url).hostname
                raise ProviderError(
                    f"cannot reach the console at {self.url}: the name {host} does not resolve "
                    f"({cause.strerror})",
                    code="unreachable",
                    hint="check the host name in RECONCILER_PROVIDER (and your DNS settings)",
                ) from None
            cause = cause.__cause__ or cause.__context__
        if isinstance(exc, LocalProtocolError):
            raise ProviderError(
                self.scrub(f"cannot send a request to the console at {self.url}: {exc}"),
                code="invalid-request",
            ) from None

    def _raise_if_tls_failure(self, exc: TransportError) -> None:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            raise ReconcilerError(
                self.scrub(
                    f"the console at {self.url} presented a certificate that cannot be verified: {cause}"
                ),
                hint=f"if it is signed by your own CA, point {ENV_CA_BUNDLE} at that CA's PEM bundle",
            ) from None

    def malformed(self, error: WireError) -> ProviderError:
        return ProviderError(
            self.scrub(
                f"the console at {self.url} answered something this client does not understand: {error}"
            ),
            code="invalid-response",
            hint=self.wrong_api,
        )

    def scrub(self, text: str) -> str:
        return scrub(text, self._token.reveal())


# --- helpers ----------------------------------------------------------------------------------------


def _decoded(text: str) -> Any:
    """What json.loads makes of `text`, twice as fast for the JSON msgspec reads (a page of 1,000
    subscriptions: 1 ms against 2 ms), which it reads to the same values. What it refuses (NaN, a
    lone surrogate, a number past a float's range, broken JSON) is left to json.loads, whose
    answer or error stands."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def _strings(value: Any) -> list[str]:
    """Every string in a decoded JSON document, keys included (iteratively: depth is the console's)."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _first_error(response: Answer) -> tuple[str, str]:
    fallback = (f"http-{response.status_code}", f"the console answered HTTP {response.status_code}")
    try:
        error = json.loads(response.content)["errors"][0]
        return str(error["code"]), str(error.get("detail") or error.get("title") or fallback[1])
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return fallback


def _needs_repair(response: Answer) -> bool:
    return response.status_code == 503 and _first_error(response)[0] in UNRETRYABLE_CODES


def _retry_after(response: Answer) -> float | None:
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


def _reset_seconds(value: str | None) -> float | None:
    """X-RateLimit-Reset as seconds from now: a number of seconds, or an ISO 8601 moment."""
    seconds = _float(value)
    if seconds is not None or value is None:
        return None if seconds is None else max(0.0, seconds)
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, moment.timestamp() - time.time())


def _float(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _describe_transport_error(exc: TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
