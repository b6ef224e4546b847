"""A plan whose path is a link, in the working tree, to a directory outside it."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

workdir = edited.write(lambda plan: plan.update(paths=["estate"]))
(workdir / "estate").symlink_to("/etc")
