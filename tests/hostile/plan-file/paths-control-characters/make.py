"""A plan whose path holds terminal escapes, and climbs out."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

edited.write(lambda plan: plan.update(paths=["../\x1b]0;owned\x07\x1b[2J"]))
