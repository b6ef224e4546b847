"""Declared billing facts: what the Atlassian Admin API cannot tell, kept in the estate repository.

Every `*.yaml` / `*.yml` under the facts path (default `billing/` beside `desired-state/`) is read
and merged, like desired state: safely, against schemas/billing-facts.schema.json, every problem
reported at once at its `file:line:column` (an id declared twice, a subscription whose billing
account is not declared, an app outside its product, a date that is no date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from msgspec import Struct

from reconciler.errors import ReconcilerError
from reconciler.loading.yamlfile import DiagnosticsError, ValueOrigin, YamlDocument, read_yaml
from reconciler.model import PRODUCT_APPS, Diagnostic

SCHEMA = "billing-facts.schema.json"
ENV_FACTS = "RECONCILER_FACTS"
DEFAULT_FACTS_DIR = "billing"

YamlPath = tuple[str | int, ...]


class AccountFact(Struct, frozen=True):
    id: str
    managed_by: str
    partner: str | None
    billing_admins: frozenset[str]
    origin: ValueOrigin


class OrgPeopleFact(Struct, frozen=True):
    id: str
    admins: frozenset[str]
    members: frozenset[str]
    origin: ValueOrigin


class SubscriptionFact(Struct, frozen=True):
    id: str
    billing_account: str
    product: str
    status: str
    start_date: dt.date | None
    term_end: dt.date | None
    deactivated_on: dt.date | None
    migration: bool
    #: app -> site (or None, Site setup required), as declared; None when `apps` is left out
    apps: Mapping[str, str | None] | None
    origin: ValueOrigin  # the `id` value
    status_origin: ValueOrigin


class BillingFacts(Struct, frozen=True):
    accounts: Mapping[str, AccountFact]
    organizations: Mapping[str, OrgPeopleFact]
    site_jira: Mapping[str, tuple[str, ValueOrigin]]
    subscriptions: Mapping[str, SubscriptionFact]
    retired_site_names: frozenset[str]
    retired_origin: ValueOrigin | None
    type_keys: Mapping[str, str]
    files: tuple[str, ...]


def default_facts_path(desired_paths: Sequence[str]) -> str:
    """`billing/` beside the first desired-state path (beside `desired-state/` by default)."""
    first = Path(desired_paths[0]) if desired_paths else Path("desired-state")
    parent = first.parent
    return DEFAULT_FACTS_DIR if parent == Path() else (parent / DEFAULT_FACTS_DIR).as_posix()


def load_facts(path: str) -> BillingFacts:
    """Read and check every facts file under `path`; raise DiagnosticsError listing every problem."""
    from reconciler.loading.desired import desired_files
    from reconciler.validation.schema import schema_diagnostics

    if not Path(path).exists():
        raise ReconcilerError(
            f"the billing facts {path} do not exist",
            hint="the atlassian provider takes what the Admin API cannot tell from declared facts: create "
            f"{path} (see docs/atlassian.md) or point --facts / {ENV_FACTS} at them",
        )
    try:
        files = desired_files([path])
    except ReconcilerError as error:
        raise ReconcilerError(error.message, hint=f"put the billing facts (*.yaml) in {path}") from None
    docs = [read_yaml(file, display) for file, display in files]
    problems: list[Diagnostic] = []
    for doc in docs:
        problems += schema_diagnostics(doc, SCHEMA)
    facts = None
    if not problems:
        facts, problems = _Reader(docs).read()
    if problems or facts is None:
        raise DiagnosticsError(
            problems,
            f"the billing facts in {path} are not valid",
            hint="fix them where shown (their format: schemas/billing-facts.schema.json, docs/atlassian.md)",
        )
    return facts


class _Reader:
    def __init__(self, docs: Sequence[YamlDocument]) -> None:
        self.docs = docs
        self.problems: list[Diagnostic] = []
        self.seen: dict[tuple[str, str], ValueOrigin] = {}

    def read(self) -> tuple[BillingFacts | None, list[Diagnostic]]:
        accounts = {a.id: a for doc in self.docs for a in self._accounts(doc)}
        orgs = {o.id: o for doc in self.docs for o in self._orgs(doc)}
        sites = dict(kv for doc in self.docs for kv in self._sites(doc))
        subs = {s.id: s for doc in self.docs for s in self._subscriptions(doc, accounts)}
        retired: set[str] = set()
        retired_origin = None
        type_keys: dict[str, str] = {}
        for doc in self.docs:
            if doc.data.get("retired_site_names"):
                retired |= set(doc.data["retired_site_names"])
                retired_origin = retired_origin or doc.origin(("retired_site_names",))
            type_keys.update(doc.data.get("type_keys") or {})
        if self.problems:
            return None, self.problems
        files = tuple(doc.display for doc in self.docs)
        facts = BillingFacts(
            accounts, orgs, sites, subs, frozenset(retired), retired_origin, type_keys, files
        )
        return facts, []

    def _error(
        self,
        doc: YamlDocument,
        rule: str,
        message: str,
        path: YamlPath,
        hint: str | None = None,
        *,
        key: bool = False,
    ) -> None:
        self.problems.append(Diagnostic(rule, message, doc.locate(path, key=key), hint))

    def _unique(self, doc: YamlDocument, what: str, value: str, path: YamlPath) -> bool:
        first = self.seen.get((what, value))
        if first is not None:
            self._error(
                doc, "duplicate", f"{what} {value} is declared twice: here and at {first.span()}", path
            )
            return False
        self.seen[(what, value)] = doc.origin(path)
        return True

    def _items(self, doc: YamlDocument, name: str) -> list[tuple[int, dict[str, Any]]]:
        return list(enumerate(doc.data.get(name) or []))

    def _accounts(self, doc: YamlDocument) -> list[AccountFact]:
        found = []
        for i, item in self._items(doc, "billing_accounts"):
            base: YamlPath = ("billing_accounts", i)
            managed_by, partner = item.get("managed_by", "direct"), item.get("partner")
            if managed_by == "partner" and partner is None:
                self._error(doc, "partner", f"{item['id']} is partner-managed: name its partner", base)
            if self._unique(doc, "billing account", item["id"], (*base, "id")):
                admins = frozenset(item["billing_admins"])
                found.append(AccountFact(item["id"], managed_by, partner, admins, doc.origin((*base, "id"))))
        return found

    def _orgs(self, doc: YamlDocument) -> list[OrgPeopleFact]:
        found = []
        for i, item in self._items(doc, "organizations"):
            base: YamlPath = ("organizations", i)
            if self._unique(doc, "organization", item["id"], (*base, "id")):
                admins = frozenset(item.get("admins") or [])
                members = frozenset(item.get("members") or []) - admins
                found.append(OrgPeopleFact(item["id"], admins, members, doc.origin((*base, "id"))))
        return found

    def _sites(self, doc: YamlDocument) -> list[tuple[str, tuple[str, ValueOrigin]]]:
        found = []
        for i, item in self._items(doc, "sites"):
            base: YamlPath = ("sites", i)
            if self._unique(doc, "site", item["name"], (*base, "name")):
                found.append((item["name"], (item["jira"], doc.origin((*base, "jira")))))
        return found

    def _subscriptions(
        self, doc: YamlDocument, accounts: Mapping[str, AccountFact]
    ) -> list[SubscriptionFact]:
        found = []
        for i, item in self._items(doc, "subscriptions"):
            base: YamlPath = ("subscriptions", i)
            if not self._unique(doc, "subscription", item["id"], (*base, "id")):
                continue
            if item["billing_account"] not in accounts:
                message = f"billing account {item['billing_account']} is not declared under billing_accounts"
                self._error(doc, "unknown-reference", message, (*base, "billing_account"))
            apps = item.get("apps")
            for app in apps or {}:
                if app not in PRODUCT_APPS[item["product"]]:
                    message = f"{app} is not an app of {item['product']}"
                    self._error(doc, "app-in-product", message, (*base, "apps", app), key=True)
            dates = {name: self._date(doc, item.get(name), (*base, name)) for name in _DATES}
            found.append(
                SubscriptionFact(
                    id=item["id"],
                    billing_account=item["billing_account"],
                    product=item["product"],
                    status=item["status"],
                    start_date=dates["start_date"],
                    term_end=dates["term_end"],
                    deactivated_on=dates["deactivated_on"],
                    migration=bool(item.get("migration", False)),
                    apps=None if apps is None else dict(apps),
                    origin=doc.origin((*base, "id")),
                    status_origin=doc.origin((*base, "status")),
                )
            )
        return found

    def _date(self, doc: YamlDocument, value: str | None, path: YamlPath) -> dt.date | None:
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self._error(doc, "date", f"{value} is not a calendar date", path, "write dates as YYYY-MM-DD")
            return None


_DATES = ("start_date", "term_end", "deactivated_on")
