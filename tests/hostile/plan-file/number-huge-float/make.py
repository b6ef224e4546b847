"""A plan with 1e400, a float that overflows to infinity."""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

base = (edited.HERE / "base-plan.json").read_text()
edited.write(text=re.sub(r'"line": [0-9]+', '"line": ' + "1e400", base, count=1))
