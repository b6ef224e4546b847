"""A subdirectory that cannot be listed (its path is longer than the system allows, which stops
even root; a directory without read permission does the same for anyone else)."""

import os
import sys
from pathlib import Path

folder = Path(sys.argv[1]) / "desired-state"
folder.mkdir()
(folder / "sites.yaml").write_text("version: 1\nsites: []\n")
fd = os.open(folder, os.O_RDONLY)
for _ in range(20):  # 20 levels of 250 characters: past PATH_MAX (4096), made relative to each level
    os.mkdir("d" * 250, dir_fd=fd)
    fd, parent = os.open("d" * 250, os.O_RDONLY, dir_fd=fd), fd
    os.close(parent)
os.close(fd)
