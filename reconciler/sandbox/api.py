"""The console API over a console service: one request in, one response out, no sockets.

The HTTP layer (httpserver.py) parses bytes into a `Request` and writes the `Response` back; fault
injection happens around this, so the API itself is deterministic.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, unquote

from msgspec import structs

from reconciler import wire
from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Console, Operation
from reconciler.sandbox.damage import Unusable, unusable
from reconciler.sandbox.faults import RateDecision
from reconciler.wire import JsonObject


class ConsoleService(Protocol):
    """What the API needs of a console: the sandbox's `SandboxConsole` provides it."""

    def actor_for_token(self, token: str) -> str | None: ...
    def console_id(self) -> str | None: ...
    def observe(self, actor: str | None) -> Console: ...
    def create_site(self, actor: str | None, org: str, name: str, key: str) -> Operation: ...
    def provision(self, actor: str | None, subscription: str, app: str, site: str, key: str) -> Operation: ...
    def cancel(self, actor: str | None, subscription: str, key: str) -> Operation: ...
    def reactivate(self, actor: str | None, subscription: str, key: str) -> Operation: ...
    def operation(self, operation_id: str, actor: str | None) -> Operation: ...


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    #: header names lower-cased
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    status: int
    body: JsonObject
    headers: tuple[tuple[str, str], ...] = ()
    #: for the server's log line, never sent: what is wrong on the server's side and what to do
    note: str = ""


class ApiError(Exception):
    """A request the API answers with an error body."""

    def __init__(self, code: str, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = wire.status_of(code) if status is None else status


def error_response(code: str, detail: str, *, status: int | None = None) -> Response:
    error = ApiError(code, detail, status=status)
    return Response(error.status, wire.error_body(error.status, code, detail))


def unusable_response(found: Unusable) -> Response:
    """A console whose file cannot serve is a 503 for every code: the console, not the request, is
    at fault. A transient one says when to try again."""
    headers = (("Retry-After", "1"),) if found.transient else ()
    return Response(503, wire.error_body(503, found.code, found.detail), headers, note=found.note)


APPS = ("jira-align", "focus", "talent")
_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
_BEARER = re.compile(rf"bearer +({wire.BEARER_TOKEN.pattern}) *", re.IGNORECASE)

#: method, path pattern, handler; the first match wins
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"/v1/me"), "_me"),
    (
        "GET",
        re.compile(
            r"/v1/(users|organizations|billing-accounts|sites|retired-site-names|subscriptions"
            r"|pending-operations)"
        ),
        "_collection",
    ),
    ("POST", re.compile(r"/v1/sites"), "_create_site"),
    ("POST", re.compile(r"/v1/subscriptions/([^/]+)/apps/([^/]+)/provision"), "_provision"),
    ("POST", re.compile(r"/v1/subscriptions/([^/]+)/(cancel|reactivate)"), "_lifecycle"),
    ("GET", re.compile(r"/v1/operations/([^/]+)"), "_operation"),
]


@dataclass(frozen=True)
class Snapshot:
    console: Console
    collections: dict[str, list[JsonObject]]
    version: str
    #: each collection's sort keys, in order, to find where a cursor's page starts
    keys: dict[str, list[str]]

    @classmethod
    def of(cls, console: Console) -> Snapshot:
        collections = wire.encode_collections(console)
        keys = {name: [wire.item_key(name, item) for item in items] for name, items in collections.items()}
        return cls(console, collections, wire.version_of(console.now, collections), keys)


