"""The command line: options in, one exit code out. Each command's work lives in `commands/`.

Command modules are imported only when their command runs, so `reconciler validate` does not
pay for HTTP clients or the planner.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from reconciler import __version__
from reconciler.cliflags import (
    CONTEXT,
    FORMAT_TEXT_OR_JSON,
    PLAN_COMMAND_FORMATS,
    PLAN_FORMATS,
    BoundedFloat,
    BoundedInt,
    Checksum,
    facts_flag,
    global_flags,
    options_of,
    paths_or_default,
    remember_flags,
    sandbox_flags,
    sandbox_options_of,
    state_flags,
    unused_global_flags,
    with_facts,
)
from reconciler.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, ReconcilerError
from reconciler.helptext import exit_codes
from reconciler.interrupts import announce_interrupted, end_children, exit_on_signal, was_interrupted
from reconciler.secrets import redact, shown_url
from reconciler.terminal import visible_lines

#: A century: far past every lifecycle date, and far from the end of the calendar.
MAX_ADVANCE_DAYS = 36_500
#: A day: longer than any CI job may run.
MAX_LOCK_TIMEOUT = 86_400
MAX_HISTORY_LIMIT = 1_000_000
#: A minute per answer: a client's read timeout comes long before.
MAX_LATENCY_MS = 60_000
MAX_RATE_LIMIT = 1_000_000


@click.group(
    context_settings=CONTEXT,
    epilog="Every command exits 0 when it succeeds and 1 on an error, a usage error too; "
    "'reconciler COMMAND --help' lists the exit codes of each.",
)
@global_flags
@click.version_option(__version__, prog_name="reconciler")
@click.pass_context
def cli(ctx: click.Context, provider: str | None, actor: str | None, state: str | None) -> None:
    """Declare which subscription's apps go on which Atlassian site; plan; apply.

    Start with 'reconciler plan': it plans the example estate in desired-state/ against the
    embedded sandbox console, created on first use.
    """
    remember_flags(ctx, provider=provider, actor=actor, state=state)


@cli.command(context_settings=CONTEXT, epilog=exit_codes("validate"))
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts, github for GitHub Actions annotations.",
)
@unused_global_flags
def validate(paths: tuple[str, ...], fmt: str) -> int:
    """Check desired-state files against the schema and offline rules.

    Reads every *.yaml and *.yml file under PATHS (default: desired-state) and reports every
    problem at once, at its file:line:column. No provider is contacted.
    """
    from reconciler.commands import validate as command

    return command.run(paths_or_default(paths), fmt)


@cli.command(context_settings=CONTEXT, epilog=exit_codes("plan"))
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=PLAN_COMMAND_FORMATS,
    default="text",
    show_default=True,
    help="text (Terraform-like), markdown (a pull request comment), json (schemas/plan.schema.json), "
    "runbook (the admin.atlassian.com steps).",
)
@click.option("--out", type=click.Path(), help="Also write the plan as JSON to this file.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are.")
@facts_flag
@global_flags
def plan(
    paths: tuple[str, ...],
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    facts: str | None,
    provider: str | None,
    actor: str | None,
    state: str | None,
) -> int:
    """Show what apply would change; change nothing.

    Observes the console, compares it with the desired state in PATHS (default: desired-state)
    and checks every rule: a change that breaks one is shown blocked, with the rule and the
    file:line:column to fix.
    """
    from reconciler.commands import plan as command

    return command.run(
        with_facts(options_of(provider, actor, state), facts),
        paths_or_default(paths),
        fmt,
        out,
        detailed_exitcode,
    )


@cli.command(context_settings=CONTEXT, epilog=exit_codes("apply"))
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False), help="Execute exactly this saved plan.")
@click.option(
    "--checksum",
    metavar="SHA",
    type=Checksum(),
    help="Execute only if the plan's checksum is this one (sha256:...).",
)
@click.option("--allow-cancel", is_flag=True, help="Allow cancelling subscriptions.")
@click.option(
    "--allow-cancel-of",
    multiple=True,
    metavar="SUB-ID",
    help="Allow cancelling this subscription (repeatable; env RECONCILER_ALLOW_CANCEL_OF, comma-separated).",
)
@click.option(
    "--parallelism",
    type=BoundedInt("a whole number", 1, 64, "8"),
    default=4,
    show_default=True,
    help="How many independent changes run at once.",
)
@click.option(
    "--lock-timeout",
    type=BoundedFloat("a number of seconds", 0, MAX_LOCK_TIMEOUT, "300"),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another run's lock on the console before failing.",
)
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Do not ask for confirmation (without a terminal, apply needs it, --plan or --checksum).",
)
@facts_flag
@global_flags
def apply(
    paths: tuple[str, ...],
    plan_file: str | None,
    checksum: str | None,
    allow_cancel: bool,
    allow_cancel_of: tuple[str, ...],
    parallelism: int,
    lock_timeout: float,
    auto_approve: bool,
    facts: str | None,
    provider: str | None,
    actor: str | None,
    state: str | None,
) -> int:
    """Make the changes: ordered, in parallel, idempotent.

    Re-plans first and changes nothing if a change is blocked. With --plan or --checksum it does
    only what the reviewed plan holds, and refuses, showing it, any other difference. Holds a
    lock on the console for the whole run, journals every attempt (see 'reconciler history')
    and re-observes at the end to verify.
    """
    from reconciler.commands import apply as command

    return command.run(
        with_facts(options_of(provider, actor, state), facts),
        paths,
        plan_file=plan_file,
        checksum=checksum,
        allow_cancel=allow_cancel,
        allow_cancel_of=allow_cancel_of,
        parallelism=parallelism,
        lock_timeout=lock_timeout,
        auto_approve=auto_approve,
    )


@cli.command(context_settings=CONTEXT, epilog=exit_codes("show"))
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=PLAN_FORMATS,
    default="text",
    show_default=True,
    help="text (Terraform-like), markdown (a pull request comment) or json.",
)
@unused_global_flags
def show(plan_file: str, fmt: str) -> int:
    """Render a saved plan (written by 'reconciler plan --out PLAN'). No console is contacted."""
    from reconciler.commands import show as command

    return command.run(plan_file, fmt)


@cli.command("import", context_settings=CONTEXT, epilog=exit_codes("import"))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(),
    default="desired-state",
    show_default=True,
    help="The directory to write to; import refuses one that already holds YAML files.",
)
@global_flags
def import_(out_dir: str, provider: str | None, actor: str | None, state: str | None) -> int:
    """Write desired-state YAML for everything live, to adopt an existing estate.

    Writes sites.yaml and one file per billing account; 'reconciler plan DIR' then shows no
    changes. Apps showing "Site setup required" are listed as comments, ready for a site.
    """
    from reconciler.commands import import_estate as command

    return command.run(options_of(provider, actor, state), out_dir)


@cli.command(context_settings=CONTEXT, epilog=exit_codes("history"))
@click.option(
    "--limit",
    type=BoundedInt("a whole number", 1, MAX_HISTORY_LIMIT, "50"),
    default=20,
    show_default=True,
    help="How many runs to show.",
)
@click.option("--run", "run_id", help="Show every journal entry of one run.")
@FORMAT_TEXT_OR_JSON
@state_flags
def history(
    limit: int, run_id: str | None, fmt: str, provider: str | None, actor: str | None, state: str | None
) -> int:
    """What was applied, when, by whom, from which commit.

    With --run ID: every attempt of that run, one per request sent to the console.
    """
    from reconciler.commands import history as command

    return command.run(options_of(provider, actor, state), limit=limit, run_id=run_id, fmt=fmt)


@cli.command(context_settings=CONTEXT, epilog=exit_codes("locks"))
@FORMAT_TEXT_OR_JSON
@state_flags
def locks(fmt: str, provider: str | None, actor: str | None, state: str | None) -> int:
    """List the locks held on the state store.

    Each with its holder, its run, and its state: live, expired, or dead (its process gone).
    """
    from reconciler.commands import locks as command

    return command.list_locks(options_of(provider, actor, state), fmt)


@cli.command(context_settings=CONTEXT, epilog=exit_codes("unlock"))
@click.argument("lock_id", metavar="ID")
@click.option("--force", is_flag=True, help="Release it even though its holder's heartbeat is live.")
@state_flags
def unlock(lock_id: str, force: bool, provider: str | None, actor: str | None, state: str | None) -> int:
    """Release a lock by id (for a holder that died and will not come back).

    The next apply takes over a dead holder's lock anyway, once its heartbeat lapses past the
    TTL (RECONCILER_LOCK_TTL, 30 s by default). 'reconciler locks' lists the ids.
    """
    from reconciler.commands import locks as command

    return command.unlock(options_of(provider, actor, state), lock_id, force=force)


@cli.command(context_settings=CONTEXT, epilog=exit_codes("schema"))
@unused_global_flags
def schema() -> int:
    """Print the desired-state JSON Schema."""
    from reconciler.commands import schema as command

    return command.run()


@cli.group(context_settings=CONTEXT)
@sandbox_flags
@click.pass_context
def sandbox(ctx: click.Context, provider: str | None, actor: str | None, state: str | None) -> None:
    """The embedded billing console: a SQLite model that enforces the console's rules."""
    remember_flags(ctx, provider=provider, actor=actor, state=state)


