"""`python -m reconciler.ci STEP`: one CI step, its settings from the environment.

GitHub steps: validate, plan, apply, drift (what action.yml runs). GitLab steps: gitlab-plan,
gitlab-apply (what examples/gitlab/.gitlab-ci.yml runs).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from reconciler.ci.settings import Settings, run_reconciler
from reconciler.errors import EXIT_ERROR, ReconcilerError
from reconciler.terminal import printable_lines

Step = Callable[[Settings], int]
STEPS = ("validate", "plan", "apply", "drift", "gitlab-plan", "gitlab-apply")
USAGE = (
    f"usage: python -m reconciler.ci {'|'.join(STEPS)} (settings: RECONCILER_CI_* variables, see action.yml)"
)


def validate(settings: Settings) -> int:
    """Annotations on stdout, where the runner turns them into errors on the pull request's lines."""
    done = run_reconciler(settings, ["validate", *settings.paths, "--format", "github"])
    sys.stdout.write(done.stdout)
    return done.returncode


def github_step(name: str) -> Step:
    def step(settings: Settings) -> int:
        # Each step imports only its own module.
        from reconciler.ci import apply_step, drift_step, plan_step
        from reconciler.ci.github import RunContext

        steps = {"plan": plan_step.run, "apply": apply_step.run, "drift": drift_step.run}
        return steps[name](settings, RunContext.from_env())

    return step


def gitlab_step(name: str) -> Step:
    def step(settings: Settings) -> int:
        from reconciler.ci import gitlab

        run = gitlab.plan if name == "plan" else gitlab.apply
        return run(settings, gitlab.Pipeline.from_env())

    return step


def step_named(name: str) -> Step:
    if name == "validate":
        return validate
    if name.startswith("gitlab-"):
        return gitlab_step(name.removeprefix("gitlab-"))
    return github_step(name)


def annotation(message: str) -> str:
    """A workflow command that shows `message` as an error on the run's page."""
    escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::error title=reconciler::{escaped}"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in STEPS:
        print(USAGE, file=sys.stderr)
        return EXIT_ERROR
    try:
        return step_named(argv[0])(Settings.from_env())
    except ReconcilerError as error:
        # Messages quote the CI environment and GitHub's answers: shown as the CLI shows its errors.
        print(f"error: {printable_lines(error.message)}", file=sys.stderr)
        if error.hint:
            print(f"hint: {printable_lines(error.hint)}", file=sys.stderr)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            print(annotation(f"{error.message}\n{error.hint}" if error.hint else error.message), flush=True)
        return error.exit_code
    except Exception as error:  # a bug: one line here, the redacted traceback in a crash log
        from reconciler.cli import report_crash

        return report_crash(error)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
