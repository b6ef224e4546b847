"""A plan whose paths name /etc/passwd: apply once quoted its first line."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

edited.write(lambda plan: plan.update(paths=["/etc/passwd"]))
