"""Options every command shares, from flags or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from reconciler.providers.base import ProviderSettings

DEFAULT_PROVIDER = "sandbox:.reconciler/sandbox.db"
DEFAULT_STATE = "sqlite:.reconciler/state.db"
DEFAULT_PATHS = ("desired-state",)

ENV_PROVIDER = "RECONCILER_PROVIDER"
ENV_ACTOR = "RECONCILER_ACTOR"
ENV_TOKEN = "RECONCILER_TOKEN"
ENV_STATE = "RECONCILER_STATE"


@dataclass(frozen=True)
class GlobalOptions:
    provider: str = DEFAULT_PROVIDER
    actor: str | None = None
    state: str = DEFAULT_STATE
    #: the REST bearer token; only ever read from the environment, never printed
    token: str | None = field(default=None, repr=False)

    @classmethod
    def resolve(cls, provider: str | None, actor: str | None, state: str | None) -> GlobalOptions:
        """Flags win over the environment, which wins over the defaults."""
        return cls(
            provider=provider or os.environ.get(ENV_PROVIDER) or DEFAULT_PROVIDER,
            actor=actor or os.environ.get(ENV_ACTOR) or None,
            state=state or os.environ.get(ENV_STATE) or DEFAULT_STATE,
            token=os.environ.get(ENV_TOKEN) or None,
        )

    def provider_settings(self) -> ProviderSettings:
        return ProviderSettings(url=self.provider, actor=self.actor, token=self.token)
