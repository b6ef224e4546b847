"""`reconciler validate [PATHS]... [--format text|json|github]`: schema and offline checks, no provider."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from reconciler.errors import EXIT_ERROR, EXIT_OK, ReconcilerError
from reconciler.loading.desired import CheckResult, check_desired
from reconciler.model import Diagnostic
from reconciler.rendering.diagnostics import render_diagnostics
from reconciler.terminal import color_enabled, plural, printable


def run(paths: Sequence[str], fmt: str) -> int:
    try:
        result = check_desired(paths)
    except ReconcilerError as error:
        if fmt == "text":
            raise
        # A script reading json, or a CI log reading annotations, still gets its format.
        problem = Diagnostic("path", error.message, None, error.hint)
        sys.stdout.write(render_diagnostics([problem], fmt, ()))
        return EXIT_ERROR
    color = fmt == "text" and color_enabled(sys.stdout)
    sys.stdout.write(
        render_diagnostics(
            result.diagnostics, fmt, result.files, summary=_summary(paths, result), color=color
        )
    )
    return EXIT_OK if result.valid else EXIT_ERROR


def _summary(paths: Sequence[str], result: CheckResult) -> str | None:
    """`desired-state: 3 files, 3 sites, 4 subscriptions, valid`; None keeps the error count line."""
    if not result.valid:
        return None
    sites, subscriptions = result.count("sites"), result.count("subscriptions")
    return (
        f"{printable(', '.join(paths))}: {plural(len(result.files), 'file')}, {plural(sites, 'site')}, "
        f"{plural(subscriptions, 'subscription')}, valid"
    )
