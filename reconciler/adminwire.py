"""The Atlassian Admin API's shapes, both ways: its stand-in writes them, the `atlassian` provider reads them.

Only the part of the public Admin API the reconciler reads: organizations
(`GET /admin/v1/orgs`, `GET /admin/v1/orgs/{orgId}`) and their product instances, "workspaces"
(`POST /admin/v2/orgs/{orgId}/workspaces`). schemas/atlassian-admin-api.openapi.yaml documents
the same shapes. One module for both sides, so the stand-in and the client cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

JsonObject = dict[str, Any]

ORGS_PATH = "/admin/v1/orgs"
#: the largest page of workspaces one request may ask for, and what a request gets without `limit`
MAX_WORKSPACE_LIMIT = 100
DEFAULT_WORKSPACE_LIMIT = 20
ORGS_PAGE_SIZE = 20

#: The typeKey of each Strategy Collection app's workspace, unless the billing facts say otherwise.
DEFAULT_APP_TYPE_KEYS: Mapping[str, str] = {"jira-align": "jira-align", "focus": "focus", "talent": "talent"}
#: Workspaces whose typeKey is one of these are a site's Jira.
DEFAULT_JIRA_TYPE_KEYS: tuple[str, ...] = ("jira-software", "jira")

WORKSPACE_STATUSES = ("online", "offline", "deprecated")
SITE_DOMAIN = ".atlassian.net"
_SITE_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")


class AdminWireError(ValueError):
    """An answer that does not have the documented shape."""


def workspaces_path(org_id: str) -> str:
    from urllib.parse import quote

    return f"/admin/v2/orgs/{quote(org_id, safe='')}/workspaces"


def host_url(site: str) -> str:
    return f"https://{site}{SITE_DOMAIN}"


def site_of_host(url: str) -> str | None:
    """`acme` for `https://acme.atlassian.net` (any path); None for a host that is not a site."""
    try:
        host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    except ValueError:
        return None
    if not host.endswith(SITE_DOMAIN):
        return None
    label = host[: -len(SITE_DOMAIN)]
    return label if _SITE_LABEL.match(label) else None


def error_body(status: int, code: str, title: str, detail: str, error_id: str) -> JsonObject:
    return {
        "errors": [{"id": error_id, "status": str(status), "code": code, "title": title, "detail": detail}]
    }


# --- organizations ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    name: str


def encode_org(org: Org) -> JsonObject:
    return {
        "id": org.id,
        "type": "orgs",
        "attributes": {"name": org.name},
        "links": {"self": f"{ORGS_PATH}/{org.id}"},
    }


def decode_org(item: Any) -> Org:
    try:
        org_id, name = item["id"], item["attributes"]["name"]
    except (KeyError, TypeError):
        raise AdminWireError(f"an organization is malformed: {_short(item)}") from None
    if not isinstance(org_id, str) or not org_id or not isinstance(name, str):
        raise AdminWireError(f"an organization is malformed: {_short(item)}")
    return Org(org_id, name)


# --- workspaces -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    type_key: str
    status: str  # online | offline | deprecated
    sandbox_child: bool
    host_url: str
    created_at: str | None = None

    @property
    def site(self) -> str | None:
        return site_of_host(self.host_url)


def encode_workspace(workspace: Workspace) -> JsonObject:
    return {
        "id": workspace.id,
        "type": "workspaces",
        "attributes": {
            "name": workspace.name,
            "typeKey": workspace.type_key,
            "type": "product",
            "status": workspace.status,
            "sandbox": {"type": "CHILD" if workspace.sandbox_child else "NONE"},
            "hostUrl": workspace.host_url,
            "createdAt": workspace.created_at,
        },
        "links": {"self": f"/admin/v2/workspaces/{workspace.id}"},
    }


def decode_workspace(item: Any) -> Workspace:
    try:
        attributes = item["attributes"]
        ws_id, type_key, host = item["id"], attributes["typeKey"], attributes["hostUrl"]
        status = attributes.get("status") or "online"
        sandbox = attributes.get("sandbox") or {}
        sandbox_type = sandbox.get("type") if isinstance(sandbox, dict) else None
    except (KeyError, TypeError, AttributeError):
        raise AdminWireError(f"a workspace is malformed: {_short(item)}") from None
    texts = (ws_id, type_key, host, status)
    if not all(isinstance(value, str) for value in texts) or not ws_id:
        raise AdminWireError(f"a workspace is malformed: {_short(item)}")
    name = attributes.get("name")
    return Workspace(
        id=ws_id,
        name=name if isinstance(name, str) else "",
        type_key=type_key,
        status=status.lower(),
        sandbox_child=isinstance(sandbox_type, str) and sandbox_type.lower() == "child",
        host_url=host,
        created_at=attributes.get("createdAt") if isinstance(attributes.get("createdAt"), str) else None,
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
