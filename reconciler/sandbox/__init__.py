"""The sandbox console: an embedded model of the billing console in a SQLite file.

It enforces every rule of docs/rules.md itself, runs its own clock, answers writes with
asynchronous operations and idempotency keys, and is safe to share between processes. It has
two faces: in process (`reconciler.providers.sandbox`, a client) and over HTTP (`api` and
`httpserver`, what `reconciler sandbox serve` runs), both over the one service in `console`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.sandbox.console import SandboxConsole

if TYPE_CHECKING:
    from reconciler.sandbox.seed import Seed, SeedUser

__all__ = ["SandboxConsole", "Seed", "SeedUser"]


def __getattr__(name: str) -> Any:
    # A plan only reads a console: the seed's types (two dataclasses, a few ms to build at import)
    # are loaded when a console is created from one.
    if name in ("Seed", "SeedUser"):
        from reconciler.sandbox import seed

        return getattr(seed, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
