"""/dev/zero as a plan: refused at once, not read forever."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

edited.write()
