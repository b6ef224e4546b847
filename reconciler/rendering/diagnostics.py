"""Diagnostics as a person, a program or GitHub Actions reads them.

text:   `FILE:LINE:COLUMN: error[RULE]: message`, an indented `hint:` line when there is one,
        then a summary line. A value past 200 characters shows its start and how many more.
json:   one object: valid, files, error_count, warning_count, diagnostics (every value whole).
github: one workflow command per diagnostic, so errors show inline on a pull request
        (https://docs.github.com/actions/reference/workflow-commands-for-github-actions).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.model import Diagnostic
from reconciler.terminal import paint, plural, printable, visible, visible_lines

FORMATS = ("text", "json", "github")


def ordered(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: d.sort_key)


def count(diagnostics: Sequence[Diagnostic], severity: str) -> int:
    return sum(1 for d in diagnostics if d.severity == severity)


def summary_line(diagnostics: Sequence[Diagnostic], files: Sequence[str]) -> str:
    """`3 errors in 2 files`, `1 warning in 1 file`, or `no problems in 4 files`."""
    errors, warnings = count(diagnostics, "error"), count(diagnostics, "warning")
    with_problems = len({d.source.file for d in diagnostics if d.source is not None}) or len(files)
    parts = [plural(errors, "error")] if errors else []
    if warnings:
        parts.append(plural(warnings, "warning"))
    if not parts:
        return f"no problems in {plural(len(files), 'file')}"
    return f"{', '.join(parts)} in {plural(with_problems, 'file')}"


def render_line(diagnostic: Diagnostic, color: bool = False) -> str:
    # File names, messages and hints quote untrusted text: shown, never acted on by a terminal
    # (a message keeps its own line breaks; the values it quotes are escaped where it is built),
    # and clipped: a 2 MB value is shown by its start and its length.
    where = f"{visible(str(diagnostic.source))}: " if diagnostic.source is not None else ""
    tone = "red" if diagnostic.severity == "error" else "yellow"
    label = paint(f"{diagnostic.severity}[{diagnostic.rule}]", tone, color)
    line = f"{where}{label}: {visible_lines(diagnostic.message)}"
    if diagnostic.hint:
        line += "\n" + paint(f"  hint: {visible_lines(diagnostic.hint)}", "dim", color)
    return line


def render_lines(diagnostics: Sequence[Diagnostic], color: bool = False) -> str:
    """The diagnostics in text form, in their one order, without a summary."""
    return "\n".join(render_line(d, color) for d in ordered(diagnostics))


def render_diagnostics(
    diagnostics: Sequence[Diagnostic],
    fmt: str,
    files: Sequence[str],
    *,
    summary: str | None = None,
    color: bool = False,
) -> str:
    """The whole report in `fmt` (text, json or github), ending with a newline.

    `summary` replaces the computed summary line of the text and github formats.
    """
    if fmt == "json":
        return render_json(diagnostics, files)
    last = summary if summary is not None else summary_line(diagnostics, files)
    if fmt == "github":
        body = [render_github(d) for d in ordered(diagnostics)]
    elif fmt == "text":
        body = [render_line(d, color) for d in ordered(diagnostics)]
    else:
        raise ValueError(f"unknown diagnostics format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return "\n".join([*body, last]) + "\n"


def render_json(diagnostics: Sequence[Diagnostic], files: Sequence[str]) -> str:
    errors = count(diagnostics, "error")
    document = {
        "valid": errors == 0,
        "files": list(files),
        "error_count": errors,
        "warning_count": count(diagnostics, "warning"),
        "diagnostics": [_as_json(d) for d in ordered(diagnostics)],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _as_json(diagnostic: Diagnostic) -> dict[str, object]:
    source = diagnostic.source
    return {
        "file": source.file if source else None,
        "line": source.line if source else None,
        "column": source.column if source else None,
        "severity": diagnostic.severity,
        "rule": diagnostic.rule,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostic: Diagnostic) -> str:
    """`::error file=F,line=L,col=C::[RULE] message`, the hint on a second line of the annotation."""
    command = "error" if diagnostic.severity == "error" else "warning"
    source = diagnostic.source
    where = ""
    if source is not None:
        where = f" file={_escape_property(printable(source.file))},line={source.line},col={source.column}"
    # The log viewer renders ANSI escapes: only line breaks stay (as %0A, lines of the annotation).
    # The file stays whole (GitHub places the annotation by it); the message is clipped.
    message = f"[{diagnostic.rule}] {visible_lines(diagnostic.message)}"
    if diagnostic.hint:
        message += f"\nhint: {visible_lines(diagnostic.hint)}"
    return f"::{command}{where}::{_escape_data(message)}"
