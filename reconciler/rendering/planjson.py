"""The plan as JSON on stdout: the same text `plan --out` writes, so a CI job can use either."""

from __future__ import annotations

from reconciler.model import Plan
from reconciler.planning.planfile import plan_json_text


def render_json(plan: Plan) -> str:
    return plan_json_text(plan)
