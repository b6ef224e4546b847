"""A third-party provider behind a guard: what it fails at is its own error, never reconciler's crash.

A provider from the `reconciler.providers` entry-point group is another package's code. Whatever it
raises beyond what the protocol allows (a `ReconcilerError`, a `ProviderError` above all), and
whatever it returns that is not what the protocol promises (observe's `Console`, execute's
`Operation`), becomes one `ProviderError` naming the provider, its package and the call that
failed. apply journals that as a failed change like any refusal; every other command shows it as
one error and exits 1. Its text is the plugin's: known credentials are masked before it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, cast

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Change, Console, Operation
from reconciler.providers.base import Capabilities, Provider, ProviderSettings, StatesIdentity
from reconciler.secrets import redact, scrub

T = TypeVar("T")


@dataclass(frozen=True)
class PluginOrigin:
    """Which third-party provider this is: its URL scheme, its distribution, its entry point."""

    scheme: str
    package: str | None
    entry_point: str
    #: the provider's credential, masked in any message the plugin's errors carry
    token: str | None = field(default=None, repr=False)

    @property
    def named(self) -> str:
        package = f" (from the {self.package} package)" if self.package else ""
        return f"the provider {self.scheme!r}{package}"

    def failure(self, call: str, what: str) -> ProviderError:
        """The one error for a fault of the plugin's own in `call`."""
        owner = f"the {self.package} package" if self.package else "that provider"
        return ProviderError(
            f"{self.named} failed: {call} {redact(scrub(what, self.token))}",
            code="internal-error",
            hint=f"this is a fault in {owner} (entry point {self.entry_point}), not in your desired "
            "state: upgrade it or report it to its maintainers, or use another --provider",
        )

    def call(self, name: str, work: Callable[[], T]) -> T:
        try:
            return work()
        except ReconcilerError:
            raise  # the protocol's own errors: the provider already said what is wrong
        except Exception as error:
            raise self.failure(f"{name} raised", f"{type(error).__name__}: {error}") from None

    def checked(self, name: str, result: object, kind: type[T]) -> T:
        if not isinstance(result, kind):
            raise self.failure(f"{name} returned", f"a {type(result).__name__}, not a {kind.__name__}")
        return result


def open_guarded(
    factory: Callable[[ProviderSettings], object], settings: ProviderSettings, origin: PluginOrigin
) -> Provider:
    """Open the plugin's provider through `factory`, behind the guard."""
    opened = origin.call("opening it", lambda: factory(settings))
    # The protocol check reads the provider's properties: what they raise is the plugin's too.
    if not origin.call("opening it", lambda: isinstance(opened, Provider)):
        raise origin.failure("opening it returned", f"a {type(opened).__name__}, not a provider")
    provider = cast(Provider, opened)
    if isinstance(opened, StatesIdentity):
        return GuardedIdentityProvider(provider, origin)
    return GuardedProvider(provider, origin)


class GuardedProvider:
    """A `Provider` that passes every call to the plugin's and turns its faults into its errors."""

    def __init__(self, inner: Provider, origin: PluginOrigin) -> None:
        self._inner = inner
        self._origin = origin

    @property
    def description(self) -> str:
        described = self._origin.call("description", lambda: self._inner.description)
        return self._origin.checked("description", described, str)

    @property
    def capabilities(self) -> Capabilities:
        writes = self._origin.call("capabilities", lambda: self._inner.capabilities.writes)
        return Capabilities(writes=self._origin.checked("capabilities.writes", writes, bool))

    def observe(self) -> Console:
        return self._origin.checked("observe()", self._origin.call("observe()", self._inner.observe), Console)

    def execute(self, change: Change, idempotency_key: str) -> Operation:
        operation = self._origin.call("execute()", lambda: self._inner.execute(change, idempotency_key))
        return self._origin.checked("execute()", operation, Operation)

    def operation(self, operation_id: str) -> Operation:
        operation = self._origin.call("operation()", lambda: self._inner.operation(operation_id))
        return self._origin.checked("operation()", operation, Operation)

    def close(self) -> None:
        self._origin.call("close()", self._inner.close)


class GuardedIdentityProvider(GuardedProvider):
    """A guarded provider whose console states its identity, so apply's lock is named by it."""

    def __init__(self, inner: Provider, origin: PluginOrigin) -> None:
        super().__init__(inner, origin)
        self._identity = cast(StatesIdentity, inner)

    def console_id(self) -> str | None:
        stated = self._origin.call("console_id()", self._identity.console_id)
        return None if stated is None else self._origin.checked("console_id()", stated, str)
