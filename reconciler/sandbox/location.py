"""Where a sandbox console lives: `sandbox:PATH` names its database file.

The path is relative to the current directory. When there is no database yet, the example
console shipped in the package is created there, and the user is told so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError
from reconciler.sandbox.console import SandboxConsole
from reconciler.terminal import info
from reconciler.userpaths import check_path, path_in_url, shown

if TYPE_CHECKING:
    from reconciler.sandbox.seed import Seed

SCHEME = "sandbox"
URL_HINT = "use sandbox:PATH, e.g. sandbox:.reconciler/sandbox.db"


def sandbox_path(url: str) -> Path:
    """The database file a `sandbox:PATH` URL names."""
    scheme, sep, _ = url.partition(":")
    if scheme.lower() != SCHEME or not sep:
        raise ReconcilerError(f"provider {url!r} is not a sandbox console", hint=URL_HINT)
    path = path_in_url(url, "the sandbox console", ".reconciler/sandbox.db")
    if not path.strip():
        raise ReconcilerError(f"provider {url!r} names no database file", hint=URL_HINT)
    check_path(path, "the sandbox console")
    return Path(path)


def open_console(url: str) -> SandboxConsole:
    """The console a `sandbox:PATH` URL names, created from the built-in example if missing."""
    path = sandbox_path(url)
    console, created = SandboxConsole.open_or_create(path, _example_seed)
    if created:
        info(
            f"Created the sandbox console {shown(path)} from the built-in example "
            "(use 'reconciler sandbox init --from FILE' for your own)."
        )
    return console


def _example_seed() -> Seed:
    # Imported only when a database is missing: reading YAML is not needed on every run.
    from reconciler.sandbox.seedfile import example_seed

    return example_seed()
