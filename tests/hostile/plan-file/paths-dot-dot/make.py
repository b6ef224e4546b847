"""A plan whose paths climb out of the working directory."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

edited.write(lambda plan: plan.update(paths=["desired-state", "../../../../etc"]))
