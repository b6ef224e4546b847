"""The fast paths written for speed say exactly what the plain code they replace says."""

from __future__ import annotations

import datetime as dt

import pytest

from reconciler.model import BillingAccount, Console, Organization, Site, Subscription
from reconciler.planning.fingerprint import _dumps, canonical_console, canonical_text, observed_fingerprint
from reconciler.providers.sandbox import SandboxConsole
from reconciler.providers.sandbox.seedfile import example_seed


def _odd_console() -> Console:
    """Strings JSON must escape, text it must not, every optional field both ways."""
    odd = 'quote " back \\ tab \t nl \n bell \x07 é ü 日本 \u2028 \U0001f600'
    day = dt.date(2026, 1, 2)
    return Console(
        now=dt.date(2026, 11, 21),
        actor=odd,
        users=frozenset({odd, "b@x.example", "a@x.example"}),
        billing_accounts={
            "AC-2": BillingAccount("AC-2", "partner", odd, frozenset({odd, "a@x.example"})),
            "AC-1": BillingAccount("AC-1", "direct", None, frozenset()),
        },
        organizations={
            odd: Organization(odd, odd, frozenset({odd, "z@x.example"}), frozenset()),
            "org-a": Organization("org-a", "Org A", frozenset(), frozenset({"m@x.example", odd})),
        },
        sites={
            odd: Site(odd, odd, None, True),
            "site-a": Site("site-a", "org-a", "premium"),
        },
        subscriptions={
            "SUB-2": Subscription(
                "SUB-2", "AC-2", "strategy-collection", "cancelled", day, None,
                {"talent": None, "focus": odd, "jira-align": "site-a"}, True, day, {"talent": odd},
            ),
            odd: Subscription(odd, odd, odd, odd, None, day, {}, False, None, {}),
        },
        retired_site_names=frozenset({odd, "old"}),
    )  # fmt: skip


def _example_console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    path = tmp_path_factory.mktemp("example") / "sandbox.db"
    with SandboxConsole.create(path, example_seed()) as console:
        return console.observe(console.default_actor())


def test_canonical_text_is_json_of_the_canonical_form(tmp_path_factory: pytest.TempPathFactory) -> None:
    for console in (_odd_console(), _example_console(tmp_path_factory)):
        assert canonical_text(console) == _dumps(canonical_console(console))


def test_a_value_of_an_undeclared_type_takes_the_general_path() -> None:
    console = _odd_console()
    sites = dict(console.sites)
    sites["site-a"] = Site("site-a", "org-a", 3, 1)  # type: ignore[arg-type]
    changed = Console(**{**{f: getattr(console, f) for f in console.__slots__}, "sites": sites})
    assert canonical_text(changed) == _dumps(canonical_console(changed))
    assert observed_fingerprint(changed) != observed_fingerprint(console)
