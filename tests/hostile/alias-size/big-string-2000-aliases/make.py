"""A 1 MB file that aliases a 1 MB string 2,000 times: 2 GB once expanded."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
text = "version: 1\nsites:\n  - name: &big " + "a" * 1_000_000 + "\n    org: acme-corp\n"
text += "subscriptions:\n  - id: SUB-1\n    apps: [" + ", ".join(["*big"] * 2000) + "]\n"
(folder / "bomb.yaml").write_text(text, encoding="utf-8")
