"""The floor: what the machine itself needs to do a command's unavoidable work, as a whole process.

    python bench/floor.py plan DIR [--changes N]
    python bench/floor.py validate DIR

`plan`: parse every desired-state file of DIR/desired-state with yaml-rs (the parser `reconciler`
uses), read every row of every table of DIR/.reconciler/sandbox.db with sqlite3, and print a
JSON document of N plan-sized changes (by default 3% of the subscriptions read). `validate`:
parse the same files and check each against the desired-state JSON Schema with jsonschema-rs.
No model, no rule, no position: a `reconciler` command can only approach this from above.
Standard library, yaml-rs and jsonschema-rs only (the packages `reconciler` itself depends on).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import yaml_rs

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "desired-state.schema.json"


def desired_files(folder: Path) -> list[Path]:
    found = []
    for root, _dirs, names in os.walk(folder / "desired-state"):
        found += [Path(root) / n for n in names if n.endswith((".yaml", ".yml"))]
    return sorted(found)


def parsed(folder: Path) -> list[Any]:
    return [
        yaml_rs.loads(path.read_text(encoding="utf-8"), parse_datetime=False)
        for path in desired_files(folder)
    ]


def read_tables(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: db.execute(f'SELECT * FROM "{name}"').fetchall() for name in names}


def plan_json(count: int) -> str:
    """As many changes as the plan shows, with the fields and about the length of the real ones."""
    changes = [
        {
            "id": f"provision:SUB-{100000 + i}:focus",
            "action": "provision",
            "subscription": f"SUB-{100000 + i}",
            "app": "focus",
            "site": f"estate-site-{i}",
            "org": f"estate-site-{i}-org",
            "depends_on": [],
            "reason": "focus is not set up yet; the desired state puts it on estate-site",
            "source": {"file": "desired-state/estate-001.yaml", "line": i * 7 + 3, "column": 15},
        }
        for i in range(count)
    ]
    return json.dumps({"format_version": 1, "changes": changes}, indent=2, sort_keys=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("plan", "validate"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--changes", type=int, default=None, help="default: 3%% of the subscriptions")
    args = parser.parse_args(argv)
    docs = parsed(args.folder)
    if args.command == "validate":
        import jsonschema_rs

        validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text(encoding="utf-8")))
        valid = sum(validator.is_valid(doc) for doc in docs)
        print(f"{valid} of {len(docs)} files valid")
        return
    tables = read_tables(args.folder / ".reconciler" / "sandbox.db")
    subscriptions = sum(len(doc.get("subscriptions") or ()) for doc in docs)
    count = args.changes if args.changes is not None else round(subscriptions * 0.03)
    sys.stdout.write(plan_json(count))
    print(f"\n{sum(map(len, tables.values()))} rows read")


if __name__ == "__main__":
    main()
