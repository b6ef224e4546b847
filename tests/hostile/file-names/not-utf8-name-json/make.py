"""A desired-state file whose name is not UTF-8 (byte 0xff), as a pull request can add one."""

import os
import sys

folder = os.path.join(os.fsencode(sys.argv[1]), b"desired-state")
os.mkdir(folder)
with open(os.path.join(folder, b"sites.yaml"), "w") as good:
    good.write("version: 1\nsites: []\n")
with open(os.path.join(folder, b"b\xffx.yaml"), "w") as bad:
    bad.write("version: 1\n")
