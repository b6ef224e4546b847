"""`reconciler show PLAN`: render a saved plan as text, Markdown or JSON."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from reconciler.errors import EXIT_OK
from reconciler.model import Plan
from reconciler.planning.planfile import read_plan
from reconciler.terminal import color_enabled


def render_plan(plan: Plan, fmt: str) -> str:
    """The plan in one of the formats `plan` and `show` print (text is coloured only on a TTY)."""
    if fmt == "json":
        from reconciler.rendering.planjson import render_json

        return render_json(plan)
    if fmt == "markdown":
        from reconciler.rendering.links import source_links
        from reconciler.rendering.markdown import render_markdown

        return render_markdown(plan, links=source_links(os.environ, Path.cwd()))
    from reconciler.rendering.text import render_text

    return render_text(plan, color=color_enabled(sys.stdout))


def run(plan_file: str, fmt: str) -> int:
    sys.stdout.write(render_plan(read_plan(plan_file), fmt))
    return EXIT_OK
