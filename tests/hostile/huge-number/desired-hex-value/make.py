"""A hexadecimal number of 20,000 digits: it converts, but could never be shown in decimal."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
(folder / "big.yaml").write_text("version: 1\nsubscriptions:\n  - id: 0x" + "f" * 20000 + "\n")
