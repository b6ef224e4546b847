"""The `sandbox` provider: the embedded console, in process, over a SQLite file.

`sandbox:PATH` names the database (relative to the current directory). When there is none
yet, the example console shipped in the package is created there, and the user is told so.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Action, Change, Console, Operation
from reconciler.providers.base import ProviderSettings
from reconciler.providers.sandbox.console import SandboxConsole
from reconciler.providers.sandbox.seed import Seed
from reconciler.terminal import info

SCHEME = "sandbox"
URL_HINT = "use sandbox:PATH, e.g. sandbox:.reconciler/sandbox.db"


def sandbox_path(url: str) -> Path:
    """The database file a `sandbox:PATH` URL names."""
    scheme, sep, rest = url.partition(":")
    if scheme.lower() != SCHEME or not sep:
        raise ReconcilerError(f"provider {url!r} is not a sandbox console", hint=URL_HINT)
    if not rest.strip():
        raise ReconcilerError(f"provider {url!r} names no database file", hint=URL_HINT)
    return Path(rest)


def open_console(url: str) -> SandboxConsole:
    """The console a `sandbox:PATH` URL names, created from the built-in example if missing."""
    path = sandbox_path(url)
    console, created = SandboxConsole.open_or_create(path, _example_seed)
    if created:
        info(
            f"Created the sandbox console {path} from the built-in example "
            "(use 'reconciler sandbox init --from FILE' for your own)."
        )
    return console


def _example_seed() -> Seed:
    # Imported only when a database is missing: reading YAML is not needed on every run.
    from reconciler.providers.sandbox.seedfile import example_seed

    return example_seed()


class SandboxProvider:
    """A `Provider` over a `SandboxConsole`, acting as one user."""

    def __init__(self, console: SandboxConsole, actor: str | None, url: str) -> None:
        self.console = console
        self.actor = actor
        self._description = url

    @property
    def description(self) -> str:
        return self._description

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
        return self.console.operation(operation_id)

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
