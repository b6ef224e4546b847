"""The second peer: `terraform plan` of N `terraform_data` resources, a share of them changed.

`terraform_data` is built into Terraform (the `terraform.io/builtin/terraform` provider): `terraform
init` downloads nothing, so the peer runs offline. The workspace's state holds N resources whose
`input` is `value-I`; the configuration gives a share of them another input, so the plan updates
those in place (the runner checks the count it prints). The state is written directly in
Terraform's state format (version 4), as `terraform apply` would have left it, which takes a
fraction of a second where applying N resources would take minutes. Terraform is needed only
here, and is found on PATH; without it the runner says so and goes on.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

from harness import ChildRun, clean_env

CHANGES = re.compile(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")
PROVIDER = 'provider["terraform.io/builtin/terraform"]'


def executable() -> str | None:
    return shutil.which("terraform")


def version() -> str | None:
    """Terraform's version, or None when `terraform` is not on PATH."""
    found = executable()
    if found is None:
        return None
    try:
        shown = subprocess.run([found, "version", "-json"], capture_output=True, text=True, timeout=60)
        return str(json.loads(shown.stdout)["terraform_version"])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


def command() -> list[str]:
    """`terraform plan` as CI runs it: no prompt, no colour, no lock (one process, one workspace)."""
    return [executable() or "terraform", "plan", "-input=false", "-no-color", "-lock=false"]


def _name(index: int) -> str:
    return f"r{index:06d}"


def _state(resources: int, version: str) -> str:
    def resource(index: int) -> dict[str, object]:
        value = {"value": f"value-{index}", "type": "string"}
        attributes = {"id": f"id-{index:06d}", "input": value, "output": value, "triggers_replace": None}
        instance = {"schema_version": 0, "attributes": attributes, "sensitive_attributes": []}
        return {
            "mode": "managed",
            "type": "terraform_data",
            "name": _name(index),
            "provider": PROVIDER,
            "instances": [instance],
        }

    state = {
        "version": 4,
        "terraform_version": version,
        "serial": 1,
        "lineage": "00000000-0000-4000-8000-000000000000",
        "outputs": {},
        "resources": [resource(i) for i in range(resources)],
        "check_results": None,
    }
    return json.dumps(state)


def workspace(folder: Path, resources: int, changed: float, seed: int = 1) -> tuple[Path, int]:
    """folder/{main.tf,terraform.tfstate}, initialised; returns the folder and the updates due."""
    due = set(random.Random(seed).sample(range(resources), round(resources * changed)))
    found = version() or "unknown"
    stamp = folder / "workspace.stamp"
    wanted = f"{resources} {changed} {seed} {found}"
    if stamp.is_file() and stamp.read_text() == wanted:
        return folder, len(due)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = "".join(
        f'resource "terraform_data" "{_name(i)}" {{\n  input = "value-{i}{"-changed" * (i in due)}"\n}}\n'
        for i in range(resources)
    )
    (folder / "main.tf").write_text(config, encoding="utf-8")
    (folder / "terraform.tfstate").write_text(_state(resources, found), encoding="utf-8")
    init = subprocess.run(
        [executable() or "terraform", "init", "-input=false", "-no-color"],
        cwd=folder, env=clean_env(TF_IN_AUTOMATION="1"), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if init.returncode != 0:
        raise SystemExit(f"terraform init failed in {folder}:\n{init.stdout}{init.stderr}")
    stamp.write_text(wanted)
    return folder, len(due)


def updates(run: ChildRun) -> int | None:
    """How many resources the plan updates (None when it printed no plan line)."""
    found = CHANGES.search(run.output)
    return int(found.group(2)) if found else None
