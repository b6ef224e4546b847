"""Values with terminal escapes that reach the text plan as blocked entries and unknown ids."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
text = """version: 1
sites:
  - name: "new\\x1b]0;owned\\x07site"
    org: acme-corp
    create: true
  - name: "labs\\u202e"
    org: "acme-labs\\r"
subscriptions:
  - id: "SUB-1001\\x1b[2K\\rSUB-1001"
    apps:
      focus: {site: "acme\\u2028"}
  - id: "SUB-\\u0085\\u2029x"
    status: cancelled
"""
(folder / "estate.yaml").write_text(text, encoding="utf-8")
