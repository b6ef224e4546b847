"""`python -m reconciler.ci validate|plan|apply|drift`: one CI step, its settings from the environment."""

from __future__ import annotations

import sys
from collections.abc import Callable

from reconciler.ci.github import RunContext
from reconciler.ci.settings import Settings, run_reconciler
from reconciler.errors import EXIT_ERROR, ReconcilerError

Step = Callable[[Settings, RunContext], int]
USAGE = (
    "usage: python -m reconciler.ci validate|plan|apply|drift "
    "(settings: RECONCILER_CI_* variables, see action.yml)"
)


def validate(settings: Settings, context: RunContext) -> int:
    """Annotations on stdout, where the runner turns them into errors on the pull request's lines."""
    done = run_reconciler(settings, ["validate", *settings.paths, "--format", "github"])
    sys.stdout.write(done.stdout)
    return done.returncode


def _steps() -> dict[str, Step]:
    from reconciler.ci import apply_step, drift_step, plan_step

    return {"validate": validate, "plan": plan_step.run, "apply": apply_step.run, "drift": drift_step.run}


def annotation(message: str) -> str:
    """A workflow command that shows `message` as an error on the run's page."""
    escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::error title=reconciler::{escaped}"


def main(argv: list[str]) -> int:
    steps = _steps()
    if len(argv) != 1 or argv[0] not in steps:
        print(USAGE, file=sys.stderr)
        return EXIT_ERROR
    try:
        return steps[argv[0]](Settings.from_env(), RunContext.from_env())
    except ReconcilerError as error:
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        print(annotation(error.message if not error.hint else f"{error.message}\n{error.hint}"), flush=True)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
