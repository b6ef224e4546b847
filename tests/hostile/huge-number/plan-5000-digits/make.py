"""version: followed by 5,000 digits (Python refuses to convert more than 4,300)."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
(folder / "big.yaml").write_text("version: 1\nsites:\n  - name: acme\n    org: " + "9" * 5000 + "\n")
