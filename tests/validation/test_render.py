"""Rendering diagnostics: exact text, JSON and GitHub annotations, escapes included."""

from __future__ import annotations

import json

from reconciler.model import Diagnostic, SourceSpan
from reconciler.rendering.diagnostics import render_diagnostics, summary_line

ERROR = Diagnostic("schema", "50% of 'x'\nsecond line", SourceSpan("dir,a/b:c.yaml", 3, 7), hint="do y")
WARNING = Diagnostic("note", "just so you know", SourceSpan("a.yaml", 1, 1), severity="warning")
NOWHERE = Diagnostic("version", "no position", None)


def test_text_is_sorted_with_hints_and_a_summary() -> None:
    assert render_diagnostics([ERROR, WARNING, NOWHERE], "text", ["a.yaml", "b.yaml"]) == (
        "error[version]: no position\n"
        "a.yaml:1:1: warning[note]: just so you know\n"
        "dir,a/b:c.yaml:3:7: error[schema]: 50% of 'x'\nsecond line\n"
        "  hint: do y\n"
        "2 errors, 1 warning in 2 files\n"
    )


def test_github_annotations_escape_data_and_properties() -> None:
    assert render_diagnostics([ERROR, WARNING, NOWHERE], "github", ["a.yaml"], summary="done") == (
        "::error::[version] no position\n"
        "::warning file=a.yaml,line=1,col=1::[note] just so you know\n"
        "::error file=dir%2Ca/b%3Ac.yaml,line=3,col=7::[schema] 50%25 of 'x'%0Asecond line%0Ahint: do y\n"
        "done\n"
    )


def test_json_carries_every_field() -> None:
    document = json.loads(render_diagnostics([WARNING, ERROR], "json", ["a.yaml"]))
    assert document == {
        "valid": False,
        "files": ["a.yaml"],
        "error_count": 1,
        "warning_count": 1,
        "diagnostics": [
            {
                "file": "a.yaml",
                "line": 1,
                "column": 1,
                "severity": "warning",
                "rule": "note",
                "message": "just so you know",
                "hint": None,
            },
            {
                "file": "dir,a/b:c.yaml",
                "line": 3,
                "column": 7,
                "severity": "error",
                "rule": "schema",
                "message": "50% of 'x'\nsecond line",
                "hint": "do y",
            },
        ],
    }


def test_summaries() -> None:
    assert summary_line([], ["a.yaml", "b.yaml"]) == "no problems in 2 files"
    assert summary_line([ERROR], ["x"]) == "1 error in 1 file"
    assert summary_line([WARNING], ["a.yaml"]) == "1 warning in 1 file"
