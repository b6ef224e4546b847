"""`reconciler sandbox init | show | advance`: create, look at and age the embedded console."""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.errors import EXIT_OK, ReconcilerError
from reconciler.options import GlobalOptions
from reconciler.providers.registry import scheme_of
from reconciler.sandbox.console import SandboxConsole
from reconciler.sandbox.database import database_exists
from reconciler.sandbox.location import SCHEME, open_console, sandbox_path
from reconciler.sandbox.page import ConsolePage, render_json, render_text
from reconciler.secrets import without_credentials
from reconciler.terminal import plural, printable


def _database(options: GlobalOptions) -> Path:
    if scheme_of(options.provider) != SCHEME:
        raise ReconcilerError(
            f"'reconciler sandbox' works on a sandbox database, and the provider is "
            f"{without_credentials(options.provider)}",
            hint="pass --provider sandbox:PATH (or set RECONCILER_PROVIDER), "
            "e.g. sandbox:.reconciler/sandbox.db",
        )
    return sandbox_path(options.provider)


def init(options: GlobalOptions, seed_path: str | None) -> int:
    """Create (or replace) the sandbox database from a seed file or the built-in example."""
    from reconciler.sandbox.seedfile import example_seed, load_seed

    path = _database(options)
    seed = example_seed() if seed_path is None else load_seed(Path(seed_path), seed_path)
    source = "the built-in example" if seed_path is None else seed_path
    verb = "Replaced" if database_exists(path) else "Created"
    with SandboxConsole.create(path, seed) as console:
        state = console.observe(None)
    counts = (
        f"{plural(len(state.subscriptions), 'subscription')}, {plural(len(state.sites), 'site')}, "
        f"{plural(len(state.organizations), 'organization')}, {plural(len(state.users), 'user')}"
    )
    print(f"{verb} the sandbox console {printable(str(path))} from {printable(source)}: {counts}.")
    # The first user of the seed: an email the seed's schema lets carry ESC and other controls.
    print(f"Clock: {state.now.isoformat()}. Default actor: {printable(seed.default_actor or 'none')}.")
    return EXIT_OK


def show(options: GlobalOptions, fmt: str) -> int:
    """Print the console the way its Subscriptions page shows it (or the whole state as JSON)."""
    _database(options)
    with open_console(options.provider) as console:
        page = ConsolePage(
            source=f"{SCHEME}:{options.provider.partition(':')[2]}",
            console=console.observe(None),
            users=tuple(console.users()),
            default_actor=console.default_actor(),
            delay=console.provisioning_delay(),
            pending_sites=console.pending_sites(),
        )
    sys.stdout.write(render_json(page) if fmt == "json" else render_text(page))
    return EXIT_OK


def advance(options: GlobalOptions, days: int) -> int:
    """Move the sandbox clock and print every transition it caused, one line each."""
    _database(options)
    with open_console(options.provider) as console:
        before = console.today()
        events = console.advance(days)
        after = console.today()
    print(f"Sandbox clock: {before.isoformat()} -> {after.isoformat()} (+{plural(days, 'day')})")
    for line in events:
        print(f"  {printable(line)}")  # it names a subscription id from the seed
    if not events:
        print("  No subscription changed.")
    return EXIT_OK
