"""A third-party provider behind a guard: what it fails at is its own error, never reconciler's crash.

A provider from the `reconciler.providers` entry-point group is another package's code. Whatever it
raises beyond what the protocol allows (a `ReconcilerError`, a `ProviderError` above all), and
whatever it returns that is not what the protocol promises (observe's `Console`, execute's
`Operation`), becomes one `ProviderError` naming the provider, its package and the call that
failed. apply journals that as a failed change like any refusal; every other command shows it as
one error and exits 1. Its text is the plugin's: known credentials are masked before it is shown,
and it is shown on one line, its first, clipped like any value (reconciler/terminal.py).

What `close()` raises is a warning, never an error: by then what the command needed is done (the
console observed whole, every change executed and verified), so nothing is lost but the plugin's
own tidying up, and an error raised earlier (observe's) is the one reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, cast

from reconciler.errors import Interrupted, ProviderError, ReconcilerError
from reconciler.model import Change, Console, Operation
from reconciler.providers.base import Capabilities, Provider, ProviderSettings, StatesIdentity
from reconciler.secrets import redact, scrub
from reconciler.terminal import MAX_SHOWN_TEXT, info, visible

T = TypeVar("T")

_LINE_BREAK = "\n"
#: the most of a plugin's own text in a message: the rest of it (naming the provider, its package and
#: the call) stays within MAX_SHOWN_TEXT, so the message is not cut again where it is shown
_MAX_PLUGIN_TEXT = MAX_SHOWN_TEXT // 2
#: the close() warnings already shown by this process
_WARNED: set[str] = set()


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

    @property
    def owner(self) -> str:
        return f"the {self.package} package" if self.package else "that provider"

    def failure(self, call: str, what: str) -> ProviderError:
        """The one error for a fault of the plugin's own in `call`."""
        return ProviderError(
            f"{self.named} failed: {call} {self.shown(what)}",
            code="internal-error",
            hint=f"this is a fault in {self.owner} (entry point {self.entry_point}), not in your desired "
            "state: upgrade it or report it to its maintainers, or use another --provider",
        )

    def shown(self, what: str) -> str:
        return one_line(what, self.token)

    def warn_closing(self, error: Exception) -> None:
        warning = (
            f"warning: {self.named} failed: close() raised {self.shown(described(error))}; what it "
            f"observed or did stands, but report it to the maintainers of {self.owner} "
            f"(entry point {self.entry_point})"
        )
        # apply opens the provider twice (its lock's name, then the run): one fault, said once
        if warning not in _WARNED:
            _WARNED.add(warning)
            info(warning)

    def call(self, name: str, work: Callable[[], T]) -> T:
        try:
            return work()
        except ReconcilerError as error:
            # the protocol's own errors: the provider already said what is wrong, if at length
            try:
                error.message = self.shown(str(error.message))
                error.hint = None if error.hint is None else self.shown(str(error.hint))
            except Exception:  # a message that cannot be read is no longer the protocol's error
                raise self.failure(f"{name} raised", described(error)) from None
            error.args = (error.message,)
            raise
        except Exception as error:
            raise self.failure(f"{name} raised", described(error)) from None

    def checked(self, name: str, result: object, kind: type[T]) -> T:
        if not isinstance(result, kind):
            raise self.failure(f"{name} returned", f"a {type(result).__name__}, not a {kind.__name__}")
        return result


def one_line(what: str, token: str | None = None) -> str:
    """A plugin's text as one line: its first, credentials masked, clipped and printable, and how
    many lines more there were (what a traceback or a dump would add is not shown)."""
    first, _, rest = scrub(what, token).strip(_LINE_BREAK).partition(_LINE_BREAK)
    shown = visible(redact(first), limit=_MAX_PLUGIN_TEXT)
    if not rest:
        return shown
    more = rest.count(_LINE_BREAK) + 1
    return f"{shown} … ({more:,} more {'line' if more == 1 else 'lines'})"


def described(error: BaseException) -> str:
    """`Type: message` for what a plugin raised, even when its message cannot be read."""
    try:
        message = str(error)
    except Exception as unreadable:
        message = f"(its message cannot be read: str() raised {type(unreadable).__name__})"
    return f"{type(error).__name__}: {message}"


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
        try:
            self._inner.close()
        except Interrupted:
            raise
        except Exception as error:  # its own errors too: the command's outcome is settled by now
            self._origin.warn_closing(error)


class GuardedIdentityProvider(GuardedProvider):
    """A guarded provider whose console states its identity, so apply's lock is named by it."""

    def __init__(self, inner: Provider, origin: PluginOrigin) -> None:
        super().__init__(inner, origin)
        self._identity = cast(StatesIdentity, inner)

    def console_id(self) -> str | None:
        stated = self._origin.call("console_id()", self._identity.console_id)
        return None if stated is None else self._origin.checked("console_id()", stated, str)