@sandbox.command("init", context_settings=CONTEXT, epilog=exit_codes("sandbox init"))
@click.option("--from", "seed", type=click.Path(dir_okay=False), help="A console seed YAML file.")
@sandbox_flags
def sandbox_init(seed: str | None, provider: str | None, actor: str | None, state: str | None) -> int:
    """Create (or replace) the sandbox console, from a seed file or the built-in example."""
    from reconciler.commands import sandbox as command

    return command.init(sandbox_options_of(provider, actor, state), seed)


@sandbox.command("show", context_settings=CONTEXT, epilog=exit_codes("sandbox show"))
@FORMAT_TEXT_OR_JSON
@sandbox_flags
def sandbox_show(fmt: str, provider: str | None, actor: str | None, state: str | None) -> int:
    """Print the console the way its Subscriptions page shows it."""
    from reconciler.commands import sandbox as command

    return command.show(sandbox_options_of(provider, actor, state), fmt)


@sandbox.command("advance", context_settings=CONTEXT, epilog=exit_codes("sandbox advance"))
@click.option(
    "--days",
    type=BoundedInt("a whole number of days", 0, MAX_ADVANCE_DAYS, "30"),
    required=True,
    help="How many days to move the clock.",
)
@sandbox_flags
def sandbox_advance(days: int, provider: str | None, actor: str | None, state: str | None) -> int:
    """Move the sandbox clock forward: subscriptions start, deactivate and are deleted on their dates."""
    from reconciler.commands import sandbox as command

    return command.advance(sandbox_options_of(provider, actor, state), days)


