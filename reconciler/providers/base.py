"""The provider protocol. The planner never imports this package; a provider never builds a plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from msgspec import Struct

from reconciler.model import Change, Console, Operation


@dataclass(frozen=True)
class ProviderSettings:
    """What a provider is opened with. `token` is a secret: it is kept out of repr and output."""

    url: str
    actor: str | None = None
    token: str | None = field(default=None, repr=False)
    #: the declared billing facts (a file or directory), for a provider that cannot observe them
    facts: str | None = None

    def __str__(self) -> str:
        return self.url


class Capabilities(Struct, frozen=True):
    """What a provider can do beyond observing.

    `writes=False`: the console has no API for changes (the real Atlassian estate), so `execute`
    and `operation` refuse, and apply goes by runbook instead: each change becomes the console
    steps a person takes, and apply waits until it observes them done.
    `remote=True`: observing is a round trip over a network, worth starting early (apply makes it
    while it asks the console's identity, and keeps it if no other run can have come between). That
    observation runs on a thread of its own, possibly beside another, and may still be under way
    when the provider is closed: a remote provider must allow both.
    """

    writes: bool = True
    remote: bool = False


WRITES = Capabilities(writes=True)
READ_ONLY = Capabilities(writes=False)


@runtime_checkable
class StatesIdentity(Protocol):
    """A provider whose console says who it is: apply's lock is named by that identity."""

    def console_id(self) -> str | None:
        """The console's stable identity, or None when it states none."""
        ...


@runtime_checkable
class Provider(Protocol):
    """A billing console the reconciler can observe and write to.

    Writes are asynchronous on the console's side: `execute` returns an `Operation`, which may
    still be pending; `operation` reads its current status. Every write carries an idempotency
    key: the same key with the same request returns the same operation and has no second
    effect; the same key with a different request fails with code `idempotency-mismatch`.
    A request that breaks a console rule fails with `ProviderError(code=<rule id>)`.
    """

    @property
    def description(self) -> str:
        """A short, secret-free description for messages, e.g. `sandbox .reconciler/sandbox.db`."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """Whether `execute` can make changes (`WRITES`) or apply must go by runbook (`READ_ONLY`)."""
        ...

    def observe(self) -> Console:
        """The whole current state, in one consistent read."""
        ...

    def execute(self, change: Change, idempotency_key: str) -> Operation:
        """Ask the console to make one change."""
        ...

    def operation(self, operation_id: str) -> Operation:
        """The current status of an operation `execute` returned."""
        ...

    def close(self) -> None: ...
