"""A 70 KB file whose aliases stay under the node limit but replay a 7 KB string 112,500 times (790 MB)."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
lines = ["version: 1", "x:", "  s: &s " + "x" * 7000]
lines.append("  l1: &l1 [" + ", ".join(["*s"] * 50) + "]")
lines.append("  l2: &l2 [" + ", ".join(["*l1"] * 50) + "]")
lines.append("  l3: [" + ", ".join(["*l2"] * 45) + "]")
filler = "\n".join(f"  # {'.' * 60}" for _ in range(1000))
(folder / "bomb.yaml").write_text("\n".join(lines) + "\n" + filler + "\n", encoding="utf-8")