@sandbox.command("serve", context_settings=CONTEXT, epilog=exit_codes("sandbox serve"))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on; any but loopback is reachable from the network.",
)
@click.option(
    "--port",
    type=BoundedInt("a port number", 0, 65535, "8080"),
    default=8080,
    show_default=True,
    help="The port to listen on; 0 picks a free one.",
)
@click.option(
    "--latency",
    type=BoundedFloat("a number of milliseconds", 0, MAX_LATENCY_MS, "50"),
    default=0.0,
    metavar="MS",
    help="Milliseconds added to every response.",
)
@click.option(
    "--fail-rate",
    type=BoundedFloat("a share", 0, 1, "0.25"),
    default=0.0,
    metavar="P",
    help="Share of requests that fail: 500s, resets, and responses dropped after the write.",
)
@click.option(
    "--rate-limit",
    type=BoundedFloat("a number of requests per second", 0, MAX_RATE_LIMIT, "10"),
    default=0.0,
    metavar="N",
    help="Requests per second before answering 429 (0: no limit).",
)
@click.option("--seed-faults", type=int, default=None, hidden=True, help="Seed of the fault generator.")
@click.option(
    "--api",
    type=click.Choice(["console", "atlassian"]),
    default="console",
    show_default=True,
    help="console: the console's REST API; atlassian: a read-only stand-in of the Atlassian Admin API.",
)
@sandbox_flags
def sandbox_serve(
    host: str,
    port: int,
    latency: float,
    fail_rate: float,
    rate_limit: float,
    seed_faults: int | None,
    api: str,
    provider: str | None,
    actor: str | None,
    state: str | None,
) -> int:
    """Serve the sandbox console over HTTP, until Ctrl-C or SIGTERM.

    Point plan and apply at it with --provider http://127.0.0.1:PORT and RECONCILER_TOKEN set
    to a token of the seed; with --api atlassian, --provider atlassian:http://127.0.0.1:PORT.

    \b
    The contracts, in schemas/:
      console-api.openapi.yaml          --api console
      atlassian-admin-api.openapi.yaml  --api atlassian
    """
    from reconciler.commands import serve as command

    return command.run(
        sandbox_options_of(provider, actor, state),
        host=host,
        port=port,
        latency_ms=latency,
        fail_rate=fail_rate,
        rate_limit=rate_limit,
        fault_seed=seed_faults,
        api=api,
    )


# --- the one error handler --------------------------------------------------------------------------


