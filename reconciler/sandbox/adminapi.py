"""A stand-in of the Atlassian Admin API over a sandbox console: for tests and rehearsal.

`reconciler sandbox serve --api atlassian` serves it. It answers what the public Admin API
answers (schemas/atlassian-admin-api.openapi.yaml): the organizations the API key's user
administers, and each organization's workspaces (a Jira workspace per site that hosts Jira, one
per Strategy Collection app provisioned there), cursor-paginated, with the documented error
shape. It has no write: nothing in the public API provisions, cancels or reactivates, so a
rehearsal's "person" acts on the sandbox console itself, as an admin acts in admin.atlassian.com.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import sqlite3
import threading
import uuid
from collections.abc import Mapping
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import unquote

from reconciler import adminwire
from reconciler.adminwire import Org, Workspace
from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Console, Status
from reconciler.sandbox.api import Request, Response
from reconciler.sandbox.damage import unusable
from reconciler.sandbox.faults import RateDecision

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_ONLINE = frozenset({Status.ACTIVE, Status.CANCELLED})
_LISTED = frozenset({Status.ACTIVE, Status.CANCELLED, Status.DEACTIVATED})


class ObservableConsole(Protocol):
    def actor_for_token(self, token: str) -> str | None: ...
    def observe(self, actor: str | None) -> Console: ...


class AdminApiError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def admin_error(status: int, code: str, detail: str) -> Response:
    body = adminwire.error_body(status, code, _TITLES.get(status, "Error"), detail, str(uuid.uuid4()))
    return Response(status, body)


class AdminApi:
    """The stand-in's request handling: one request in, one response out, no sockets."""

    def __init__(
        self,
        console: ObservableConsole,
        *,
        orgs_page_size: int = adminwire.ORGS_PAGE_SIZE,
        type_keys: Mapping[str, str] = adminwire.DEFAULT_APP_TYPE_KEYS,
    ) -> None:
        self._console = console
        self._orgs_page_size = orgs_page_size
        self._type_keys = dict(type_keys)
        self._limited = 0
        self._lock = threading.Lock()

    # --- the server's face ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            actor = self._authenticate(request)
            return self._route(actor, request)
        except AdminApiError as error:
            response = admin_error(error.status, error.code, error.detail)
            if error.status == 405:
                return Response(405, response.body, (("Allow", _allowed(request.path)),))
            return response
        except (ReconcilerError, sqlite3.Error) as error:
            found = unusable(error)
            if found is not None:
                body = admin_error(503, found.code, found.detail).body
                return Response(503, body, note=found.note)
            if not isinstance(error, ProviderError):
                raise
            return admin_error(503 if error.transient else 500, "unavailable", error.message)

    def rate_limited(self, decision: RateDecision) -> Response:
        """429 with X-RateLimit-*; Retry-After on every other one, as the real API does not always send it."""
        with self._lock:
            self._limited += 1
            with_retry_after = self._limited % 2 == 1
        reset_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=decision.reset)
        headers = [
            ("X-RateLimit-Limit", f"{decision.limit:g}"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", reset_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")),
        ]
        if with_retry_after:
            headers.append(("Retry-After", str(max(1, math.ceil(decision.reset)))))
        body = admin_error(429, "rate-limited", "rate limit exceeded").body
        return Response(429, body, tuple(headers))

    def http_date(self) -> str | None:
        """The Date header: the sandbox's clock day at the wall clock's time, so the client's idea of
        today is the console's (what api.atlassian.com's Date gives a client of the real estate)."""
        try:
            today = self._console.observe(None).now
        except (ReconcilerError, sqlite3.Error):
            return None  # a console that cannot be read: its answer says so, under the wall clock's Date
        wall = dt.datetime.now(dt.UTC)
        return format_datetime(dt.datetime.combine(today, wall.timetz()), usegmt=True)

    # --- routing -----------------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        actor = self._console.actor_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if actor is None:
            raise AdminApiError(
                401, "unauthorized", "a valid API key is required (Authorization: Bearer KEY)"
            )
        return actor

    def _route(self, actor: str, request: Request) -> Response:
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if parts[:3] == ["admin", "v1", "orgs"] and len(parts) in (3, 4):
            _require(request, "GET")
            return self._orgs(actor, request) if len(parts) == 3 else self._org(actor, parts[3])
        if parts[:3] == ["admin", "v2", "orgs"] and len(parts) == 5 and parts[4] == "workspaces":
            _require(request, "POST")
            return self._workspaces(actor, parts[3], request)
        raise AdminApiError(404, "not-found", f"no such resource: {request.path}")

    # --- organizations -------------------------------------------------------------------------------------

    def _visible_orgs(self, actor: str) -> tuple[Console, list[Org]]:
        console = self._console.observe(actor)
        orgs = [Org(o.id, o.name) for _, o in sorted(console.organizations.items()) if actor in o.admins]
        return console, orgs

    def _orgs(self, actor: str, request: Request) -> Response:
        _only_query(request, ("cursor",))
        _, orgs = self._visible_orgs(actor)
        start = _cursor(_last(request.query.get("cursor")))
        page = orgs[start : start + self._orgs_page_size]
        end = start + len(page)
        next_link = f"{adminwire.ORGS_PATH}?cursor={_encode_cursor(end)}" if end < len(orgs) else None
        body = {"data": [adminwire.encode_org(o) for o in page], "links": {"next": next_link}}
        return Response(200, body)

    def _org(self, actor: str, org_id: str) -> Response:
        _, orgs = self._visible_orgs(actor)
        for org in orgs:
            if org.id == org_id:
                return Response(200, {"data": adminwire.encode_org(org)})
        raise AdminApiError(404, "not-found", f"no organization {org_id} for this API key")

    # --- workspaces ----------------------------------------------------------------------------------------

    def _workspaces(self, actor: str, org_id: str, request: Request) -> Response:
        _only_query(request, ("cursor",))
        body = _json_object(request.body)
        console, orgs = self._visible_orgs(actor)
        if org_id not in {o.id for o in orgs}:
            raise AdminApiError(404, "not-found", f"no organization {org_id} for this API key")
        limit = _workspace_limit(body.get("limit", adminwire.DEFAULT_WORKSPACE_LIMIT))
        cursor = body.get("cursor", _last(request.query.get("cursor")))
        if cursor is not None and not isinstance(cursor, str):
            raise AdminApiError(400, "invalid-request", "cursor must be a string")
        items = _org_workspaces(console, org_id, self._type_keys)
        start = _cursor(cursor)
        page = items[start : start + limit]
        end = start + len(page)
        path = adminwire.workspaces_path(org_id)
        links = {
            "self": f"{path}?cursor={_encode_cursor(start)}" if start else path,
            "prev": f"{path}?cursor={_encode_cursor(max(0, start - limit))}" if start else None,
            "next": f"{path}?cursor={_encode_cursor(end)}" if end < len(items) else None,
        }
        meta = {"pageSize": limit, "startIndex": start, "endIndex": end, "total": len(items)}
        return Response(
            200, {"data": [adminwire.encode_workspace(w) for w in page], "links": links, "meta": meta}
        )


