"""A plan whose date has the right shape and no calendar day."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

edited.write(lambda plan: plan.update(observed_on="2026-13-45"))
