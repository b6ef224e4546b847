"""A saved plan whose provider, actor and paths (outside the checksum) were edited to hold escapes."""

import json
import shutil
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
workdir = Path(sys.argv[1])
plan = json.loads((here.parent.parent / "plan-file" / "base-plan.json").read_text(encoding="utf-8"))
plan["provider"] = "sandbox:\x1b[8mhidden\x1b[0m.db"
plan["actor"] = "alice@acme.example\u202e"
plan["paths"] = ["desired-state\r\x1b[2K"]
(workdir / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
shutil.copytree(here.parents[3] / "desired-state", workdir / "desired-state")
