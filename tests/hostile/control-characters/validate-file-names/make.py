"""Files whose names hold ESC, BEL, CR, a bidi override and a line separator, each with an error."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
names = ["\x1b[2Jclear", "bell\x07", "over\rwrite", "evil\u202egpj", "two\u2028lines", "nel\x85"]
for name in names:
    (folder / f"{name}.yaml").write_text("version: 1\ncolour: red\n", encoding="utf-8")
