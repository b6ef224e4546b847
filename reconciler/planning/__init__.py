"""Planning: desired state + the observed console -> a Plan, with every rule checked and explained.

The planner is pure: it reads no file and imports no provider. `planfile` reads and writes saved plans;
`planout` decides where one may be written.
"""

from __future__ import annotations

from reconciler.planning.planner import plan_changes

__all__ = ["plan_changes"]
