"""`reconciler history`: what was applied, when, by whom, from which commit."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from reconciler.errors import EXIT_OK, ReconcilerError
from reconciler.options import GlobalOptions
from reconciler.store import (
    AttemptRecord,
    RunOutcome,
    RunRecord,
    format_time,
    open_existing_store,
    public_state,
)
from reconciler.terminal import visible


def run(options: GlobalOptions, *, limit: int, run_id: str | None, fmt: str) -> int:
    store = open_existing_store(options.state)
    if store is None:
        if run_id is not None:
            raise _unknown_run(run_id)
        _emit({"runs": []} if fmt == "json" else f"No runs recorded yet in {public_state(options.state)}.\n")
        return EXIT_OK
    try:
        if run_id is None:
            runs = store.runs(limit)
            _emit({"runs": [run_to_json(r) for r in runs]} if fmt == "json" else render_runs(runs))
            return EXIT_OK
        record = store.run(run_id)
        if record is None:
            raise _unknown_run(run_id)
        attempts = store.attempts(run_id)
        if fmt == "json":
            _emit({"run": run_to_json(record), "attempts": [attempt_to_json(a) for a in attempts]})
        else:
            _emit(render_run(record, attempts))
        return EXIT_OK
    finally:
        store.close()


def _unknown_run(run_id: str) -> ReconcilerError:
    return ReconcilerError(f"no run with id {run_id!r}", hint="'reconciler history' lists the runs")


def _emit(output: str | dict[str, object]) -> None:
    if isinstance(output, dict):
        output = json.dumps(output, indent=2) + "\n"
    sys.stdout.write(output)


def _when(seconds: float | None) -> str | None:
    return None if seconds is None else format_time(seconds)


def run_to_json(run: RunRecord) -> dict[str, object]:
    return {
        "id": run.id,
        "started": format_time(run.started),
        "finished": _when(run.finished),
        "actor": run.actor,
        "user": run.user,
        "commit": run.commit,
        "provider": run.provider,
        "paths": list(run.paths),
        "plan_checksum": run.plan_checksum,
        "outcome": str(run.outcome),
        "message": run.message,
        "changes": {
            "succeeded": run.succeeded,
            "failed": run.failed,
            "skipped": run.skipped,
            "interrupted": run.interrupted,
            "unfinished": run.unfinished,
        },
    }


def attempt_to_json(attempt: AttemptRecord) -> dict[str, object]:
    return {
        "change": attempt.change_id,
        "action": attempt.action,
        "subject": attempt.subject,
        "attempt": attempt.number,
        "idempotency_key": attempt.idempotency_key,
        "started": format_time(attempt.started),
        "finished": _when(attempt.finished),
        "seconds": None if attempt.finished is None else round(attempt.finished - attempt.started, 3),
        "outcome": str(attempt.outcome),
        "operation": attempt.operation_id,
        "error": None
        if attempt.error_code is None
        else {"code": attempt.error_code, "message": attempt.error_message},
    }


def change_counts(run: RunRecord) -> str:
    parts = [
        f"{count} {label}"
        for count, label in (
            (run.succeeded, "ok"),
            (run.failed, "failed"),
            (run.skipped, "skipped"),
            (run.interrupted, "interrupted"),
            (run.unfinished, "unfinished"),
        )
        if count
    ]
    if parts:
        return ", ".join(parts)
    return "no changes" if run.outcome is RunOutcome.CONVERGED else "-"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in (header, *rows)
    ]
    return "".join(f"{indent}{line.rstrip()}\n" for line in lines)


def render_runs(runs: Sequence[RunRecord]) -> str:
    if not runs:
        return "No runs recorded yet.\n"
    # Every value comes from the journal, which every runner of a team writes (the commit from
    # the CI environment, the user from USER): shown printable and clipped, widths measured after.
    rows = [
        (
            visible(r.id),
            format_time(r.started),
            visible(r.actor or r.user),
            visible((r.commit or "-")[:12]),
            str(r.outcome),
            change_counts(r),
        )
        for r in runs
    ]
    return table(("RUN", "STARTED", "ACTOR", "COMMIT", "OUTCOME", "CHANGES"), rows)


def render_run(run: RunRecord, attempts: Sequence[AttemptRecord]) -> str:
    finished = "not finished" if run.finished is None else format_time(run.finished)
    duration = "" if run.finished is None else f" ({run.finished - run.started:.1f}s)"
    lines = [
        f"Run {visible(run.id)}: {run.outcome}",
        f"  started   {format_time(run.started)}, finished {finished}{duration}",
        f"  actor     {visible(run.actor or '-')} ({visible(run.user)})",
        f"  commit    {visible(run.commit or '-')}",
        f"  provider  {visible(run.provider)}",
        f"  paths     {' '.join(visible(path) for path in run.paths)}",
        f"  plan      {visible(run.plan_checksum or '-')}",
        f"  changes   {change_counts(run)}",
    ]
    if run.message:
        lines.append(f"  message   {visible(run.message)}")
    text = "\n".join(lines) + "\n"
    if not attempts:
        return text + "\nNo change was attempted.\n"
    rows = [
        (
            format_time(a.started),
            visible(a.change_id),
            str(a.number),
            str(a.outcome),
            "-" if a.finished is None else f"{a.finished - a.started:.1f}s",
            visible(a.operation_id or "-"),
            "" if a.error_code is None else visible(f"[{a.error_code}] {a.error_message or ''}".rstrip()),
        )
        for a in attempts
    ]
    header = ("STARTED", "CHANGE", "TRY", "OUTCOME", "TIME", "OPERATION", "ERROR")
    return text + "\n" + table(header, rows)
