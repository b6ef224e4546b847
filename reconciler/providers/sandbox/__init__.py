"""The sandbox console: an embedded model of the billing console in a SQLite file.

It enforces every rule of docs/rules.md itself, runs its own clock, answers writes with
asynchronous operations and idempotency keys, and is safe to share between processes.
"""

from __future__ import annotations

from reconciler.providers.sandbox.console import SandboxConsole
from reconciler.providers.sandbox.provider import SandboxProvider, open_sandbox_provider
from reconciler.providers.sandbox.seed import Seed, SeedUser

__all__ = ["SandboxConsole", "SandboxProvider", "Seed", "SeedUser", "open_sandbox_provider"]