class ConsoleApi:
    def __init__(self, console: ConsoleService) -> None:
        self._console = console
        self._lock = threading.Lock()
        self._last: Snapshot | None = None

    def handle(self, request: Request) -> Response:
        try:
            actor = self._authenticate(request)
            name, params = self._route(request)
            _check_query(request.query, QUERY_PARAMETERS.get(name, ()))
            response: Response = getattr(self, name)(actor, request, params)
            return response
        except ApiError as exc:
            response = error_response(exc.code, exc.detail, status=exc.status)
            if exc.status == 401:
                return Response(401, response.body, (("WWW-Authenticate", 'Bearer realm="console"'),))
            if exc.status == 405:
                return Response(405, response.body, (("Allow", _allowed(request.path)),))
            return response
        except (ReconcilerError, sqlite3.Error) as exc:
            found = unusable(exc)
            if found is not None:
                return unusable_response(found)
            if not isinstance(exc, ProviderError):
                raise
            # A console too busy to answer now is a 503: worth a retry, unlike a refusal.
            return error_response(exc.code, exc.message, status=503 if exc.transient else None)

    def rate_limited(self, decision: RateDecision) -> Response:
        limited = error_response("rate-limited", "too many requests; retry after Retry-After seconds")
        return Response(429, limited.body, decision.headers())

    def http_date(self) -> str | None:
        return None

    # --- plumbing ----------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> str:
        match = _BEARER.fullmatch(request.headers.get("authorization", ""))
        actor = self._console.actor_for_token(match.group(1)) if match else None
        if actor is None:
            # Never echo what was sent: it may be someone's real token.
            raise ApiError("unauthorized", "a valid bearer token is required (Authorization: Bearer TOKEN)")
        return actor

    def _route(self, request: Request) -> tuple[str, tuple[str, ...]]:
        path_matched = False
        for method, pattern, name in ROUTES:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            path_matched = True
            if method == request.method:
                return name, tuple(unquote(group) for group in match.groups())
        if path_matched:
            raise ApiError("method-not-allowed", f"{request.method} is not allowed on {request.path}")
        raise ApiError("not-found", f"no such resource: {request.path}")

    # --- reads -----------------------------------------------------------------------------------------

    def _snapshot(self, actor: str) -> Snapshot:
        """One observation, encoded. Encoding is reused while the console is unchanged (comparing two
        consoles costs a tenth of encoding one), and done once when a client's concurrent reads of
        every collection arrive together: the others wait for it and find it equal."""
        state = structs.replace(self._console.observe(actor), actor=None)
        with self._lock:
            last = self._last
            if last is not None and last.console == state:
                return last
            self._last = Snapshot.of(state)
            return self._last

    def _me(self, actor: str, request: Request, params: tuple[str, ...]) -> Response:
        snapshot = self._snapshot(actor)
        meta = {"now": snapshot.console.now.isoformat(), "version": snapshot.version}
        console_id = self._console.console_id()
        if console_id is not None:
            # Clients name their lock by it: one console, one lock, however its URL is spelled.
            meta["console"] = console_id
        return Response(200, {"data": {"email": actor}, "meta": meta})

    def _collection(self, actor: str, request: Request, params: tuple[str, ...]) -> Response:
        (name,) = params
        limit = _limit(request.query)
        after = _cursor(request.query)
        snapshot = self._snapshot(actor)
        items, keys = snapshot.collections[name], snapshot.keys[name]
        start = 0 if after is None else bisect.bisect_right(keys, after)
        page = items[start : start + limit]
        more = start + limit < len(items)
        next_link = _page_link(name, limit, keys[start + limit - 1]) if more else None
        return Response(
            200,
            {
                "data": page,
                "links": {"self": _self_link(name, limit, after), "next": next_link},
                "meta": {
                    "version": snapshot.version,
                    "total": len(items),
                    "limit": limit,
                },
            },
        )

    def _operation(self, actor: str, request: Request, params: tuple[str, ...]) -> Response:
        (operation_id,) = params
        return _operation_response(self._console.operation(operation_id, actor), status=200)

    # --- writes ----------------------------------------------------------------------------------------

    def _create_site(self, actor: str, request: Request, params: tuple[str, ...]) -> Response:
        key = _idempotency_key(request)
        body = _json_body(request, required=("org", "name"))
        return _operation_response(self._console.create_site(actor, body["org"], body["name"], key))

    def _provision(self, actor: str, request: Request, params: tuple[str, ...]) -> Response:
        subscription, app = params
        key = _idempotency_key(request)
        if app not in APPS:
            raise ApiError("invalid-request", f"{app!r} is not an app of the console ({', '.join(APPS)})")
        body = _json_body(request, required=("site",))
        return _operation_response(self._console.provision(actor, subscription, app, body["site"], key))

    def _lifecycle(self, actor: str, request: Request, params: tuple[str, ...]) -> Response:
        subscription, action = params
        key = _idempotency_key(request)
        _json_body(request, required=(), allow_empty=True)
        write = self._console.cancel if action == "cancel" else self._console.reactivate
        return _operation_response(write(actor, subscription, key))


