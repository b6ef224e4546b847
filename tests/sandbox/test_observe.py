"""Observation: one consistent read of the whole console, reused while the database has not changed."""

from __future__ import annotations

from reconciler.sandbox import SandboxConsole
from tests.sandbox.consoles import ALICE, DANA


def test_observe_reads_the_seeded_state(console: SandboxConsole) -> None:
    state = console.observe(ALICE)
    assert state.actor == ALICE
    assert state.users == {ALICE, DANA, "partner@globex.example"}
    assert state.organizations["acme-corp"].members == {DANA}
    assert state.sites["acme-sandbox"].sandbox and not state.sites["acme-sandbox"].hosts_premium_jira
    assert dict(state.subscriptions["SUB-NEW"].apps) == {"jira-align": None, "focus": None, "talent": None}
    assert state.subscriptions["SUB-MIGRATION"].migration
    assert state.retired_site_names == {"old-acme"}
    assert "sandbox-token" not in repr(state)


def test_the_actor_is_whoever_asks(console: SandboxConsole) -> None:
    as_alice, as_dana, as_nobody = console.observe(ALICE), console.observe(DANA), console.observe(None)
    assert (as_alice.actor, as_dana.actor, as_nobody.actor) == (ALICE, DANA, None)
    assert as_dana.subscriptions == as_alice.subscriptions


def test_a_write_from_another_connection_is_seen_at_once(console: SandboxConsole) -> None:
    before = console.observe(ALICE)
    with SandboxConsole(console.path) as other:
        other.provision(ALICE, "SUB-NEW", "focus", "acme", "k")
    after = console.observe(ALICE)
    assert (before.subscriptions["SUB-NEW"].apps["focus"], after.subscriptions["SUB-NEW"].apps["focus"]) == (
        None,
        "acme",
    )


def test_an_unchanged_database_is_not_read_twice(console: SandboxConsole) -> None:
    first, second = console.observe(ALICE), console.observe(DANA)
    assert second.subscriptions is first.subscriptions
    console.advance(0)
    assert console.observe(ALICE).subscriptions is not first.subscriptions
