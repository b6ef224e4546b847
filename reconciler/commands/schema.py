"""`reconciler schema`: print the desired-state JSON Schema."""

from __future__ import annotations

import sys

from reconciler.errors import EXIT_OK
from reconciler.resources import schema_path


def run() -> int:
    sys.stdout.write(schema_path("desired-state.schema.json").read_text(encoding="utf-8"))
    return EXIT_OK
