"""Options every command shares, from flags or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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

    def provider_settings(self) -> ProviderSettings:
        from reconciler.providers.base import ProviderSettings

        return ProviderSettings(url=self.provider, actor=self.actor, token=self.token, facts=self.facts)


def is_atlassian(provider: str) -> bool:
    return provider.partition(":")[0].lower() == "atlassian"