def _print_error(error: ReconcilerError) -> None:
    # Messages quote file names and values from untrusted input: their line breaks are the
    # message's own (a list of diagnostics), anything else a terminal would act on is escaped,
    # and a value past 200 characters is shown by its start and its length.
    click.echo(f"error: {visible_lines(error.message)}", err=True)
    if error.hint:
        click.echo(f"hint: {visible_lines(error.hint)}", err=True)


def _crash_log_dir() -> Path:
    preferred = Path(".reconciler") / "logs"
    try:
        preferred.mkdir(mode=0o700, parents=True, exist_ok=True)
        return preferred
    except OSError:
        import tempfile

        return Path(tempfile.gettempdir())


def _write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only (0600, whatever the umask), never over another file."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", errors="backslashreplace") as handle:
        handle.write(text)


def report_crash(exc: BaseException) -> int:
    """An unexpected failure: one apologetic line on the terminal, the details in a log file."""
    import traceback  # ~7 ms of start-up that only a crash needs

    # A traceback quotes messages and arguments: URLs with passwords, tokens in query strings.
    details = redact("".join(traceback.format_exception(exc)))
    try:
        log = _crash_log_dir() / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        argv = " ".join(_shown_argument(argument) for argument in sys.argv)
        _write_private(log, f"reconciler {__version__}\nargv: {redact(argv)}\n\n{details}")
        where = f"details are in {log}"
    except OSError:
        where = "and the details could not be written to a log file"
    click.echo(
        f"error: reconciler hit an internal error ({type(exc).__name__}); this is a bug, sorry. {where}",
        err=True,
    )
    return EXIT_ERROR


def _shown_argument(argument: str) -> str:
    """One argument fit for a crash log: one that may hold a URL (`--state=postgresql://...`,
    whose password may hold a space, `/` or `@`) is shown as a URL in a message is."""
    flag, equals, value = argument.partition("=") if argument.startswith("-") else ("", "", argument)
    if any(mark in value for mark in "@?#") or "://" in value:
        return f"{flag}{equals}{shown_url(value)}"
    return argument


def _invoke(args: list[str]) -> Any:
    """What `cli.main(standalone_mode=False)` does, less its blank line on stderr at a Ctrl-C: an
    interrupted command prints exactly one line."""
    with cli.make_context("reconciler", args) as ctx:
        return cli.invoke(ctx)


#: a write refused for want of room: a full disk, a quota, a file at its size limit
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def run_cli(argv: list[str] | None = None) -> int:
    try:
        result = _invoke(sys.argv[1:] if argv is None else list(argv))
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt) or was_interrupted():
            announce_interrupted()
            return EXIT_INTERRUPTED
        click.echo("aborted: no answer to the prompt", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except ReconcilerError as exc:
        if exc.exit_code == EXIT_INTERRUPTED:
            announce_interrupted(f"error: {exc.message}")
        else:
            _print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        announce_interrupted()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # A stream that `guard_streams` left as it was (a caller's own), or another pipe: the
        # command did not finish, so its exit says so; there may be no stderr left to say why.
        with contextlib.suppress(OSError):
            sys.stderr.close()
        return EXIT_ERROR
    except Exception as exc:
        if was_interrupted():
            # The signal's KeyboardInterrupt, wrapped on its way (Python 3.11 wraps what a class
            # body's __set_name__ raises, as a lazy import may run when the signal comes).
            announce_interrupted()
            return EXIT_INTERRUPTED
        if isinstance(exc, OSError) and _output_lost(exc):
            click.echo(f"error: cannot write the output: {exc.strerror or exc}", err=True)
            click.echo(
                "hint: the disk that standard output (or .reconciler) is on is full: free space there, "
                "or send the output elsewhere",
                err=True,
            )
            return EXIT_ERROR
        return report_crash(exc)
    return result if isinstance(result, int) else EXIT_OK


def _output_lost(error: OSError) -> bool:
    """Whether `error` is a write the disk refused (`> /dev/full`, a full disk or quota): where the
    output goes is the user's, not a bug. What is still buffered then goes nowhere: it would fail
    again at the exit, with Python's own message."""
    if error.filename is not None or error.errno not in _FULL:
        return False  # opening a file, or another failure: not the disk
    try:
        sys.stdout.flush()
    except OSError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
    return True


def main(argv: list[str] | None = None) -> None:
    from reconciler.lifetime import exit_now
    from reconciler.readergone import guard_streams

    guard_streams()
    code = run_cli(argv)
    end_children()  # none is left but after a signal that came where no handler could end it
    # The command is done: a signal now has nothing left to stop, and must not raise in the exit.
    exit_on_signal()
    exit_now(code)
