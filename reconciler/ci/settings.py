"""The action's inputs, as the composite steps hand them over: environment variables.

Inputs travel through the environment rather than through `${{ }}` in a shell line, so nothing a
workflow or a pull request supplies is ever spliced into a command.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.terminal import printable
from reconciler.userpaths import check_creatable, check_path, shown

PREFIX = "RECONCILER_CI_"
DEFAULT_ARTIFACT = "reconciler-plan"
DEFAULT_CANCEL_LABEL_PREFIX = "allow-cancel:"
DEFAULT_DRIFT_LABEL = "reconciler-drift"
#: the subscription ids a label or an input may allow cancelling (the desired-state id pattern's letters)
_SUBSCRIPTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _env(name: str, default: str = "") -> str:
    return os.environ.get(PREFIX + name, "").strip() or default


def _flag(name: str, default: bool) -> bool:
    value = _env(name, "true" if default else "false").lower()
    if value not in ("true", "false"):
        raise ReconcilerError(
            f"{PREFIX}{name} is {value!r}, not true or false",
            hint="set the action's input to 'true' or 'false'",
        )
    return value == "true"


def subscription_ids(text: str, where: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in text.replace("\n", ",").split(",") if part.strip())
    for sid in ids:
        if not _SUBSCRIPTION_ID.match(sid):
            raise ReconcilerError(
                f"{where}: {sid!r} is not a subscription id",
                hint="list subscription ids such as SUB-1001, separated by commas",
            )
    return ids


@dataclass(frozen=True)
class Settings:
    paths: tuple[str, ...]
    provider: str | None
    state: str | None
    out_dir: Path
    artifact: str
    comment: bool
    comment_author: str
    parallelism: str
    lock_timeout: str
    allow_cancel_of: tuple[str, ...]
    cancel_label_prefix: str
    drift_issue: bool
    drift_label: str

    @classmethod
    def from_env(cls) -> Settings:
        runner_temp = os.environ.get("RUNNER_TEMP")
        default_out = Path(runner_temp) / "reconciler-plan" if runner_temp else Path(".reconciler/ci")
        return cls(
            paths=_paths(_env("PATHS", "desired-state")),
            provider=_env("PROVIDER") or None,
            state=_env("STATE") or None,
            out_dir=_out_dir(_env("OUT") or default_out.as_posix()),
            artifact=_env("ARTIFACT", DEFAULT_ARTIFACT),
            comment=_flag("COMMENT", True),
            comment_author=_env("COMMENT_AUTHOR", "github-actions[bot]"),
            parallelism=_env("PARALLELISM", "4"),
            lock_timeout=_env("LOCK_TIMEOUT", "300"),
            allow_cancel_of=subscription_ids(_env("ALLOW_CANCEL_OF"), "the allow-cancel-of input"),
            cancel_label_prefix=_cancel_label_prefix(),
            drift_issue=_flag("DRIFT_ISSUE", False),
            drift_label=_env("DRIFT_LABEL", DEFAULT_DRIFT_LABEL),
        )

    def global_env(self) -> dict[str, str]:
        """The provider and state inputs, as reconciler reads them: through the environment, so a
        state URL that carries a password never shows in the runner's process list."""
        given = {"RECONCILER_PROVIDER": self.provider, "RECONCILER_STATE": self.state}
        return {name: value for name, value in given.items() if value}


def _cancel_label_prefix() -> str:
    """The label prefix that allows a cancel; unset: the default. Set empty (the action's input
    cleared): no label allows a cancel, only the allow-cancel-of input does."""
    if PREFIX + "CANCEL_LABEL_PREFIX" not in os.environ:
        return DEFAULT_CANCEL_LABEL_PREFIX
    return _env("CANCEL_LABEL_PREFIX")


def _paths(given: str) -> tuple[str, ...]:
    """The paths input, split as a shell would: an unclosed quote is one error, and a path that
    begins with '-' is refused, since reconciler would read it as an option (`-h` validates nothing
    and passes)."""
    what, hint = (
        f"the paths input ({PREFIX}PATHS)",
        "separate folders or files with spaces, e.g. desired-state",
    )
    try:
        paths = tuple(shlex.split(given))
    except ValueError as error:
        raise ReconcilerError(f"{what} {given!r} cannot be split: {error}", hint=hint) from None
    for path in paths:
        if path.startswith("-"):
            raise ReconcilerError(
                f"{what}: {path!r} begins with '-', which reconciler would read as an option",
                hint=f"spell a path that begins with '-' as ./{path}",
            )
    return paths


def _out_dir(given: str) -> Path:
    """The folder the steps write the plan and its companions to, checked before any step runs:
    a path through a file or a loop of links is one error, not a traceback from mkdir."""
    what, hint = f"the output directory ({PREFIX}OUT)", f"set {PREFIX}OUT to a directory you can write to"
    check_path(given, what)
    if os.path.lexists(given) and not os.path.isdir(given):
        raise ReconcilerError(f"{what} {shown(given)} is not a directory", hint=hint)
    check_creatable(given, what, hint, directory=True)
    return Path(given)


def run_reconciler(
    settings: Settings, args: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`reconciler ARGS...` from the same installation; its stderr goes straight to the job log."""
    command = [sys.executable, "-m", "reconciler", *args]
    print(printable(f"$ reconciler {shlex.join(args)}"), file=sys.stderr, flush=True)
    return subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        check=False,
        env={**os.environ, **settings.global_env(), **(env or {})},
    )
