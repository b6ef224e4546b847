"""The `sandbox` provider: a client of the embedded console (`reconciler.sandbox`), in process."""

from __future__ import annotations

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Action, Change, Console, Operation
from reconciler.providers.base import WRITES, Capabilities, ProviderSettings
from reconciler.sandbox.console import SandboxConsole
from reconciler.sandbox.location import SCHEME, open_console


class SandboxProvider:
    """A `Provider` over a `SandboxConsole`, acting as one user."""

    def __init__(self, console: SandboxConsole, actor: str | None, url: str) -> None:
        self.console = console
        self.actor = actor
        self._description = url

    @property
    def description(self) -> str:
        return self._description

    def console_id(self) -> str | None:
        return self.console.console_id()

    @property
    def capabilities(self) -> Capabilities:
        return WRITES

    def observe(self) -> Console:
        return self.console.observe(self.actor)

    def execute(self, change: Change, idempotency_key: str) -> Operation:
        console, actor, key = self.console, self.actor, idempotency_key
        if change.action == Action.CREATE_SITE:
            return console.create_site(
                actor, _field(change, change.org, "org"), _field(change, change.site, "site"), key
            )
        subscription = _field(change, change.subscription, "subscription")
        if change.action == Action.PROVISION:
            app, site = _field(change, change.app, "app"), _field(change, change.site, "site")
            return console.provision(actor, subscription, app, site, key)
        if change.action == Action.CANCEL:
            return console.cancel(actor, subscription, key)
        if change.action == Action.REACTIVATE:
            return console.reactivate(actor, subscription, key)
        raise ProviderError(f"the sandbox console cannot {change.action}", code="invalid-request")

    def operation(self, operation_id: str) -> Operation:
        return self.console.operation(operation_id, self.actor)

    def close(self) -> None:
        self.console.close()


def _field(change: Change, value: str | None, name: str) -> str:
    if value is None:
        raise ProviderError(f"change {change.id} has no {name}", code="invalid-request")
    return value


def resolve_actor(console: SandboxConsole, wanted: str | None) -> str | None:
    """The acting user: the one asked for, else the seed's first user. It must be a user."""
    actor = wanted or console.default_actor()
    users = console.users()
    if actor is not None and actor not in users:
        raise ReconcilerError(
            f"actor {actor} is not a user of this sandbox console; "
            f"its users are {', '.join(users) or 'none'}",
            hint="pass --actor EMAIL or set RECONCILER_ACTOR to one of them",
        )
    return actor


def open_sandbox_provider(settings: ProviderSettings) -> SandboxProvider:
    console = open_console(settings.url)
    try:
        actor = resolve_actor(console, settings.actor)
    except BaseException:
        console.close()
        raise
    return SandboxProvider(console, actor, f"{SCHEME}:{settings.url.partition(':')[2]}")
