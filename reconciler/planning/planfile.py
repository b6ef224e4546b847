"""The plan as JSON: what `plan --out` writes, `show` renders and `apply --plan` executes.

The field names are a contract (users' CI scripts read them) documented by schemas/plan.schema.json.
No timestamp goes in: the same plan is the same bytes. No token goes in either: the provider is
stored as configured, without credentials.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.loading.limits import offset_position
from reconciler.loading.yamlfile import ENV_MAX_FILE_BYTES, MAX_DEPTH, read_bytes
from reconciler.model import (
    PLAN_FORMAT_VERSION,
    Action,
    Blocked,
    Change,
    DeclaredFact,
    Deferred,
    InProgress,
    Plan,
    PlanWarning,
    SourceSpan,
    Unmanaged,
)
from reconciler.planning.planout import may_write, plan_out_command, write_text
from reconciler.terminal import printable
from reconciler.userpaths import check_path, shown

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
    data = _plan_fields(plan)
    if plan.provenance:  # only a console with declared facts: other plans keep their exact form
        data["provenance"] = list(plan.provenance)
    return data


def _plan_fields(plan: Plan) -> dict[str, Any]:
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
        "in_progress": [_in_progress(w) for w in plan.in_progress],
    }


def plan_json_text(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False) + "\n"


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _source(span: SourceSpan | None) -> dict[str, Any] | None:
    return None if span is None else {"file": span.file, "line": span.line, "column": span.column}


def _with_declared(entry: dict[str, Any], facts: tuple[DeclaredFact, ...]) -> dict[str, Any]:
    """`declared` only when a decision rests on declared facts: plans of fully observed consoles
    keep the exact form they always had."""
    if facts:
        entry["declared"] = [{"fact": f.fact, "source": _source(f.source)} for f in facts]
    return entry


def _read_declared(data: Mapping[str, Any]) -> tuple[DeclaredFact, ...]:
    return tuple(DeclaredFact(f["fact"], _read_source(f["source"])) for f in data.get("declared", ()))


def _change(change: Change) -> dict[str, Any]:
    return _with_declared(_change_fields(change), change.declared)


def _change_fields(change: Change) -> dict[str, Any]:
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
    entry = {
        "rule": blocked.rule,
        "message": blocked.message,
        "action": str(blocked.action),
        "subscription": blocked.subscription,
        "app": blocked.app,
        "site": blocked.site,
        "org": blocked.org,
        "source": _source(blocked.source),
    }
    return _with_declared(entry, blocked.declared)


def _deferred(deferred: Deferred) -> dict[str, Any]:
    return {
        "subscription": deferred.subscription,
        "start_date": _date(deferred.start_date),
        "apps": dict(deferred.apps),
        "source": _source(deferred.source),
    }


def _in_progress(work: InProgress) -> dict[str, Any]:
    since = None if work.since is None else work.since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "action": str(work.action),
        "subscription": work.subscription,
        "app": work.app,
        "site": work.site,
        "org": work.org,
        "operation": work.operation,
        "since": since,
    }


def _read_in_progress(data: Mapping[str, Any]) -> InProgress:
    since = data["since"]
    return InProgress(
        action=Action(data["action"]),
        subscription=data["subscription"],
        app=data["app"],
        site=data["site"],
        org=data["org"],
        operation=data["operation"],
        since=None if since is None else dt.datetime.fromisoformat(since),
    )


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
        blocked=tuple(_read_blocked(b) for b in data["blocked"]),
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
        # Plans saved before in-progress work was observed have no list: nothing was in progress.
        in_progress=tuple(_read_in_progress(w) for w in data.get("in_progress", ())),
        provenance=tuple(data.get("provenance", ())),
    )


def _read_blocked(data: Mapping[str, Any]) -> Blocked:
    return Blocked(
        rule=data["rule"],
        message=data["message"],
        subscription=data["subscription"],
        app=data["app"],
        site=data["site"],
        source=_read_source(data["source"]),
        action=Action(data["action"]),
        org=data["org"],
        declared=_read_declared(data),
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
        declared=_read_declared(data),
    )


def _read_source(data: Mapping[str, Any] | None) -> SourceSpan | None:
    return None if data is None else SourceSpan(data["file"], data["line"], data["column"])


def _read_date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def write_plan(path: str | Path, plan: Plan) -> None:
    """Write the JSON plan atomically, never over a file that is not a saved plan (see planout)."""
    check_path(Path(path), "the plan file")
    write_text(path, plan_json_text(plan))


def read_plan(path: str | Path) -> Plan:
    """A saved plan, checked: it parses, it is a plan of this format, and nobody edited its changes.

    A plan file is as untrusted as desired state (an artifact anyone with access to CI can
    replace), so it is read with the same limits: a regular file, the size limit, the nesting
    limit, numbers that fit in 64 bits.
    """
    check_path(Path(path), "the plan file")
    data = _load_json(Path(path))
    version = data.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise ReconcilerError(
            f"{shown(path)} is a plan of format version {printable(str(version))[:40]}; "
            f"this reconciler reads version {PLAN_FORMAT_VERSION}",
            hint=f"make the plan again with this reconciler: {plan_out_command(path)}",
        )
    problem = _schema_problem(data)
    if problem is None:
        try:
            plan = plan_from_json(data)
        except (ValueError, KeyError, TypeError) as error:  # a date such as 2026-13-45, say
            problem = printable(str(error))
    if problem is not None:
        raise ReconcilerError(
            f"{shown(path)} is not a valid plan: {problem}",
            hint=f"make the plan again: {plan_out_command(path)}",
        )
    if plan.checksum != data["checksum"]:
        raise ReconcilerError(
            f"the changes in {shown(path)} do not match its checksum {data['checksum']} "
            f"(they hash to {plan.checksum}): the file was edited after the plan was made",
            hint=f"a plan is applied exactly as it was reviewed; make it again: {plan_out_command(path)}",
        )
    return plan


def paths_in_working_tree(plan_file: str | Path, paths: Sequence[str]) -> tuple[str, ...]:
    """The desired-state paths of a saved plan, each checked to lie inside the working directory.

    The checksum covers the changes, not the paths: a plan edited to name /etc/passwd (or a link
    out of the tree) must not make apply read, and quote, a file elsewhere on the CI machine.
    """
    for given in outside_working_tree(paths)[:1]:
        raise ReconcilerError(
            f"{shown(plan_file)} names desired state outside the working directory: {printable(given)}",
            hint="apply reads desired state only from the working tree; "
            f"make the plan again here: {plan_out_command(plan_file)}",
        )
    return tuple(paths)


def outside_working_tree(paths: Sequence[str]) -> list[str]:
    """The paths that do not lie inside the working directory (through links too)."""
    here = Path.cwd().resolve()
    outside = []
    for given in paths:
        try:
            inside = (here / given).resolve().is_relative_to(here)
        except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL in the name
            inside = False
        if not inside:
            outside.append(given)
    return outside


class _NumberOutOfRange(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _bounded_int(text: str) -> int:
    # 19 digits is the most a 64-bit integer has; longer cannot be a plan's count or position.
    if len(text.lstrip("-")) > 19:
        raise _NumberOutOfRange(text)
    return int(text)


def _bounded_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberOutOfRange(text)
    return value


def _no_constant(text: str) -> float:
    raise _NumberOutOfRange(text)  # NaN, Infinity: not JSON, and no plan holds one


def _load_json(path: Path) -> dict[str, Any]:
    raw = _plan_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReconcilerError(
            f"cannot read plan file {shown(path)}: it is not UTF-8 ({exc.reason})",
            hint=_what_a_plan_is(path),
        ) from None
    try:
        data = json.loads(
            text, parse_int=_bounded_int, parse_float=_bounded_float, parse_constant=_no_constant
        )
    except json.JSONDecodeError as exc:
        raise ReconcilerError(
            f"{shown(path)} is not a plan: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            hint=_what_a_plan_is(path),
        ) from None
    except _NumberOutOfRange as exc:
        line, column = offset_position(text, max(text.find(exc.text), 0))
        number = exc.text if len(exc.text) <= 30 else f"a number of {len(exc.text)} characters"
        raise ReconcilerError(
            f"{shown(path)} is not a plan: {number} at line {line} column {column} is out of range "
            "(numbers in a plan are finite and fit in 64 bits)",
            hint=_what_a_plan_is(path),
        ) from None
    except RecursionError:
        data = None  # nested deeper than the parser goes: refused just below
    if not _within_depth(data):
        raise ReconcilerError(
            f"{shown(path)} is not a plan: values are nested more than {MAX_DEPTH} levels deep",
            hint=_what_a_plan_is(path),
        )
    if not isinstance(data, dict) or "format_version" not in data:
        raise ReconcilerError(
            f"{shown(path)} is not a plan: it has no format_version",
            hint=_what_a_plan_is(path),
        )
    return data


def _plan_bytes(path: Path) -> bytes:
    """The file's bytes: a regular file within the size limit (a FIFO or /dev/zero is refused at once)."""
    if not path.exists() and not path.is_symlink():
        raise ReconcilerError(
            f"plan file {shown(path)} does not exist",
            hint=f"make one with: reconciler plan --out {shown(path)}",
        )
    try:
        raw, problems = read_bytes(path, shown(path))
    except ReconcilerError as exc:
        raise ReconcilerError(f"cannot read plan file {shown(path)}: {exc.message}", hint=exc.hint) from None
    if raw is None:
        reason = problems[0].message if problems else "it cannot be read"
        hint = _what_a_plan_is(path)
        if problems and problems[0].rule == "file-too-large" and may_write(path):
            hint += f"; if this one is, raise the limit with {ENV_MAX_FILE_BYTES}"
        raise ReconcilerError(f"cannot read plan file {shown(path)}: {reason}", hint=hint)
    return raw


def _what_a_plan_is(path: Path) -> str:
    if may_write(path):
        return f"a plan file is what `reconciler plan --out {shown(path)}` writes"
    return f"a plan file is what `reconciler plan --out PLAN` writes; {shown(path)} is not one"


def _within_depth(data: Any) -> bool:
    """Whether no container of `data` is nested more than MAX_DEPTH deep (None: deeper than that)."""
    if data is None:
        return False
    level, depth = [data], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return False
        below: list[Any] = []
        for node in level:
            values = node.values() if isinstance(node, dict) else node
            below += [value for value in values if isinstance(value, dict | list)]
        level = below
    return True


def _schema_problem(data: dict[str, Any]) -> str | None:
    import jsonschema_rs

    from reconciler.resources import schema_path

    schema = json.loads(schema_path(SCHEMA_NAME).read_text(encoding="utf-8"))
    validator = jsonschema_rs.validator_for(schema)
    for error in validator.iter_errors(data):
        where = "/".join(str(part) for part in error.instance_path) or "the top level"
        return f"at {where}: {error.message}"
    return None
