"""What each column with a fixed set of values may hold, and the check that it does.

A console writes a status, a product, an app, a Jira plan or a flag only from its own vocabulary.
A value outside it (a hand edit, another program) is damage: read as it is, it would be a
subscription in no known state, shown, planned and imported as if it meant something. Every
reader of those columns reads them through a `Vocabulary`, which checks a value the first time
it meets it: a few checks per process, never one per row.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

from reconciler.model import JIRA_PLANS, App, Product, Status
from reconciler.sandbox.damage import StoredValueError

V = TypeVar("V")


class Vocabulary(dict[Hashable, V], Generic[V]):
    """The values a column may hold, each read as one shared object. The first row with a value
    checks it; the rows after it find it already there, at the cost of the dict lookup that
    sharing it takes anyway. A value outside the set is damage, named with its column."""

    def __init__(self, column: str, allowed: Mapping[Hashable, V]) -> None:
        super().__init__()
        self._column = column
        self._allowed = allowed

    def __missing__(self, stored: Hashable) -> V:
        if stored not in self._allowed:
            listing = ", ".join("NULL" if key is None else str(key) for key in self._allowed)
            raise StoredValueError(f"{self._column} holds {stored!r}, not one of {listing}")
        value = self[stored] = self._allowed[stored]
        return value


def words(column: str, allowed: Iterable[str]) -> Vocabulary[str]:
    """A text column's vocabulary: each word read as itself (a plain str, not the enum member)."""
    return Vocabulary(column, {str(word): str(word) for word in allowed})


def flags(column: str) -> Vocabulary[bool]:
    """A 0/1 column's vocabulary, read as False/True."""
    return Vocabulary(column, {0: False, 1: True})


# Shared by every read: a value enters one only once it is checked, so none holds damage.
PRODUCTS = words("subscriptions.product", Product)
STATUSES = words("subscriptions.status", Status)
MIGRATIONS = flags("subscriptions.migration")
APPS = words("subscription_apps.app", App)
PENDING_APPS = words("operations.app", App)
JIRA: Vocabulary[str | None] = Vocabulary("sites.jira", {**{plan: plan for plan in JIRA_PLANS}, None: None})
SANDBOXES = flags("sites.sandbox")
MANAGED_BY = words("billing_accounts.managed_by", ("direct", "partner"))
