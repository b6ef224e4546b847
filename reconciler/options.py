"""Options every command shares, from flags or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reconciler.errors import ReconcilerError
from reconciler.secrets import shown_url

if TYPE_CHECKING:
    # Imported when a provider is opened, not by every command: validate never opens one.
    from reconciler.providers.base import ProviderSettings

DEFAULT_PROVIDER = "sandbox:.reconciler/sandbox.db"
DEFAULT_STATE = "sqlite:.reconciler/state.db"
DEFAULT_PATHS = ("desired-state",)

ENV_PROVIDER = "RECONCILER_PROVIDER"
ENV_ACTOR = "RECONCILER_ACTOR"
ENV_TOKEN = "RECONCILER_TOKEN"
ENV_STATE = "RECONCILER_STATE"
ENV_ATLASSIAN_API_KEY = "RECONCILER_ATLASSIAN_API_KEY"
ENV_FACTS = "RECONCILER_FACTS"


@dataclass(frozen=True)
class GlobalOptions:
    provider: str = DEFAULT_PROVIDER
    actor: str | None = None
    state: str = DEFAULT_STATE
    #: the provider's credential: the REST bearer token, or the Atlassian API key for the atlassian
    #: provider; only ever read from the environment, never printed
    token: str | None = field(default=None, repr=False)
    #: the declared billing facts (--facts / RECONCILER_FACTS); None: billing/ beside desired state
    facts: str | None = None

    @classmethod
    def resolve(cls, provider: str | None, actor: str | None, state: str | None) -> GlobalOptions:
        """Flags win over the environment, which wins over the defaults."""
        chosen = provider or os.environ.get(ENV_PROVIDER) or DEFAULT_PROVIDER
        credential = ENV_ATLASSIAN_API_KEY if is_atlassian(chosen) else ENV_TOKEN
        return cls(
            provider=chosen,
            actor=actor or os.environ.get(ENV_ACTOR) or None,
            state=state or os.environ.get(ENV_STATE) or DEFAULT_STATE,
            token=os.environ.get(credential) or None,
            facts=os.environ.get(ENV_FACTS) or None,
        )

    def checked(self) -> GlobalOptions:
        """These options, once the URLs they hold are known to parse: a malformed one is refused
        here, before any command reads it, and shown without what could be a password."""
        api = self.provider.partition(":")[2] if is_atlassian(self.provider) else self.provider
        if api.partition(":")[0].lower() in ("http", "https") and (problem := url_problem(api)):
            raise ReconcilerError(
                f"the provider URL {shown_url(self.provider)} is not valid: {problem}",
                hint="fix --provider or RECONCILER_PROVIDER, e.g. https://console.example.com",
            )
        postgres = self.state.lower().startswith(("postgresql://", "postgres://"))
        if postgres and (problem := url_problem(self.state)):
            raise ReconcilerError(
                f"the state URL {shown_url(self.state)} is not valid: {problem}",
                hint="fix --state or RECONCILER_STATE, e.g. postgresql://USER@HOST:5432/DB",
            )
        # Refused by every command, plan too: a pipeline learns of it before its apply.
        from reconciler.store.failures import check_state_url

        check_state_url(self.state)
        return self

    def provider_settings(self) -> ProviderSettings:
        from reconciler.providers.base import ProviderSettings

        return ProviderSettings(url=self.provider, actor=self.actor, token=self.token, facts=self.facts)


def is_atlassian(provider: str) -> bool:
    return provider.partition(":")[0].lower() == "atlassian"


def url_problem(url: str) -> str | None:
    """What keeps `url` from being read as a URL, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        if "[" in url or "]" in url:
            return "an IPv6 host needs both its brackets, e.g. [::1]"
        return "it cannot be read as a URL"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "its port is not a number from 1 to 65535"
    if "@" in url.partition("://")[2] and "@" not in parts.netloc:
        # `user:pa/ss@host` reads as host `user`, port `pa`, and a password left in the path
        return "a user or password holding '/', '?' or '#' must spell it %2F, %3F or %23"
    return host_problem(parts.hostname or "")


def host_problem(host: str) -> str | None:
    """What keeps `host` (as urlsplit gives it: lowercase, no brackets) from being looked up, or None.
    The HTTP client would fail on it with an error of its own (an empty label cannot be IDNA-encoded,
    a space makes http.client refuse the URL)."""
    if any(character.isspace() or not character.isprintable() for character in host):
        return "its host holds a space or a control character"
    if ":" in host:  # an IPv6 address: its own syntax, checked by urlsplit
        return None
    try:
        host.encode("idna")
    except UnicodeError:
        return "its host is not a valid name (an empty label, such as a..b, or one over 63 characters)"
    return None
