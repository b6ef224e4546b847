"""Aliases of a mapping of large strings, used as values and as keys: sizes add up through both."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
big = "b" * 200_000
text = f"version: 1\nx: &m {{one: {big}, two: {big}}}\n"
text += "y:\n" + "".join(f"  ? *m\n  : {n}\n" for n in range(5))
text += "z: [" + ", ".join(["*m"] * 20) + "]\n"
(folder / "bomb.yaml").write_text(text, encoding="utf-8")
