"""The sandbox console: an embedded model of the billing console in a SQLite file.

It enforces every rule of docs/rules.md itself, runs its own clock, answers writes with
asynchronous operations and idempotency keys, and is safe to share between processes. It has
two faces: in process (`reconciler.providers.sandbox`, a client) and over HTTP (`api` and
`httpserver`, what `reconciler sandbox serve` runs), both over the one service in `console`.
"""

from __future__ import annotations

from reconciler.sandbox.console import SandboxConsole
from reconciler.sandbox.seed import Seed, SeedUser

__all__ = ["SandboxConsole", "Seed", "SeedUser"]
