"""When output is coloured: only on a terminal that shows colour, never when asked not to."""

from __future__ import annotations

import io

import pytest

from reconciler.terminal import color_enabled, plural, printable, printable_lines


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "env", "expected"),
    [
        (Terminal(), {}, True),
        (io.StringIO(), {}, False),
        (Terminal(), {"NO_COLOR": "1"}, False),
        (Terminal(), {"TERM": "dumb"}, False),
        (Terminal(), {"TERM": "xterm-256color"}, True),
    ],
    ids=["terminal", "pipe", "no-color", "dumb-terminal", "colour-terminal"],
)
def test_colour(
    monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, env: dict[str, str], expected: bool
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert color_enabled(stream) is expected


def test_plural() -> None:
    assert [plural(0, "site"), plural(1, "site"), plural(2, "site")] == ["0 sites", "1 site", "2 sites"]
    assert plural(2, "entry", "entries") == "2 entries"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("acme-corp", "acme-corp"),
        ("ünïcødé ok, 漢字, emoji 📦", "ünïcødé ok, 漢字, emoji 📦"),
        ("C:\\estate\\sites.yaml", "C:\\estate\\sites.yaml"),
        ("red\x1b[31mtext", "red\\x1b[31mtext"),
        ("bell\x07", "bell\\x07"),
        ("over\rwrite", "over\\rwrite"),
        ("two\nlines", "two\\nlines"),
        ("tab\there", "tab\\there"),
        ("nel\x85", "nel\\x85"),
        ("csi\x9b2J", "csi\\x9b2J"),
        ("del\x7f", "del\\x7f"),
        ("evil\u202egpj.exe", "evil\\u202egpj.exe"),
        ("isolate\u2066x\u2069", "isolate\\u2066x\\u2069"),
        ("line\u2028sep\u2029par", "line\\u2028sep\\u2029par"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("nul\x00", "nul\\x00"),
        ("tag\U000e0041", "tag\\U000e0041"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(shown) == shown  # escaping is stable: shown text is already printable


def test_printable_lines_keeps_line_breaks_only() -> None:
    assert printable_lines("first\x1b]0;title\x07\nsecond\r") == "first\\x1b]0;title\\x07\nsecond\\r"
