"""A plan nested 100,000 levels deep: the JSON parser would overflow its stack."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

edited.write(text='{"format_version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