# --- request parsing ---------------------------------------------------------------------------------


def _allowed(path: str) -> str:
    return ", ".join(sorted({method for method, pattern, _ in ROUTES if pattern.fullmatch(path)}))


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key")
    if key is None:
        raise ApiError("invalid-request", "every write needs an Idempotency-Key header")
    if not _KEY_PATTERN.fullmatch(key):
        raise ApiError("invalid-request", "Idempotency-Key must be 1 to 255 visible ASCII characters")
    return key


def _json_body(request: Request, *, required: tuple[str, ...], allow_empty: bool = False) -> dict[str, str]:
    if allow_empty and not request.body.strip():
        return {}
    body = _parse_json(request.body)
    if not isinstance(body, dict):
        raise ApiError("invalid-request", "the request body must be a JSON object")
    unknown = sorted(set(body) - set(required))
    if unknown:
        raise ApiError("invalid-request", f"unknown field(s) in the request body: {', '.join(unknown)}")
    for name in required:
        value = body.get(name)
        if not isinstance(value, str) or not 1 <= len(value) <= 200:
            raise ApiError(
                "invalid-request", f"the request body needs {name!r}: a string of 1 to 200 characters"
            )
    return body


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ApiError("invalid-request", "the request body names a field twice")
    return dict(pairs)


def _parse_json(raw: bytes) -> Any:
    """A client's JSON, or a 400: never a crash on text nested past the parser's depth, nor a string
    that is not Unicode (a lone surrogate from a `\\ud800` escape, which no database or file takes)."""
    try:
        text = raw.decode("utf-8")
        parsed = json.loads(text, object_pairs_hook=_unique_keys)
        unicode = "\\" not in text or _is_unicode(parsed)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid-request", "the request body is not valid JSON in UTF-8") from None
    except RecursionError:
        raise ApiError("invalid-request", "the request body is nested too deeply") from None
    if not unicode:
        raise ApiError("invalid-request", "the request body holds a lone surrogate (\\ud800-\\udfff)")
    return parsed


def _is_unicode(value: Any) -> bool:
    """Every string in a parsed document encodes as UTF-8. Only `\\u` escapes can break that, so
    this runs only on bodies with a backslash in them."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_is_unicode(k) and _is_unicode(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_unicode(item) for item in value)
    return True


#: the query parameters each handler takes; the document allows no others, and neither does the server
QUERY_PARAMETERS: Mapping[str, tuple[str, ...]] = {"_collection": ("limit", "cursor")}


def _check_query(query: Mapping[str, list[str]], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        takes = f"it takes {' and '.join(allowed)}" if allowed else "it takes none"
        raise ApiError("invalid-request", f"unknown query parameter {unknown[0]!r}: {takes}")


def _limit(query: Mapping[str, list[str]]) -> int:
    values = query.get("limit")
    if not values:
        return wire.DEFAULT_LIMIT
    raw = values[-1]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or not 1 <= int(raw) <= wire.MAX_LIMIT:
        raise ApiError("invalid-request", f"limit must be an integer from 1 to {wire.MAX_LIMIT}")
    return int(raw)


def _cursor(query: Mapping[str, list[str]]) -> str | None:
    values = query.get("cursor")
    if not values:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(values[-1].encode("ascii") + b"=="))
        after = decoded["after"]
    except (ValueError, UnicodeError, binascii.Error, KeyError, TypeError, RecursionError):
        raise ApiError("invalid-request", "cursor is not one this console issued") from None
    if not isinstance(after, str):
        raise ApiError("invalid-request", "cursor is not one this console issued")
    return after


def encode_cursor(after: str) -> str:
    raw = json.dumps({"after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _page_link(name: str, limit: int, after: str) -> str:
    return f"/v1/{name}?limit={limit}&cursor={encode_cursor(after)}"


def _self_link(name: str, limit: int, after: str | None) -> str:
    return f"/v1/{name}?limit={limit}" if after is None else _page_link(name, limit, after)


def _operation_response(operation: Operation, *, status: int | None = None) -> Response:
    location = f"/v1/operations/{quote(operation.id, safe='')}"
    code = status if status is not None else (200 if operation.done else 202)
    body = {"data": wire.encode_operation(operation), "links": {"self": location}}
    return Response(code, body, (("Location", location),))
