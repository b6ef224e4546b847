"""A FIFO as a plan: refused at once, not waited on."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import os

import edited

workdir = edited.write()
os.mkfifo(workdir / "plan.fifo")
