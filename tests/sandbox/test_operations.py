"""Asynchronous writes: pending for the provisioning delay, visible only once they complete."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Operation
from reconciler.sandbox import SandboxConsole
from tests.sandbox.consoles import ALICE, RULES_SEED, console_from

#: Long enough that a test sees the pending state before completion even on a busy machine.
DELAY = 0.5
#: Longer than any test: an operation that stays pending throughout.
NEVER = 3600.0


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxConsole]:
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", str(DELAY))
    with console_from(RULES_SEED, tmp_path) as opened:
        yield opened


@pytest.fixture
def stuck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxConsole]:
    """A console whose asynchronous operations stay pending for the whole test."""
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", str(NEVER))
    with console_from(RULES_SEED, tmp_path) as opened:
        yield opened


def wait(console: SandboxConsole, operation: Operation, timeout: float = 5.0) -> Operation:
    deadline = time.monotonic() + timeout
    while not operation.done and time.monotonic() < deadline:
        time.sleep(0.02)
        operation = console.operation(operation.id, ALICE)
    return operation


def test_provisioning_completes_after_the_delay(console: SandboxConsole) -> None:
    started = time.monotonic()
    pending = console.provision(ALICE, "SUB-NEW", "focus", "acme", "k")
    assert pending.status == "pending"
    during = console.observe(ALICE).subscriptions["SUB-NEW"]
    assert (during.apps["focus"], dict(during.pending)) == (None, {"focus": "acme"})
    done = wait(console, pending)
    assert time.monotonic() - started >= DELAY
    assert (done.id, done.status) == (pending.id, "succeeded")
    after = console.observe(ALICE).subscriptions["SUB-NEW"]
    assert (after.apps["focus"], dict(after.pending)) == ("acme", {})


def test_a_site_exists_only_once_its_creation_completes(console: SandboxConsole) -> None:
    pending = console.create_site(ALICE, "acme-corp", "acme-align", "k1")
    assert pending.status == "pending"
    assert "acme-align" not in console.observe(ALICE).sites
    assert console.pending_sites() == {"acme-align": "acme-corp"}
    with pytest.raises(ProviderError) as refused:
        console.provision(ALICE, "SUB-NEW", "jira-align", "acme-align", "k2")
    assert (refused.value.code, refused.value.message) == (
        "site-exists",
        f"site acme-align is still being created (operation {pending.id}); wait for it to complete",
    )
    assert wait(console, pending).status == "succeeded"
    assert console.observe(ALICE).sites["acme-align"].jira is None
    assert console.pending_sites() == {}


def test_a_pending_creation_reserves_the_name(stuck: SandboxConsole) -> None:
    console = stuck
    pending = console.create_site(ALICE, "acme-corp", "acme-align", "k1")
    rerun = console.create_site(ALICE, "acme-corp", "acme-align", "another-key")
    assert rerun.id == pending.id
    with pytest.raises(ProviderError) as refused:
        console.create_site(ALICE, "acme-labs", "acme-align", "k3")
    assert (refused.value.code, refused.value.message) == (
        "site-name",
        "site acme-align is being created in org acme-corp",
    )
    assert console.write_count() == 1


def test_a_pending_provision_counts_for_one_per_org_and_no_move(stuck: SandboxConsole) -> None:
    console = stuck
    pending = console.provision(ALICE, "SUB-NEW", "talent", "acme", "k1")
    assert console.provision(ALICE, "SUB-NEW", "talent", "acme", "k2").id == pending.id
    with pytest.raises(ProviderError) as moved:
        console.provision(ALICE, "SUB-NEW", "talent", "solo", "k3")
    assert (moved.value.code, moved.value.message) == (
        "no-move",
        "talent of SUB-NEW is being provisioned to acme; moving it to solo is a support case, "
        "not self-service",
    )
    console.advance(30)  # SUB-UPCOMING starts: a second talent for acme-corp
    with pytest.raises(ProviderError) as second:
        console.provision(ALICE, "SUB-UPCOMING", "talent", "acme", "k4")
    assert (second.value.code, second.value.message) == (
        "one-per-org",
        "org acme-corp already has talent: SUB-NEW is being provisioned to acme",
    )


def test_without_delay_a_write_answers_succeeded(
    console: SandboxConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", "0")
    with SandboxConsole(console.path) as instant:
        assert instant.provisioning_delay() == 0
        assert instant.provision(ALICE, "SUB-NEW", "focus", "acme", "k").status == "succeeded"
        assert instant.observe(ALICE).subscriptions["SUB-NEW"].apps["focus"] == "acme"


def test_the_seed_sets_the_delay_and_the_environment_overrides_it(
    console: SandboxConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert console.provisioning_delay() == DELAY
    monkeypatch.delenv("RECONCILER_SANDBOX_DELAY")
    with SandboxConsole(console.path) as seeded:
        assert seeded.provisioning_delay() == 0  # rules-console.yaml: provisioning_delay_seconds: 0


@pytest.mark.parametrize("value", ["soon", "nan", "inf", "-inf", "-1", "1e309", "86401"])
def test_a_bad_delay_in_the_environment_is_a_clear_error(
    console: SandboxConsole, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", value)
    with pytest.raises(ReconcilerError) as error:
        SandboxConsole(console.path)
    assert (
        str(error.value) == f"RECONCILER_SANDBOX_DELAY={value!r} is not a number of seconds from 0 to 86400"
    )


def test_a_provision_still_pending_when_the_subscription_is_deleted_fails(
    console: SandboxConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SandboxConsole(console.path) as slow:
        pending = slow.provision(ALICE, "SUB-NEW", "focus", "acme", "k1")
        slow.cancel(ALICE, "SUB-NEW", "k2")
        slow.advance(400)  # term end 2027-09-30: deactivated 2027-10-15, deleted 2027-12-14
        failed = wait(slow, pending)
        assert (failed.status, failed.error_code) == ("failed", "retention")
        assert failed.error_detail == "SUB-NEW was deleted before its focus was provisioned"
        assert slow.observe(ALICE).subscriptions["SUB-NEW"].apps["focus"] is None


@pytest.mark.parametrize("delay", ["0", str(NEVER)])
def test_a_write_answers_with_the_operation_as_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delay: str
) -> None:
    # The answer to a write that made an operation is built from what it wrote, not read back:
    # it must be what reading it gives, and what a replay of the same request answers.
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", delay)
    with console_from(RULES_SEED, tmp_path) as opened:
        answers = [
            opened.provision(ALICE, "SUB-NEW", "focus", "acme", "k1"),
            opened.create_site(ALICE, "acme-corp", "acme-align", "k2"),
        ]
        for answer in answers:
            assert opened.operation(answer.id, ALICE) == answer
        assert opened.provision(ALICE, "SUB-NEW", "focus", "acme", "k1") == answers[0]
        assert opened.create_site(ALICE, "acme-corp", "acme-align", "k2") == answers[1]
        assert [a.status for a in answers] == (["succeeded"] * 2 if delay == "0" else ["pending"] * 2)
