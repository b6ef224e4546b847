"""A plan with a 5,000-digit number where a line number goes."""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

base = (edited.HERE / "base-plan.json").read_text()
edited.write(text=re.sub(r'"line": [0-9]+', '"line": ' + "4" * 5000, base, count=1))
