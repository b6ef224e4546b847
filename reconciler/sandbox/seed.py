"""What a sandbox console is created from: a seed (SPEC §4), already validated.

A `Seed` reuses the console's own value types, so a seed can come from a YAML file, from a test
or from a benchmark that builds ten thousand subscriptions in memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from reconciler.model import BillingAccount, Organization, Site, Subscription

#: Seconds between a provisioning or site-creation request and its completion, unless the seed says.
DEFAULT_PROVISIONING_DELAY = 1.0
#: The longest a seed (or RECONCILER_SANDBOX_DELAY) may make an operation take: a day.
MAX_PROVISIONING_DELAY = 86_400.0

#: The example console shipped in the package, relative to the package root.
EXAMPLE_SEED = "sandbox/example-console.yaml"


@dataclass(frozen=True, slots=True)
class SeedUser:
    email: str
    #: the user's bearer token for the HTTP API: a secret, kept out of repr
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Seed:
    now: dt.date
    users: tuple[SeedUser, ...]
    billing_accounts: tuple[BillingAccount, ...]
    organizations: tuple[Organization, ...]
    sites: tuple[Site, ...]
    subscriptions: tuple[Subscription, ...]
    retired_site_names: frozenset[str] = frozenset()
    provisioning_delay: float = DEFAULT_PROVISIONING_DELAY

    @property
    def default_actor(self) -> str | None:
        """The first user: who acts when nobody says otherwise."""
        return self.users[0].email if self.users else None
