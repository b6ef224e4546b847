"""A desired-state estate whose values carry terminal escapes, bidi overrides and line separators.

Cases of this class write it with their make.py and check one output each (text plan, Markdown
plan, GitHub annotations): the values must reach it escaped, never acted on. An id holds no white
space or line break (validate refuses one), so the escapes in ids move the cursor instead.
"""

import sys
from pathlib import Path

ESTATE = """version: 1
sites:
  - name: "new\\x1b]0;owned\\x07site"
    org: acme-corp
    create: true
  - name: "labs\\u202e"
    org: "acme-labs\\x1b[8m"
subscriptions:
  - id: "SUB-1001\\x1b[2K\\x1b[1GSUB-1001"
    apps:
      focus: {site: "acme\\u2028"}
  - id: "SUB-\\u0085\\u202ex"
    status: cancelled
"""


def write(workdir: Path) -> None:
    folder = workdir / "desired-state"
    folder.mkdir()
    (folder / "estate.yaml").write_text(ESTATE, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
