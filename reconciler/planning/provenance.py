"""Which rule decisions rest on declared facts rather than observed ones.

A provider that cannot observe everything (the `atlassian` provider: no public API shows a
subscription, a billing account or a site's Jira edition) records in `Console.declared` what it
took from the declared billing facts. Every change and every blocked entry whose rule used one of
those facts carries it, so a reviewer sees what the plan believes rather than knows. A console
with nothing declared (the sandbox, the console API) leaves the plan exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from msgspec import structs

from reconciler.model import (
    PREMIUM_APPS,
    Action,
    Blocked,
    Change,
    Console,
    DeclaredFact,
    DesiredState,
    fact_key,
)

#: rule -> the kinds of fact its decision reads (beyond the subscription itself)
_RULE_FACTS: dict[str, tuple[str, ...]] = {
    "billing-admin": ("subscription", "billing-account"),
    "org-admin": ("org-people",),
    "partner-in-org": ("subscription", "billing-account", "org-people"),
    "premium-site": ("site-jira",),
    "app-in-product": ("subscription",),
    "migration": ("subscription",),
    "retention": ("subscription",),
    "unknown-subscription": ("subscription",),
    "subscription-mismatch": ("subscription",),
    "no-move": ("subscription", "placement"),
    "one-per-org": ("subscription", "placement"),
    "site-name": ("retired-site-names",),
}


def with_provenance(
    changes: Sequence[Change], blocked: Sequence[Blocked], desired: DesiredState, console: Console
) -> tuple[list[Change], list[Blocked]]:
    """The changes and blocked entries, each with the declared facts its rules relied on."""
    if not console.declared:
        return list(changes), list(blocked)
    basis = _Basis(desired, console)
    return (
        [structs.replace(c, declared=basis.facts(basis.of_change(c))) for c in changes],
        [structs.replace(b, declared=basis.facts(basis.of_blocked(b))) for b in blocked],
    )


class _Basis:
    def __init__(self, desired: DesiredState, console: Console) -> None:
        self.desired = desired
        self.console = console

    def facts(self, keys: Iterable[str]) -> tuple[DeclaredFact, ...]:
        declared = self.console.declared
        return tuple(declared[k] for k in dict.fromkeys(keys) if k in declared)

    def of_change(self, change: Change) -> list[str]:
        if change.action is Action.CREATE_SITE:
            return [fact_key("org-people", change.org or ""), fact_key("retired-site-names")]
        keys = self._subscription(change.subscription)
        if change.action is Action.PROVISION:
            keys.append(fact_key("org-people", change.org or ""))
            if change.app in PREMIUM_APPS:
                keys.append(fact_key("site-jira", change.site or ""))
            keys.append(fact_key("placement", f"{change.subscription}:{change.app}"))
        return keys

    def of_blocked(self, entry: Blocked) -> list[str]:
        keys: list[str] = []
        for kind in _RULE_FACTS.get(entry.rule, ()):
            if kind == "subscription":
                keys += self._subscription(entry.subscription)
            elif kind == "billing-account":
                keys += self._subscription(entry.subscription)[1:]
            elif kind == "org-people":
                keys.append(fact_key("org-people", self._org_of(entry.site) or ""))
            elif kind == "site-jira":
                keys.append(fact_key("site-jira", entry.site or ""))
            elif kind == "placement":
                keys.append(fact_key("placement", f"{entry.subscription}:{entry.app}"))
            else:
                keys.append(fact_key(kind))
        return keys

    def _subscription(self, sub_id: str | None) -> list[str]:
        """The subscription's own fact, then its billing account's."""
        if sub_id is None:
            return []
        keys = [fact_key("subscription", sub_id)]
        live = self.console.subscriptions.get(sub_id)
        if live is not None:
            keys.append(fact_key("billing-account", live.billing_account))
        return keys

    def _org_of(self, site: str | None) -> str | None:
        if site is None:
            return None
        live = self.console.sites.get(site)
        if live is not None:
            return live.org
        declared = self.desired.sites.get(site)
        return None if declared is None else declared.org
