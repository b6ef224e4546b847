"""At most MAX_DIAGNOSTICS diagnostics per file, then one note saying how many more there are.

A hostile file of 200,000 bad items would otherwise cost a detailed explanation and a located
position per error (half a minute, a gigabyte, 400,000 lines of output). So each producer stops
explaining and locating at the cap, counts the rest only where counting is cheap, and leaves a
`MoreDiagnostics` note; `cap_per_file` merges the notes into one per file, at its end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from reconciler.model import Diagnostic, SourceSpan

#: the diagnostics shown per file; past it the first ones are enough to start fixing
MAX_DIAGNOSTICS = 1_000
RULE = "too-many-diagnostics"


class MoreDiagnostics(Diagnostic, frozen=True):
    """The note closing a file's diagnostics: `hidden` more were found (None: more, not counted)."""

    hidden: int | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        # Always last of its file, after the diagnostics it follows.
        file = self.source.file if self.source is not None else ""
        return (file, 2**63, 0, self.rule, self.message)


def more_note(file: str, hidden: int | None, after: SourceSpan | None = None) -> MoreDiagnostics:
    """The note for `hidden` diagnostics not shown, placed `after` the last one shown."""
    more = f"{hidden:,} more" if hidden is not None else "more"
    message = f"stopped after {MAX_DIAGNOSTICS:,} diagnostics in this file: {more} not shown"
    where = after if after is not None else SourceSpan(file, 1, 1)
    hint = "fix these and run validate again"
    return MoreDiagnostics(RULE, message, where, hint=hint, severity="note", hidden=hidden)


def first(diagnostics: Iterable[Diagnostic], file: str, limit: int = MAX_DIAGNOSTICS) -> list[Diagnostic]:
    """The first `limit` of a lazy stream, and a note (more, uncounted) when it goes on."""
    taken: list[Diagnostic] = []
    stream: Iterator[Diagnostic] = iter(diagnostics)
    for diagnostic in stream:
        if len(taken) == limit:
            return [*taken, more_note(file, None)]
        taken.append(diagnostic)
    return taken


def cap_per_file(diagnostics: Sequence[Diagnostic], limit: int = MAX_DIAGNOSTICS) -> list[Diagnostic]:
    """Per file, the first `limit` diagnostics in their order and one note for all the rest."""
    by_file: dict[str, list[Diagnostic]] = {}
    notes: dict[str, list[MoreDiagnostics]] = {}
    for diagnostic in diagnostics:
        file = diagnostic.source.file if diagnostic.source is not None else ""
        if isinstance(diagnostic, MoreDiagnostics):
            notes.setdefault(file, []).append(diagnostic)
        else:
            by_file.setdefault(file, []).append(diagnostic)
    kept: list[Diagnostic] = []
    for file in sorted(by_file.keys() | notes.keys()):
        found = sorted(by_file.get(file, ()), key=lambda d: d.sort_key)
        shown, dropped = found[:limit], len(found) - limit
        kept += shown
        counts = [note.hidden for note in notes.get(file, ())]
        if dropped > 0 or counts:
            hidden = None if None in counts else max(dropped, 0) + sum(c or 0 for c in counts)
            kept.append(more_note(file, hidden, shown[-1].source if shown else None))
    return kept
