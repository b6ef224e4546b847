"""A link, inside desired state, to a directory elsewhere on the machine."""

import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
(folder / "sites.yaml").write_text("version: 1\nsites: []\n")
(folder / "etc").symlink_to("/etc", target_is_directory=True)
