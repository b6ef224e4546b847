"""A plan that is not UTF-8."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import edited

workdir = edited.write()
(workdir / "plan.json").write_bytes(b'{"format_version": 1, "x": "\xff\xfe"}')
