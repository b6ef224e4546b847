"""Which provider a `--provider` value means.

Built-in providers are listed in a plain dict; third-party ones plug in through the
`reconciler.providers` entry-point group, named by URL scheme, each a callable
`factory(settings: ProviderSettings) -> Provider`.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.providers.base import Provider, ProviderSettings, StatesIdentity
from reconciler.secrets import shown_url
from reconciler.threads import start_daemon

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

Factory = Callable[[ProviderSettings], Provider]

#: scheme -> "module:function", imported only when used so start-up stays lean
BUILTIN: dict[str, str] = {
    "sandbox": "reconciler.providers.sandbox:open_sandbox_provider",
    "http": "reconciler.providers.http:open_http_provider",
    "https": "reconciler.providers.http:open_http_provider",
    "atlassian": "reconciler.providers.atlassian:open_atlassian_provider",
}

ENTRY_POINT_GROUP = "reconciler.providers"


def scheme_of(url: str) -> str:
    scheme, sep, _ = url.partition(":")
    if not sep or not scheme:
        raise ReconcilerError(
            f"provider {shown_url(url)!r} has no scheme",
            hint="use sandbox:PATH, http://HOST:PORT, https://HOST or atlassian:, "
            "e.g. sandbox:.reconciler/sandbox.db",
        )
    return scheme.lower()


def _load_factory(scheme: str) -> Factory:
    if scheme in BUILTIN:
        module_name, _, attr = BUILTIN[scheme].partition(":")
        factory: Factory = getattr(importlib.import_module(module_name), attr)
        return factory
    # importlib.metadata costs ~40 ms to import: only a scheme that is not built in pays for it.
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == scheme:
            return _load_plugin(ep)
    known = sorted(set(BUILTIN) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})
    raise ReconcilerError(
        f"unknown provider scheme {scheme!r}",
        hint=f"known schemes: {', '.join(known)}; third-party providers register in the "
        f"{ENTRY_POINT_GROUP!r} entry-point group",
    )


def _load_plugin(ep: EntryPoint) -> Factory:
    """A third-party provider's factory; one that fails to load is named, with its distribution, and
    the provider it opens is guarded (reconciler/providers/plugin.py): its faults are its errors."""
    try:
        loaded: Factory = ep.load()
    except Exception as error:
        from reconciler.providers.plugin import described, one_line

        dist = f" (from the {ep.dist.name} package)" if ep.dist is not None else ""
        raise ReconcilerError(
            f"the provider {ep.name!r}{dist} failed to load: {one_line(described(error))}",
            hint=f"its entry point is {ep.value}; reinstall or upgrade that package, or remove it",
        ) from None
    if not callable(loaded):
        raise ReconcilerError(
            f"the provider {ep.name!r} is not a provider factory: {ep.value} is a {type(loaded).__name__}",
            hint="a provider's entry point names a callable taking the provider settings",
        )
    package = ep.dist.name if ep.dist is not None else None

    def guarded(settings: ProviderSettings) -> Provider:
        from reconciler.providers.plugin import PluginOrigin, open_guarded

        return open_guarded(loaded, settings, PluginOrigin(ep.name, package, ep.value, settings.token))

    return guarded


def console_identity(url: str) -> str:
    """One name per console, however its URL is spelled: what apply's lock is taken on.

    `sandbox:db` and `sandbox:./db` are one file; `http://LOCALHOST:80/` and `http://127.0.0.1` one
    server. Give it a URL without credentials (it is shown in lock messages).
    """
    scheme = scheme_of(url)
    rest = url.partition(":")[2]
    if scheme == "sandbox":
        return f"sandbox:{os.path.realpath(rest)}" if rest else url
    if scheme in ("http", "https"):
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        host = "127.0.0.1" if host == "localhost" else host
        host = f"[{host}]" if ":" in host else host
        port = parts.port or (443 if scheme == "https" else 80)
        return f"{scheme}://{host}:{port}{parts.path.rstrip('/')}"
    if scheme == "atlassian":
        return f"atlassian:{console_identity(rest or 'https://api.atlassian.com')}"
    return url


#: what a console may call itself: a stated identity is shown in messages and names a lock
_STATED_IDENTITY = re.compile(r"[A-Za-z0-9._-]{1,64}")


def lock_name(settings: ProviderSettings, public_url: str) -> str:
    """The name of apply's lock on the console `settings` reach: the identity the console states
    (e.g. `sbx-0cd575d885e73ef0`) (`sandbox:PATH` and `sandbox serve` over PATH are then one lock), else
    the name `console_identity` derives from its URL."""
    return ask_lock_name(settings, public_url).wait()


class LockNameAnswer:
    """The console's answer to "who are you?", asked on a daemon thread; `wait` gives the lock name.

    Over HTTP the question is a round trip: apply reads its desired state in the meantime.
    """

    def __init__(self, public_url: str, provider: Provider | None = None) -> None:
        self._public_url = public_url
        self._stated: str | None = None
        self._error: BaseException | None = None
        self._answered = threading.Event()
        if isinstance(provider, StatesIdentity):
            start_daemon(self._ask, provider.console_id, provider.close)
            return
        if provider is not None:
            provider.close()
        self._answered.set()

    def _ask(self, console_id: Callable[[], str | None], close: Callable[[], None]) -> None:
        try:
            self._stated = console_id()
        except ProviderError:
            pass  # unreachable, or the token refused: planning says so next, under this lock
        except BaseException as error:
            self._error = error
        try:
            close()
        except BaseException as error:
            self._error = error
        finally:
            self._answered.set()

    def answered(self) -> bool:
        return self._answered.is_set()

    def wait(self) -> str:
        while not self._answered.wait(0.1):  # in steps: a signal is handled at once
            pass
        if self._error is not None:
            raise self._error
        stated = self._stated
        if stated is not None and _STATED_IDENTITY.fullmatch(stated):
            return stated  # never mistaken for a URL-derived name: those all have a scheme
        return console_identity(self._public_url)


def ask_lock_name(settings: ProviderSettings, public_url: str) -> LockNameAnswer:
    """`lock_name` without waiting for the console: the provider is opened here (a setting it
    refuses raises here, as from `lock_name`) and asked on a daemon thread."""
    try:
        provider = open_provider(settings)
    except ProviderError:
        return LockNameAnswer(public_url)  # unreachable: planning fails next, under this lock
    return LockNameAnswer(public_url, provider)


def open_provider(settings: ProviderSettings) -> Provider:
    return _load_factory(scheme_of(settings.url))(settings)
