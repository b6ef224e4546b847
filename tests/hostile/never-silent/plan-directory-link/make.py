"""A link, inside desired state, to a directory beside it: its files were silently left out."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
(folder / "team").mkdir(parents=True)
(folder / "sites.yaml").write_text("version: 1\nsites:\n  - name: acme\n    org: acme-corp\n")
(folder / "team" / "subs.yaml").write_text("version: 1\nsubscriptions:\n  - id: SUB-1001\n")
(folder / "linked").symlink_to("team", target_is_directory=True)
