"""Offline checks of desired state across files: what a schema cannot say.

Each check reads the data defensively (a file may also have schema errors: those are reported
by the schema check, and the other problems are still found here, so a user sees all at once).
Positions are located only for the values that are wrong.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from reconciler.loading.yamlfile import YamlDocument
from reconciler.model import PRODUCT_APPS, SITE_NAME, Diagnostic
from reconciler.validation.capped import MAX_DIAGNOSTICS, first, more_note
from reconciler.validation.schema import quoted

NEW_SITE_MIN, NEW_SITE_MAX = 3, 63  # the schema's maxLength is NEW_SITE_MAX


class CrossFileChecks:
    """Duplicate sites and subscriptions across files, new-site names, apps outside their product.

    Fed one document at a time while its data is there (`add`), so a file's parsed data can go
    before the next one is read: all that is kept of it is its names, for the duplicates `finish`
    looks for across files (positions come from the text, which each document keeps).
    """

    def __init__(self) -> None:
        #: per section, each document and the name of each of its items (None: not a string)
        self._names: dict[str, list[tuple[YamlDocument, list[str | None]]]] = {
            "sites": [],
            "subscriptions": [],
        }

    def add(self, doc: YamlDocument) -> list[Diagnostic]:
        """The problems of `doc` alone; its names are kept for `finish`."""
        self._names["sites"].append((doc, _names(doc, "sites", "name")))
        self._names["subscriptions"].append((doc, _names(doc, "subscriptions", "id")))
        # Each check is lazy, located item by item: a file failing in every item is cut at the cap.
        return [*first(_new_site_names(doc), doc.display), *first(_apps_in_product(doc), doc.display)]

    def finish(self) -> list[Diagnostic]:
        """What is declared twice, across every document added."""
        return [
            *_declared_twice(self._names["sites"], "sites", "name", "duplicate-site", "site"),
            *_declared_twice(
                self._names["subscriptions"], "subscriptions", "id", "duplicate-subscription", "subscription"
            ),
        ]


def _section(doc: YamlDocument, section: str) -> list[Any]:
    """The top-level list `section`, or [] when the shape is wrong."""
    data = doc.data
    values = data.get(section) if isinstance(data, dict) else None
    return values if isinstance(values, list) else []


def _names(doc: YamlDocument, section: str, field: str) -> list[str | None]:
    """The string `field` of each item of `section`, by the item's index (None: not a string)."""
    values = _section(doc, section)
    if doc.accepted:  # the schema requires the field, a string, in every item
        return [item[field] for item in values]
    found = [item.get(field) if isinstance(item, dict) else None for item in values]
    return [name if isinstance(name, str) else None for name in found]


def _declared_twice(
    names: list[tuple[YamlDocument, list[str | None]]], section: str, field: str, rule: str, noun: str
) -> list[Diagnostic]:
    unique: set[str | None] = set()
    for _, found in names:
        unique.update(found)
    unique.discard(None)
    if len(unique) == sum(len(found) - found.count(None) for _, found in names):
        return []  # the usual case, settled by one set of the names (built in C)
    origins: dict[str, tuple[YamlDocument, int]] = {}
    seen: dict[str, int] = {}
    problems: list[Diagnostic] = []
    for doc, found in names:
        shown, hidden = 0, 0
        for index, name in enumerate(found):
            if name is None:
                continue
            seen[name] = seen.get(name, 0) + 1
            if name not in origins:
                origins[name] = (doc, index)
                continue
            if shown == MAX_DIAGNOSTICS:  # past the cap a duplicate is counted, not located
                hidden += 1
                continue
            shown += 1
            origin_doc, origin_index = origins[name]
            there = origin_doc.locate((section, origin_index, field))
            times = "twice" if seen[name] == 2 else "more than twice"
            problems.append(
                Diagnostic(
                    rule,
                    f"{noun} {name if name.isprintable() else repr(name)} is declared {times}: "
                    f"here and at {there}",
                    doc.locate((section, index, field)),
                    hint=f"declare each {noun} once, in one file",
                )
            )
        if hidden:
            problems.append(more_note(doc.display, hidden))
    return problems


def _new_site_names(doc: YamlDocument) -> Iterator[Diagnostic]:
    # The schema checks the characters of every site name; a site to create must also have
    # 3 to 63 of them (an existing site's name is whatever the console has).
    for index, site in enumerate(_section(doc, "sites")):
        if not isinstance(site, dict) or site.get("create") is not True:
            continue  # nearly every site: one that exists
        name = site.get("name")
        if not isinstance(name, str) or not SITE_NAME.fullmatch(name):
            continue
        if len(name) < NEW_SITE_MIN:  # the schema already refuses names that are too long
            yield Diagnostic(
                "site-name",
                f"site name {quoted(name)} is too short: a site to create needs "
                f"{NEW_SITE_MIN} to {NEW_SITE_MAX} characters",
                doc.locate(("sites", index, "name")),
                hint="pick a name of 3 to 63 lowercase letters, digits and hyphens",
            )


def _apps_in_product(doc: YamlDocument) -> Iterator[Diagnostic]:
    for index, subscription in enumerate(_section(doc, "subscriptions")):
        if not isinstance(subscription, dict):
            continue
        product, apps = subscription.get("product"), subscription.get("apps")
        if not isinstance(product, str) or not isinstance(apps, dict):
            continue
        if _FOREIGN.get(product, _NONE).isdisjoint(apps):
            continue  # every app is its product's (or the product is unknown: the schema says so)
        allowed = PRODUCT_APPS[product]
        for app in apps:
            if app in _ALL_APPS and app not in allowed:
                yield Diagnostic(
                    "app-in-product",
                    f"app {app} is not part of product {product}",
                    doc.locate(("subscriptions", index, "apps", app), key=True),
                    hint=f"a {product} subscription has the {_apps(allowed)}; remove {app} here",
                )


def _apps(apps: Sequence[str]) -> str:
    return f"app {apps[0]} only" if len(apps) == 1 else f"apps {', '.join(apps)}"


_ALL_APPS = frozenset(app for apps in PRODUCT_APPS.values() for app in apps)
#: per product, the apps of other products (the ones a subscription of it may not declare)
_FOREIGN = {product: _ALL_APPS - set(apps) for product, apps in PRODUCT_APPS.items()}
_NONE: frozenset[str] = frozenset()
