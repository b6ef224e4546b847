"""The plan as JSON: what `plan --out` writes, `show` renders and `apply --plan` executes.

The field names are a contract (users' CI scripts read them) documented by schemas/plan.schema.json.
No timestamp goes in: the same plan is the same bytes. No token goes in either: the provider is
stored as configured, without credentials.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.model import (
    PLAN_FORMAT_VERSION,
    Action,
    Blocked,
    Change,
    Deferred,
    Plan,
    PlanWarning,
    SourceSpan,
    Unmanaged,
)

SCHEMA_NAME = "plan.schema.json"


def summary(plan: Plan) -> dict[str, int]:
    """Counts a CI job can act on without walking the lists."""
    by_action = {action: 0 for action in Action}
    for change in plan.changes:
        by_action[change.action] += 1
    return {
        "changes": len(plan.changes),
        "create_site": by_action[Action.CREATE_SITE],
        "provision": by_action[Action.PROVISION],
        "reactivate": by_action[Action.REACTIVATE],
        "cancel": by_action[Action.CANCEL],
        "blocked": len(plan.blocked),
        "deferred": len(plan.deferred),
        "unmanaged": len(plan.unmanaged),
        "warnings": len(plan.warnings),
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": plan.format_version,
        "checksum": plan.checksum,
        "desired_digest": plan.desired_digest,
        "observed_fingerprint": plan.observed_fingerprint,
        "observed_on": _date(plan.observed_on),
        "paths": list(plan.paths),
        "provider": plan.provider,
        "actor": plan.actor,
        "summary": summary(plan),
        "changes": [_change(c) for c in plan.changes],
        "blocked": [_blocked(b) for b in plan.blocked],
        "deferred": [_deferred(d) for d in plan.deferred],
        "unmanaged": [_unmanaged(u) for u in plan.unmanaged],
        "warnings": [{"message": w.message, "source": _source(w.source)} for w in plan.warnings],
    }


def plan_json_text(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False) + "\n"


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _source(span: SourceSpan | None) -> dict[str, Any] | None:
    return None if span is None else {"file": span.file, "line": span.line, "column": span.column}


def _change(change: Change) -> dict[str, Any]:
    return {
        "id": change.id,
        "action": str(change.action),
        "subscription": change.subscription,
        "app": change.app,
        "site": change.site,
        "org": change.org,
        "depends_on": list(change.depends_on),
        "reason": change.reason,
        "source": _source(change.source),
        "takes_down": None if change.takes_down is None else dict(change.takes_down),
        "deactivation_date": _date(change.deactivation_date),
    }


def _blocked(blocked: Blocked) -> dict[str, Any]:
    return {
        "rule": blocked.rule,
        "message": blocked.message,
        "subscription": blocked.subscription,
        "app": blocked.app,
        "site": blocked.site,
        "source": _source(blocked.source),
    }


def _deferred(deferred: Deferred) -> dict[str, Any]:
    return {
        "subscription": deferred.subscription,
        "start_date": _date(deferred.start_date),
        "apps": dict(deferred.apps),
        "source": _source(deferred.source),
    }


def _unmanaged(unmanaged: Unmanaged) -> dict[str, Any]:
    return {
        "subscription": unmanaged.subscription,
        "product": unmanaged.product,
        "status": unmanaged.status,
        "apps": dict(unmanaged.apps),
    }


# --- reading ----------------------------------------------------------------------------------------


def plan_from_json(data: Mapping[str, Any]) -> Plan:
    """A Plan from its JSON form; the data must already match the plan schema."""
    return Plan(
        changes=tuple(_read_change(c) for c in data["changes"]),
        blocked=tuple(
            Blocked(
                b["rule"], b["message"], b["subscription"], b["app"], b["site"], _read_source(b["source"])
            )
            for b in data["blocked"]
        ),
        deferred=tuple(
            Deferred(
                d["subscription"], _read_date(d["start_date"]), dict(d["apps"]), _read_source(d["source"])
            )
            for d in data["deferred"]
        ),
        unmanaged=tuple(
            Unmanaged(u["subscription"], u["product"], u["status"], dict(u["apps"]))
            for u in data["unmanaged"]
        ),
        warnings=tuple(PlanWarning(w["message"], _read_source(w["source"])) for w in data["warnings"]),
        desired_digest=data["desired_digest"],
        observed_fingerprint=data["observed_fingerprint"],
        paths=tuple(data["paths"]),
        provider=data["provider"],
        actor=data["actor"],
        format_version=data["format_version"],
        observed_on=_read_date(data.get("observed_on")),
    )


def _read_change(data: Mapping[str, Any]) -> Change:
    takes_down = data.get("takes_down")
    return Change(
        id=data["id"],
        action=Action(data["action"]),
        subscription=data["subscription"],
        app=data["app"],
        site=data["site"],
        org=data["org"],
        depends_on=tuple(data["depends_on"]),
        reason=data["reason"],
        source=_read_source(data["source"]),
        takes_down=None if takes_down is None else dict(takes_down),
        deactivation_date=_read_date(data.get("deactivation_date")),
    )


def _read_source(data: Mapping[str, Any] | None) -> SourceSpan | None:
    return None if data is None else SourceSpan(data["file"], data["line"], data["column"])


def _read_date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_plan(path: str | Path, plan: Plan) -> None:
    """Write the JSON plan atomically: a reader never sees half a plan."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(plan_json_text(plan))
        # mkstemp makes the file private (0600); a plan is an artifact CI uploads and others read,
        # so it gets the mode any file gets here (it never holds a secret).
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except OSError as exc:
        raise ReconcilerError(
            f"cannot write the plan to {path}: {exc.strerror or exc}",
            hint="choose a path in a directory you can write to",
        ) from exc


def read_plan(path: str | Path) -> Plan:
    """A saved plan, checked: it parses, it is a plan of this format, and nobody edited its changes."""
    data = _load_json(Path(path))
    version = data.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise ReconcilerError(
            f"{path} is a plan of format version {version}; "
            f"this reconciler reads version {PLAN_FORMAT_VERSION}",
            hint=f"make the plan again with this reconciler: reconciler plan --out {path}",
        )
    problem = _schema_problem(data)
    if problem is not None:
        raise ReconcilerError(
            f"{path} is not a valid plan: {problem}",
            hint=f"make the plan again: reconciler plan --out {path}",
        )
    plan = plan_from_json(data)
    if plan.checksum != data["checksum"]:
        raise ReconcilerError(
            f"the changes in {path} do not match its checksum {data['checksum']} "
            f"(they hash to {plan.checksum}): the file was edited after the plan was made",
            hint=f"a plan is applied exactly as it was reviewed; make it again: reconciler plan --out {path}",
        )
    return plan


def _load_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReconcilerError(
            f"plan file {path} does not exist", hint=f"make one with: reconciler plan --out {path}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReconcilerError(f"cannot read plan file {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReconcilerError(
            f"{path} is not a plan: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            hint=f"a plan file is what `reconciler plan --out {path}` writes",
        ) from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise ReconcilerError(
            f"{path} is not a plan: it has no format_version",
            hint=f"a plan file is what `reconciler plan --out {path}` writes",
        )
    return data


def _schema_problem(data: dict[str, Any]) -> str | None:
    import jsonschema_rs

    from reconciler.resources import schema_path

    schema = json.loads(schema_path(SCHEMA_NAME).read_text(encoding="utf-8"))
    validator = jsonschema_rs.validator_for(schema)
    for error in validator.iter_errors(data):
        where = "/".join(str(part) for part in error.instance_path) or "the top level"
        return f"at {where}: {error.message}"
    return None
