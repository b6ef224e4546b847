"""The seed format's defaults and the example console shipped in the package."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reconciler.model import BillingAccount, Organization, Site, Subscription
from reconciler.sandbox.seed import DEFAULT_PROVISIONING_DELAY
from reconciler.sandbox.seedfile import example_seed, load_seed

MINIMAL = """\
users:
  - email: alice@acme.example
billing_accounts:
  - id: AC-1
organizations:
  - id: acme-corp
sites:
  - name: acme
    org: acme-corp
subscriptions:
  - id: SUB-1
    billing_account: AC-1
    product: strategy-collection
    start_date: 2024-02-29
  - id: SUB-2
    billing_account: AC-1
    product: talent
    status: deactivated
    term_end: 2026-10-31
"""


def test_a_minimal_seed_gets_the_documented_defaults(tmp_path: Path) -> None:
    (tmp_path / "seed.yaml").write_text(MINIMAL, encoding="utf-8")
    seed = load_seed(tmp_path / "seed.yaml")
    assert seed.now == dt.date.today()
    assert seed.provisioning_delay == DEFAULT_PROVISIONING_DELAY
    assert seed.default_actor == "alice@acme.example"
    assert seed.users[0].token is None
    assert seed.billing_accounts == (BillingAccount("AC-1", "direct", None, frozenset()),)
    assert seed.organizations == (Organization("acme-corp", "acme-corp", frozenset(), frozenset()),)
    assert seed.sites == (Site("acme", "acme-corp", None, False),)
    first, second = seed.subscriptions
    assert first == Subscription(
        "SUB-1",
        "AC-1",
        "strategy-collection",
        "active",
        dt.date(2024, 2, 29),
        dt.date(2025, 2, 27),  # a year after the start, less a day (no 29 February in 2025)
        {"jira-align": None, "focus": None, "talent": None},
    )
    assert (second.status, second.start_date, second.deactivated_on, dict(second.apps)) == (
        "deactivated",
        dt.date(2025, 11, 1),  # the term is a year, ending on term_end
        dt.date(2026, 11, 15),  # 15 days after its term end
        {"talent": None},
    )


def test_tokens_stay_out_of_the_seed_repr(tmp_path: Path) -> None:
    seed = example_seed()
    assert seed.users[0].token == "sandbox-token-alice"
    assert "sandbox-token" not in repr(seed)


def test_the_example_console_is_the_estate_desired_state_describes() -> None:
    seed = example_seed()
    assert seed.now == dt.date(2026, 11, 21)
    by_id = {sub.id: sub for sub in seed.subscriptions}
    assert dict(by_id["SUB-1001"].apps) == {"jira-align": None, "focus": None, "talent": None}
    assert by_id["SUB-1003"].status == "upcoming"
    assert {site.name for site in seed.sites} >= {"acme", "labs"}
    assert "acme-align" not in {site.name for site in seed.sites}  # desired state creates it
