"""A small estate the planner tests vary: two orgs, sites of every Jira kind, accounts of both kinds."""

from __future__ import annotations

import copy
from typing import Any

import pytest

BASE_SEED: dict[str, Any] = {
    "now": "2026-11-21",
    "users": [
        {"email": "alice@acme.example"},
        {"email": "dana@acme.example"},
        {"email": "partner@globex.example"},
    ],
    "billing_accounts": [
        {"id": "AC-1", "managed_by": "direct", "billing_admins": ["alice@acme.example"]},
        {
            "id": "AC-P",
            "managed_by": "partner",
            "partner": "globex-partners",
            "billing_admins": ["partner@globex.example"],
        },
    ],
    "organizations": [
        {"id": "acme-corp", "admins": ["alice@acme.example"], "members": ["dana@acme.example"]},
        {"id": "acme-labs", "admins": ["alice@acme.example"], "members": ["partner@globex.example"]},
        {"id": "other-org", "admins": ["dana@acme.example"], "members": []},
    ],
    "sites": [
        {"name": "acme", "org": "acme-corp", "products": {"jira": "premium"}},
        {"name": "acme-std", "org": "acme-corp", "products": {"jira": "standard"}},
        {"name": "acme-sandbox", "org": "acme-corp", "products": {"jira": "premium"}, "sandbox": True},
        {"name": "acme-bare", "org": "acme-corp", "products": {}},
        {"name": "labs", "org": "acme-labs", "products": {"jira": "enterprise"}},
        {"name": "labs-2", "org": "acme-labs", "products": {"jira": "premium"}},
        {"name": "other", "org": "other-org", "products": {"jira": "premium"}},
    ],
    "subscriptions": [],
    "retired_site_names": ["old-acme"],
}


def sub(
    sub_id: str,
    product: str = "strategy-collection",
    *,
    status: str = "active",
    account: str = "AC-1",
    apps: dict[str, str | None] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A live subscription for the seed; a collection's apps default to Site setup required."""
    from reconciler.model import PRODUCT_APPS

    default_apps: dict[str, str | None] = {app: None for app in PRODUCT_APPS[product]}
    return {
        "id": sub_id,
        "billing_account": account,
        "product": product,
        "status": status,
        "start_date": "2026-10-01",
        "term_end": "2027-09-30",
        "apps": {**default_apps, **(apps or {})},
        **extra,
    }


@pytest.fixture
def seed() -> dict[str, Any]:
    return copy.deepcopy(BASE_SEED)
