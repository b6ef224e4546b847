"""Observation: one consistent read of the whole console, reused while the database has not changed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from reconciler.model import Organization
from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.seed import SeedUser
from reconciler.sandbox.seedfile import example_seed
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


def test_each_orgs_admins_and_members_are_read_whatever_the_emails_hold(tmp_path: Path) -> None:
    """The people of each org: orgs that share their people share one set, an org without
    members has none, and an email with a NUL in it, or whose text is two others' joined by one,
    is still one email."""
    base = example_seed()
    odd, x, y = "odd\0mail@acme.example", "x@acme.example", "y@acme.example"
    two_in_one = "x@acme.example\0y@acme.example"
    users = (*base.users, *(SeedUser(email) for email in (x, odd, y, two_in_one)))
    orgs = (
        Organization("org-a", "A", frozenset({x, y}), frozenset()),
        Organization("org-b", "B", frozenset({y, x}), frozenset({odd})),
        Organization("org-c", "C", frozenset({odd, x}), frozenset({y})),
        Organization("org-d", "D", frozenset({two_in_one}), frozenset({x, y})),
    )
    seed = dataclasses.replace(base, users=users, organizations=(*base.organizations, *orgs))
    with SandboxConsole.create(tmp_path / "people.db", seed) as console:
        state = console.observe(None)
    for org in (*base.organizations, *orgs):
        read = state.organizations[org.id]
        assert (read.admins, read.members) == (org.admins, org.members), org.id
    assert state.organizations["org-a"].admins is state.organizations["org-b"].admins
    assert state.organizations["org-a"].members is state.organizations["org-a"].members == frozenset()
