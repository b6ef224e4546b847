"""A console seed whose organization names repeat a 500 KB anchor 4,000 times (2 GB expanded)."""

import sys
from pathlib import Path

org = "  - id: org-{n}\n    name: *name\n"
text = "now: 2026-11-21\norganizations:\n  - id: org-0\n    name: &name " + "n" * 500_000 + "\n"
text += "".join(org.format(n=n) for n in range(1, 4001))
(Path(sys.argv[1]) / "console.yaml").write_text(text, encoding="utf-8")
