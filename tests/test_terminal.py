"""When output is coloured: only on a terminal that shows colour, never when asked not to."""

from __future__ import annotations

import io

import pytest

from reconciler.terminal import color_enabled, plural


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
