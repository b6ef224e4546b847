"""The options every command shares: the global flags and where a command reads them from, the
--facts of the commands that observe, and the --format choices."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from reconciler.bounds import Bounds
from reconciler.options import DEFAULT_PATHS, DEFAULT_PROVIDER, GlobalOptions

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
PLAN_FORMATS = click.Choice(["text", "markdown", "json"])
#: `plan` also writes the runbook a person follows when the provider cannot write
PLAN_COMMAND_FORMATS = click.Choice(["text", "markdown", "json", "runbook"])
FORMAT_TEXT_OR_JSON = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts.",
)


class _Bounded:
    """A number flag within `bounds`: NaN, infinities and numbers past the range are a usage
    error naming the flag, the range and an example (click's ranges let NaN through)."""

    bounds: Bounds

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # a default, or a value given in Python
        number = self.bounds.read(str(value).strip())
        if number is None:
            flag = param.opts[0] if param is not None and param.opts else "it"
            self.fail(  # type: ignore[attr-defined]
                f"{str(value)!r} is not {self.bounds.describe()}, e.g. {flag} {self.bounds.example}.",
                param,
                ctx,
            )
        return number


class BoundedInt(_Bounded, click.IntRange):
    def __init__(self, what: str, low: int, high: int, example: str) -> None:
        super().__init__(low, high)
        self.bounds = Bounds(what, low, high, example, integer=True)


class BoundedFloat(_Bounded, click.FloatRange):
    def __init__(self, what: str, low: float, high: float, example: str) -> None:
        super().__init__(low, high)
        self.bounds = Bounds(what, low, high, example)


class Checksum(click.types.StringParamType):
    """A plan's checksum as `plan` prints it (`sha256:` and 64 hex digits; the prefix may be left
    out, the digits in either case), given back as `plan` prints it. Anything else is a usage
    error at once: it could never match, and with nothing to apply it would pass unnoticed."""

    name = "checksum"
    _DIGITS = frozenset("0123456789abcdef")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        digits = text[len("sha256:") :] if text[:7].lower() == "sha256:" else text
        digits = digits.lower()
        if len(digits) == 64 and self._DIGITS.issuperset(digits):
            return f"sha256:{digits}"
        shown = text if len(text) <= 80 else f"{text[:80]}..."
        self.fail(
            f"{shown!r} is not a plan checksum: 'sha256:' and 64 hex digits, as 'reconciler plan' "
            'prints it on its last line (or in --format json as "checksum").',
            param,
            ctx,
        )


PROVIDER_HELP = (
    "The console: sandbox:PATH, http://HOST:PORT or https://HOST (its REST API), "
    "atlassian: or atlassian:URL (a real estate). Env: RECONCILER_PROVIDER. "
    "Default: sandbox:.reconciler/sandbox.db"
)
SANDBOX_PROVIDER_HELP = (
    "The sandbox database: sandbox:PATH. Env: RECONCILER_PROVIDER, when it names one. "
    "Default: sandbox:.reconciler/sandbox.db"
)
EVERY_GLOBAL_FLAG = ("provider", "actor", "state")


def global_flags(
    func: F, *, shown: tuple[str, ...] = EVERY_GLOBAL_FLAG, provider_help: str = PROVIDER_HELP
) -> F:
    """`--provider`, `--actor` and `--state`, accepted before or after the command name; those a
    command does not use are accepted too (one set of flags works with every command), unlisted."""
    func = click.option(
        "--state",
        default=None,
        metavar="URL",
        hidden="state" not in shown,
        help="Journal and locks. Env: RECONCILER_STATE. Default: sqlite:.reconciler/state.db",
    )(func)
    func = click.option(
        "--actor",
        default=None,
        metavar="EMAIL",
        hidden="actor" not in shown,
        help="Who acts, for the sandbox provider. Env: RECONCILER_ACTOR.",
    )(func)
    func = click.option(
        "--provider",
        default=None,
        metavar="URL",
        hidden="provider" not in shown,
        help=provider_help,
    )(func)
    return func


def state_flags(func: F) -> F:
    """The global flags of a command that reads the state store only."""
    return global_flags(func, shown=("state",))


def sandbox_flags(func: F) -> F:
    """The global flags of a `sandbox` command: it works on a database, named by --provider."""
    return global_flags(func, shown=("provider",), provider_help=SANDBOX_PROVIDER_HELP)


def unused_global_flags(func: F) -> F:
    """The global flags, accepted (so one set of flags works with every command) but not used
    by a command that reads no console and no state: hidden from its --help."""

    @functools.wraps(func)
    def without_them(
        *args: Any, provider: str | None, actor: str | None, state: str | None, **kwargs: Any
    ) -> Any:
        return func(*args, **kwargs)

    return global_flags(cast(F, without_them), shown=())


def options_of(provider: str | None, actor: str | None, state: str | None) -> GlobalOptions:
    return _resolved(provider, actor, state).checked()


def _resolved(provider: str | None, actor: str | None, state: str | None) -> GlobalOptions:
    # ctx.obj is inherited: the nearest group's merge of its flags over its parents'.
    given: dict[str, str | None] = click.get_current_context().obj or {}
    return GlobalOptions.resolve(
        provider or given.get("provider"), actor or given.get("actor"), state or given.get("state")
    )


def sandbox_options_of(provider: str | None, actor: str | None, state: str | None) -> GlobalOptions:
    """For the `sandbox` commands, which work on a database file. RECONCILER_PROVIDER naming a
    console over HTTP (as it does for the plan and apply that talk to `sandbox serve`) leaves them
    on the default database; a --provider flag is taken as given, and refused if not sandbox:."""
    options = _resolved(provider, actor, state)
    flagged = provider or (click.get_current_context().obj or {}).get("provider")
    if flagged is None and options.provider.partition(":")[0].lower() != "sandbox":
        options = dataclasses.replace(options, provider=DEFAULT_PROVIDER)
    return options.checked()


def remember_flags(ctx: click.Context, **flags: str | None) -> None:
    """Keep a group's global flags for its commands; flags given further in win."""
    inherited: dict[str, str | None] = dict(ctx.obj or {})
    ctx.obj = {**inherited, **{name: value for name, value in flags.items() if value is not None}}


def paths_or_default(paths: tuple[str, ...]) -> tuple[str, ...]:
    return paths or DEFAULT_PATHS


def facts_flag(func: F) -> F:
    return click.option(
        "--facts",
        default=None,
        metavar="PATH",
        help="Declared billing facts, for the atlassian provider. Env: RECONCILER_FACTS. "
        "Default: billing/ beside desired-state/.",
    )(func)


def with_facts(options: GlobalOptions, facts: str | None) -> GlobalOptions:
    return dataclasses.replace(options, facts=facts) if facts else options
