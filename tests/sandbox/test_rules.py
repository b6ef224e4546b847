"""Every rule of docs/rules.md, refused by the console itself with its id and a message naming the facts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.errors import ProviderError
from reconciler.model import Operation
from reconciler.sandbox import SandboxConsole
from tests.sandbox.consoles import ALICE, DANA, PARTNER, RULES_SEED, console_from

Request = Callable[[SandboxConsole], Operation]


CASES: list[tuple[str, Request, str, str]] = [
    (
        "unknown subscription",
        lambda c: c.provision(ALICE, "SUB-NOPE", "focus", "acme", "k"),
        "unknown-subscription",
        "subscription SUB-NOPE does not exist in this console",
    ),
    (
        "provision by someone who is not a billing admin",
        lambda c: c.provision(DANA, "SUB-NEW", "focus", "acme", "k"),
        "billing-admin",
        "dana@acme.example is not a billing admin of AC-DIRECT (its billing admins: alice@acme.example)",
    ),
    (
        "provision with nobody acting",
        lambda c: c.provision(None, "SUB-NEW", "focus", "acme", "k"),
        "billing-admin",
        "nobody is acting: a billing admin of AC-DIRECT must make this request "
        "(its billing admins: alice@acme.example)",
    ),
    (
        "cancel by someone who is not a billing admin",
        lambda c: c.cancel(DANA, "SUB-NEW", "k"),
        "billing-admin",
        "dana@acme.example is not a billing admin of AC-DIRECT (its billing admins: alice@acme.example)",
    ),
    (
        "reactivate by someone who is not a billing admin",
        lambda c: c.reactivate(PARTNER, "SUB-NEW", "k"),
        "billing-admin",
        "partner@globex.example is not a billing admin of AC-DIRECT (its billing admins: alice@acme.example)",
    ),
    (
        "an app outside the product",
        lambda c: c.provision(ALICE, "SUB-LABS-FOCUS", "talent", "acme", "k"),
        "app-in-product",
        "talent is not an app of SUB-LABS-FOCUS (product focus has: focus)",
    ),
    (
        "a migration",
        lambda c: c.provision(ALICE, "SUB-MIGRATION", "jira-align", "acme", "k"),
        "migration",
        "SUB-MIGRATION is a migration to the Strategy Collection: Atlassian provisions its apps",
    ),
    (
        "a site that does not exist",
        lambda c: c.provision(ALICE, "SUB-NEW", "jira-align", "nowhere", "k"),
        "site-exists",
        "site nowhere does not exist",
    ),
    (
        "a site in an org that does not exist",
        lambda c: c.create_site(ALICE, "no-org", "fresh", "k"),
        "site-org",
        "org no-org does not exist in this console",
    ),
    (
        "an invalid site name",
        lambda c: c.create_site(ALICE, "acme-corp", "Bad_Name", "k"),
        "site-name",
        "site name 'Bad_Name' is invalid: 3 to 63 lowercase letters, digits and hyphens, "
        "starting and ending with a letter or digit",
    ),
    (
        "a site name too short",
        lambda c: c.create_site(ALICE, "acme-corp", "ab", "k"),
        "site-name",
        "site name 'ab' is invalid: 3 to 63 lowercase letters, digits and hyphens, "
        "starting and ending with a letter or digit",
    ),
    (
        "a site name too long",
        lambda c: c.create_site(ALICE, "acme-corp", "a" * 64, "k"),
        "site-name",
        f"site name {'a' * 64!r} is invalid: 3 to 63 lowercase letters, digits and hyphens, "
        "starting and ending with a letter or digit",
    ),
    *[
        (
            f"a site name with {what}",
            lambda c, name=name: c.create_site(ALICE, "acme-corp", name, "k"),
            "site-name",
            f"site name {name!r} is invalid: 3 to 63 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit",
        )
        for what, name in [
            ("a final newline (a retired name)", "old-acme\n"),
            ("a final newline", "acme-fresh\n"),
            ("a final CRLF", "acme-fresh\r\n"),
            ("a trailing space", "acme-fresh "),
            ("a leading tab", "\tacme-fresh"),
            ("a line separator", "acme-fresh\u2028"),
        ]
    ],
    (
        "a retired site name",
        lambda c: c.create_site(ALICE, "acme-corp", "old-acme", "k"),
        "site-name",
        "site name old-acme is retired: a name once used is never reused",
    ),
    (
        "a site name that is live",
        lambda c: c.create_site(ALICE, "acme-labs", "acme", "k"),
        "site-name",
        "site acme already exists (in org acme-corp)",
    ),
    (
        "focus on Jira Standard",
        lambda c: c.provision(ALICE, "SUB-NEW", "focus", "acme-std", "k"),
        "premium-site",
        "focus needs a site with Jira Premium or Enterprise; acme-std has Jira Standard",
    ),
    (
        "focus on a sandbox site",
        lambda c: c.provision(ALICE, "SUB-NEW", "focus", "acme-sandbox", "k"),
        "premium-site",
        "focus needs a site with Jira Premium or Enterprise; acme-sandbox is a sandbox site",
    ),
    (
        "talent on a site without Jira",
        lambda c: c.provision(ALICE, "SUB-NEW", "talent", "acme-bare", "k"),
        "premium-site",
        "talent needs a site with Jira Premium or Enterprise; acme-bare has no Jira",
    ),
    (
        "a second focus in an org",
        lambda c: c.provision(ALICE, "SUB-NEW", "focus", "labs", "k"),
        "one-per-org",
        "org acme-labs already has focus: SUB-LABS-FOCUS on labs",
    ),
    (
        "moving an app",
        lambda c: c.provision(ALICE, "SUB-ALIGN", "jira-align", "acme", "k"),
        "no-move",
        "jira-align of SUB-ALIGN is provisioned to acme-std; moving it to acme is a support case, "
        "not self-service",
    ),
    (
        "a partner outside the org",
        lambda c: c.provision(PARTNER, "SUB-PARTNER", "talent", "solo", "k"),
        "partner-in-org",
        "AC-PARTNER is managed by partner globex-partners and none of its billing admins "
        "(partner@globex.example) is a member or admin of org solo-org",
    ),
    (
        "provision by someone who is not an org admin",
        lambda c: c.provision(ALICE, "SUB-NEW", "focus", "dana", "k"),
        "org-admin",
        "alice@acme.example is not an admin of org dana-org "
        "(its admins: dana@acme.example, partner@globex.example)",
    ),
    (
        "create a site as someone who is not an org admin",
        lambda c: c.create_site(DANA, "acme-corp", "acme-new", "k"),
        "org-admin",
        "dana@acme.example is not an admin of org acme-corp "
        "(its admins: alice@acme.example, partner@globex.example)",
    ),
    (
        "reactivate a deleted subscription",
        lambda c: c.reactivate(ALICE, "SUB-DELETED", "k"),
        "retention",
        "SUB-DELETED was deleted: reactivation is only possible before the data is deleted",
    ),
    (
        "cancel a deleted subscription",
        lambda c: c.cancel(ALICE, "SUB-DELETED", "k"),
        "retention",
        "SUB-DELETED was deleted: there is nothing left to cancel",
    ),
    (
        "provision a deleted subscription",
        lambda c: c.provision(ALICE, "SUB-DELETED", "focus", "acme", "k"),
        "retention",
        "SUB-DELETED was deleted: its data is gone",
    ),
    (
        "provision an upcoming subscription",
        lambda c: c.provision(ALICE, "SUB-UPCOMING", "talent", "acme", "k"),
        "conflict",
        "SUB-UPCOMING is upcoming: its apps can be provisioned from its start date (2026-12-15)",
    ),
    (
        "an app that does not exist",
        lambda c: c.provision(ALICE, "SUB-NEW", "jira", "acme", "k"),
        "invalid-request",
        "'jira' is not an app (the apps are jira-align, focus, talent)",
    ),
    (
        "no idempotency key",
        lambda c: c.create_site(ALICE, "acme-corp", "acme-new", ""),
        "invalid-request",
        "idempotency key must be a non-empty string",
    ),
]


@pytest.mark.parametrize(("request_", "code", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_console_refuses_with_the_rule_id(
    console: SandboxConsole, request_: Request, code: str, message: str
) -> None:
    before = console.observe(ALICE)
    with pytest.raises(ProviderError) as refused:
        request_(console)
    assert (refused.value.code, refused.value.message) == (code, message)
    assert console.observe(ALICE) == before
    assert console.write_count() == 0


def test_every_rule_id_is_refused_by_some_case() -> None:
    rule_ids = {
        "site-exists", "site-org", "site-name", "premium-site", "one-per-org", "app-in-product", "no-move",
        "partner-in-org", "billing-admin", "org-admin", "migration", "retention", "unknown-subscription",
    }  # fmt: skip
    assert rule_ids <= {case[2] for case in CASES}


def test_a_refused_key_is_not_remembered(console: SandboxConsole) -> None:
    """A refusal has no effect, so the same key may be sent again once the cause is fixed."""
    with pytest.raises(ProviderError) as refused:
        console.provision(ALICE, "SUB-NEW", "jira-align", "solo-align", "key-1")
    assert refused.value.code == "site-exists"
    console.create_site(ALICE, "solo-org", "solo-align", "key-2")
    done = console.provision(ALICE, "SUB-NEW", "jira-align", "solo-align", "key-1")
    assert done.status == "succeeded"
    assert console.observe(ALICE).subscriptions["SUB-NEW"].apps["jira-align"] == "solo-align"


def test_a_site_the_console_creates_has_no_jira(console: SandboxConsole) -> None:
    console.create_site(ALICE, "acme-corp", "acme-new", "k1")
    with pytest.raises(ProviderError) as refused:
        console.provision(ALICE, "SUB-NEW", "focus", "acme-new", "k2")
    assert (refused.value.code, refused.value.message) == (
        "premium-site",
        "focus needs a site with Jira Premium or Enterprise; acme-new has no Jira",
    )


def test_a_deleted_subscription_frees_its_org_slot(tmp_path: Path) -> None:
    """one-per-org counts every subscription that is not deleted, and only those."""
    with console_from(RULES_SEED, tmp_path) as console:
        console.cancel(ALICE, "SUB-LABS-FOCUS", "cancel")
        with pytest.raises(ProviderError) as refused:
            console.provision(ALICE, "SUB-NEW", "focus", "labs", "early")
        assert refused.value.code == "one-per-org"
        console.advance(365)  # term end 2026-12-31, deactivated 2027-01-15, deleted 2027-03-16
        assert console.observe(ALICE).subscriptions["SUB-LABS-FOCUS"].status == "deleted"
        assert console.provision(ALICE, "SUB-NEW", "focus", "labs", "later").status == "succeeded"