def _org_workspaces(console: Console, org_id: str, type_keys: Mapping[str, str]) -> list[Workspace]:
    """A Jira workspace for each site hosting Jira, one per app provisioned on a site, sorted by id."""
    created = f"{console.now.isoformat()}T00:00:00Z"
    found: dict[str, Workspace] = {}
    for site in console.sites.values():
        if site.org == org_id and site.jira is not None:
            ws_id = f"{site.name}-jira"
            found[ws_id] = Workspace(
                ws_id,
                site.name,
                "jira-software",
                "online",
                site.sandbox,
                adminwire.host_url(site.name),
                created,
            )
    for sub in console.subscriptions.values():
        if sub.status not in _LISTED:
            continue
        status = "online" if sub.status in _ONLINE else "offline"
        for app, placed in sub.apps.items():
            host = console.sites.get(placed) if placed is not None else None
            if host is None or host.org != org_id:
                continue
            ws_id = f"{host.name}-{app}"
            type_key = type_keys.get(app, app)
            found[ws_id] = Workspace(
                ws_id, host.name, type_key, status, host.sandbox, adminwire.host_url(host.name), created
            )
    return [found[key] for key in sorted(found)]


# --- request parsing ---------------------------------------------------------------------------------------


def _require(request: Request, method: str) -> None:
    if request.method != method:
        raise AdminApiError(405, "method-not-allowed", f"{request.method} is not allowed on {request.path}")


def _allowed(path: str) -> str:
    return "POST" if path.rstrip("/").endswith("/workspaces") else "GET"


def _only_query(request: Request, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(request.query) - set(allowed))
    if unknown:
        raise AdminApiError(400, "invalid-request", f"unknown query parameter {unknown[0]!r}")


def _last(values: list[str] | None) -> str | None:
    return values[-1] if values else None


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise AdminApiError(400, "invalid-request", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise AdminApiError(400, "invalid-request", "the request body must be a JSON object")
    unknown = sorted(set(body) - {"query", "limit", "cursor", "sort"})
    if unknown:
        raise AdminApiError(400, "invalid-request", f"unknown field {unknown[0]!r} in the request body")
    return body


def _workspace_limit(value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= adminwire.MAX_WORKSPACE_LIMIT
    ):
        raise AdminApiError(
            400, "invalid-request", f"limit must be an integer from 1 to {adminwire.MAX_WORKSPACE_LIMIT}"
        )
    return value


def _encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"i": index}).encode()).rstrip(b"=").decode("ascii")


def _cursor(text: str | None) -> int:
    if text is None:
        return 0
    try:
        index = json.loads(base64.urlsafe_b64decode(text.encode("ascii") + b"=="))["i"]
    except (ValueError, UnicodeError, binascii.Error, KeyError, TypeError):
        raise AdminApiError(400, "invalid-request", "cursor is not one this API issued") from None
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise AdminApiError(400, "invalid-request", "cursor is not one this API issued")
    return index
