"""Declared billing facts: what the Atlassian Admin API cannot tell, kept in the estate repository.

Every `*.yaml` / `*.yml` under the facts path (default `billing/` beside `desired-state/`) is read
and merged, like desired state: safely, against schemas/billing-facts.schema.json, every problem
reported at once at its `file:line:column` (an id declared twice, a subscription whose billing
account is not declared, an app outside its product, a date that is no date).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from msgspec import Struct

from reconciler.errors import ReconcilerError
from reconciler.loading.yamlfile import DiagnosticsError, ValueOrigin, YamlDocument, parse_yaml, read_bytes
from reconciler.model import PRODUCT_APPS, Diagnostic, Product
from reconciler.userpaths import check_path

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
    """`billing/` beside the directory that holds the desired state.

    That directory is the one the paths have in common, each path taken as the directory it
    names or, for a file, the directory the file is in: `desired-state`, `desired-state/a.yaml
    desired-state/b.yaml` and `desired-state/acme/a.yaml desired-state/b.yaml` are all read from
    `desired-state/`, so the facts are `billing/` beside it. The answer is relative when every
    path given is, and lexical (`..` is undone on the path as written, links are not followed),
    so `.` from inside `desired-state/` gives `../billing`.
    """
    given = list(desired_paths) or ["desired-state"]
    holders = [os.path.abspath(_holder(path)) for path in given]
    common = os.path.commonpath(holders)
    facts = os.path.join(os.path.dirname(common), DEFAULT_FACTS_DIR)
    if any(os.path.isabs(path) for path in given):
        return Path(facts).as_posix()
    return Path(os.path.relpath(facts)).as_posix()


def _holder(path: str) -> str:
    """The directory a desired-state path stands for: itself, or the directory of a file."""
    if os.path.isdir(path):
        return path
    if os.path.isfile(path) or Path(path).suffix in (".yaml", ".yml"):
        return os.path.dirname(path) or os.curdir
    return path


def load_facts(path: str) -> BillingFacts:
    """Read and check every facts file under `path`; raise DiagnosticsError listing every problem."""
    from reconciler.loading.desired import desired_files

    check_path(path, "the billing facts")
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
    docs, problems = _read_all(files)
    # The checks below the schema run on whatever parsed, so a schema error in one place never
    # hides a date or a duplicate in another: every problem is reported in one run.
    facts, found = _Reader(docs).read()
    problems += found
    if problems or facts is None:
        raise DiagnosticsError(
            sorted(problems, key=lambda d: d.sort_key),
            f"the billing facts in {path} are not valid",
            hint="fix them where shown (their format: schemas/billing-facts.schema.json, docs/atlassian.md)",
        )
    return facts


def _read_all(files: Sequence[tuple[Path, str]]) -> tuple[list[YamlDocument], list[Diagnostic]]:
    """Every file that parses, and the problems of all of them (unreadable, not YAML, off the schema)."""
    from reconciler.validation.schema import schema_diagnostics

    docs: list[YamlDocument] = []
    problems: list[Diagnostic] = []
    for file, display in files:
        raw, found = read_bytes(file, display)
        doc = None
        if raw is not None:
            doc, found = parse_yaml(raw, display)
        if doc is not None:
            found += schema_diagnostics(doc, SCHEMA)
            docs.append(doc)
        problems += found
    return docs, problems


def _text(item: Mapping[str, Any], key: str, default: str = "") -> str:
    """A string field as declared; anything else (a schema error, reported already) reads as `default`."""
    value = item.get(key)
    return value if isinstance(value, str) else default


def _texts(value: Any) -> frozenset[str]:
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()


class _Reader:
    """The checks beyond the schema, over data the schema may have refused in places.

    Each field is read for the type it should have: a value of another type was reported by the
    schema already and is passed over here, so one bad value never stops the other checks.
    """

    def __init__(self, docs: Sequence[YamlDocument]) -> None:
        self.docs = [doc for doc in docs if isinstance(doc.data, dict)]
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
            names = _texts(doc.data.get("retired_site_names"))
            if names:
                retired |= names
                retired_origin = retired_origin or doc.origin(("retired_site_names",))
            keys = doc.data.get("type_keys")
            if isinstance(keys, dict):
                type_keys.update({app: key for app, key in keys.items() if isinstance(key, str)})
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

    def _unique(self, doc: YamlDocument, what: str, value: Any, path: YamlPath) -> bool:
        if not isinstance(value, str):
            return False
        first = self.seen.get((what, value))
        if first is not None:
            self._error(
                doc, "duplicate", f"{what} {value} is declared twice: here and at {first.span()}", path
            )
            return False
        self.seen[(what, value)] = doc.origin(path)
        return True

    def _items(self, doc: YamlDocument, name: str) -> list[tuple[int, dict[str, Any]]]:
        section = doc.data.get(name)
        if not isinstance(section, list):
            return []
        return [(i, item) for i, item in enumerate(section) if isinstance(item, dict)]

    def _accounts(self, doc: YamlDocument) -> list[AccountFact]:
        found = []
        for i, item in self._items(doc, "billing_accounts"):
            base: YamlPath = ("billing_accounts", i)
            managed_by, partner = _text(item, "managed_by", "direct"), item.get("partner")
            if managed_by == "partner" and partner is None:
                named = _text(item, "id", "this account")
                self._error(doc, "partner", f"{named} is partner-managed: name its partner", base)
            if self._unique(doc, "billing account", item.get("id"), (*base, "id")):
                admins = _texts(item.get("billing_admins"))
                partner = partner if isinstance(partner, str) else None
                found.append(AccountFact(item["id"], managed_by, partner, admins, doc.origin((*base, "id"))))
        return found

    def _orgs(self, doc: YamlDocument) -> list[OrgPeopleFact]:
        found = []
        for i, item in self._items(doc, "organizations"):
            base: YamlPath = ("organizations", i)
            if self._unique(doc, "organization", item.get("id"), (*base, "id")):
                admins = _texts(item.get("admins"))
                members = _texts(item.get("members")) - admins
                found.append(OrgPeopleFact(item["id"], admins, members, doc.origin((*base, "id"))))
        return found

    def _sites(self, doc: YamlDocument) -> list[tuple[str, tuple[str, ValueOrigin]]]:
        found = []
        for i, item in self._items(doc, "sites"):
            base: YamlPath = ("sites", i)
            if self._unique(doc, "site", item.get("name"), (*base, "name")):
                found.append((item["name"], (_text(item, "jira"), doc.origin((*base, "jira")))))
        return found

    def _subscriptions(
        self, doc: YamlDocument, accounts: Mapping[str, AccountFact]
    ) -> list[SubscriptionFact]:
        found = []
        for i, item in self._items(doc, "subscriptions"):
            base: YamlPath = ("subscriptions", i)
            if not self._unique(doc, "subscription", item.get("id"), (*base, "id")):
                continue
            self._references(doc, item, accounts, base)
            apps = item.get("apps")
            dates = {name: self._date(doc, item.get(name), (*base, name)) for name in _DATES}
            found.append(
                SubscriptionFact(
                    id=item["id"],
                    billing_account=_text(item, "billing_account"),
                    product=_text(item, "product"),
                    status=_text(item, "status"),
                    start_date=dates["start_date"],
                    term_end=dates["term_end"],
                    deactivated_on=dates["deactivated_on"],
                    migration=item.get("migration") is True,
                    apps=dict(apps) if isinstance(apps, dict) else None,
                    origin=doc.origin((*base, "id")),
                    status_origin=doc.origin((*base, "status")),
                )
            )
        return found

    def _references(
        self, doc: YamlDocument, item: Mapping[str, Any], accounts: Mapping[str, AccountFact], base: YamlPath
    ) -> None:
        """A subscription's billing account is declared; its apps belong to its product."""
        account = item.get("billing_account")
        if isinstance(account, str) and account and account not in accounts:
            message = f"billing account {account} is not declared under billing_accounts"
            self._error(doc, "unknown-reference", message, (*base, "billing_account"))
        product, apps = _text(item, "product"), item.get("apps")
        if product not in PRODUCT_APPS or not isinstance(apps, dict):
            return
        for app in apps:
            # An app that is no app at all is the schema's to report, once.
            if app in PRODUCT_APPS[Product.STRATEGY_COLLECTION] and app not in PRODUCT_APPS[product]:
                message = f"{app} is not an app of {product}"
                self._error(doc, "app-in-product", message, (*base, "apps", app), key=True)

    def _date(self, doc: YamlDocument, value: Any, path: YamlPath) -> dt.date | None:
        # Only what has a date's shape (the schema refuses anything else) can be a day that does not exist.
        if not isinstance(value, str) or not _DATE_SHAPE.fullmatch(value):
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self._error(doc, "date", f"{value} is not a calendar date", path, "write dates as YYYY-MM-DD")
            return None


_DATES = ("start_date", "term_end", "deactivated_on")
#: the schema's date pattern, `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, read as JSON Schema reads `$`
_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
