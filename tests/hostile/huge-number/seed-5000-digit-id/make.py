"""A seed whose billing account id is a 5,000-digit number."""

import sys
from pathlib import Path

text = "now: 2026-11-21\nbilling_accounts:\n  - id: " + "1" * 5000 + "\n    billing_admins: [a@b.example]\n"
(Path(sys.argv[1]) / "console.yaml").write_text(text)
