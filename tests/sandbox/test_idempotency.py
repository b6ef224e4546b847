"""Idempotency keys: the same key and request give the same operation and no second effect."""

from __future__ import annotations

import pytest

from reconciler.errors import ProviderError
from reconciler.sandbox import SandboxConsole
from tests.sandbox.consoles import ALICE, PARTNER


def test_same_key_same_request_gives_the_same_operation_and_one_effect(console: SandboxConsole) -> None:
    first = console.create_site(ALICE, "acme-corp", "acme-align", "create-acme-align")
    again = console.create_site(ALICE, "acme-corp", "acme-align", "create-acme-align")
    assert again == first
    assert first.status == "succeeded"
    assert console.write_count() == 1
    assert "acme-align" in console.observe(ALICE).sites


def test_same_key_other_request_is_an_idempotency_mismatch(console: SandboxConsole) -> None:
    console.create_site(ALICE, "acme-corp", "acme-align", "key-1")
    before = console.observe(ALICE)
    with pytest.raises(ProviderError) as refused:
        console.provision(ALICE, "SUB-NEW", "focus", "acme", "key-1")
    assert refused.value.code == "idempotency-mismatch"
    assert refused.value.message == (
        "idempotency key 'key-1' was already used for another request "
        '({"kind": "create-site", "org": "acme-corp", "site": "acme-align"})'
    )
    assert console.observe(ALICE) == before
    assert console.write_count() == 1


def test_the_same_key_from_another_user_is_that_users_own_request(console: SandboxConsole) -> None:
    # Keys are per user: another user's key never finds, replays or shows this user's request.
    mine = console.create_site(ALICE, "acme-corp", "acme-align", "key-1")
    theirs = console.create_site(PARTNER, "acme-corp", "acme-other", "key-1")
    assert theirs.id != mine.id
    assert console.write_count() == 2
    with pytest.raises(ProviderError) as refused:
        console.provision(PARTNER, "SUB-NEW", "focus", "acme", "key-1")
    # The mismatch is with the partner's own request, and says nothing of alice's.
    assert (refused.value.code, refused.value.message) == (
        "idempotency-mismatch",
        "idempotency key 'key-1' was already used for another request "
        '({"kind": "create-site", "org": "acme-corp", "site": "acme-other"})',
    )
    assert console.create_site(ALICE, "acme-corp", "acme-align", "key-1") == mine
    assert console.write_count() == 2


def test_an_operation_is_readable_only_by_the_user_who_made_it(console: SandboxConsole) -> None:
    mine = console.create_site(ALICE, "acme-corp", "acme-align", "key-1")
    assert console.operation(mine.id, ALICE) == mine
    for other in (PARTNER, None, "nobody@acme.example"):
        with pytest.raises(ProviderError) as missing:
            console.operation(mine.id, other)
        assert (missing.value.code, missing.value.message) == (
            "not-found",
            f"operation {mine.id} does not exist",
        )


def test_provisioning_what_is_already_there_succeeds_without_a_second_effect(console: SandboxConsole) -> None:
    first = console.provision(ALICE, "SUB-NEW", "focus", "acme", "key-1")
    second = console.provision(ALICE, "SUB-NEW", "focus", "acme", "key-2")
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert second.id != first.id
    assert console.write_count() == 1


def test_cancel_twice_and_reactivate_twice_take_effect_once(console: SandboxConsole) -> None:
    assert console.cancel(ALICE, "SUB-NEW", "c1").status == "succeeded"
    assert console.cancel(ALICE, "SUB-NEW", "c2").status == "succeeded"
    assert console.write_count() == 1
    assert console.observe(ALICE).subscriptions["SUB-NEW"].status == "cancelled"
    console.reactivate(ALICE, "SUB-NEW", "r1")
    console.reactivate(ALICE, "SUB-NEW", "r2")
    assert console.write_count() == 2
    assert console.observe(ALICE).subscriptions["SUB-NEW"].status == "active"


def test_keys_are_shared_by_every_connection_to_the_file(console: SandboxConsole) -> None:
    """A retry through another process (or server thread) finds the first attempt's operation."""
    first = console.provision(ALICE, "SUB-NEW", "talent", "acme", "key-1")
    with SandboxConsole(console.path) as other:
        assert other.provision(ALICE, "SUB-NEW", "talent", "acme", "key-1") == first
        assert other.write_count() == 1


def test_an_unknown_operation_is_not_found(console: SandboxConsole) -> None:
    with pytest.raises(ProviderError) as missing:
        console.operation("op-nope", ALICE)
    assert (missing.value.code, missing.value.message) == ("not-found", "operation op-nope does not exist")
