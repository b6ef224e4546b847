"""A top-level value of 5,000 digits: the parser itself fails to convert it."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
(folder / "big.yaml").write_text("version: " + "1" * 5000 + "\nsites: []\n")
