"""A console snapshot round-trips: `sandbox show --format json` fed to `sandbox init --from`
gives the same console, so a team can rehearse on a copy of its estate. Real processes, real files.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxConsole
from tests.conftest import REPO_ROOT, RunCli
from tests.sandbox.consoles import ALICE

SANDBOX = Path(__file__).resolve().parent
SEEDS = {
    "every-tab": SANDBOX / "golden" / "show" / "every-tab" / "console.yaml",
    "lifecycle": SANDBOX / "data" / "lifecycle-console.yaml",
    "rules": SANDBOX / "data" / "rules-console.yaml",
}


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def snapshot(run_cli: RunCli, workdir: Path) -> str:
    return ok(run_cli("sandbox", "show", "--format", "json", cwd=workdir)).stdout


def copy_of(run_cli: RunCli, original: Path, tmp_path: Path) -> tuple[str, str]:
    """(the original's snapshot, the snapshot of a console created from it in another directory)."""
    taken = snapshot(run_cli, original)
    (tmp_path / "snapshot.json").write_text(taken, encoding="utf-8")
    rehearsal = tmp_path / "rehearsal"
    rehearsal.mkdir()
    ok(run_cli("sandbox", "init", "--from", str(tmp_path / "snapshot.json"), cwd=rehearsal))
    return taken, snapshot(run_cli, rehearsal)


@pytest.mark.parametrize("seed", sorted(SEEDS), ids=str)
def test_a_snapshot_gives_the_same_console(run_cli: RunCli, tmp_path: Path, seed: str) -> None:
    original = tmp_path / "original"
    original.mkdir()
    ok(run_cli("sandbox", "init", "--from", str(SEEDS[seed]), cwd=original))
    taken, again = copy_of(run_cli, original, tmp_path)
    assert again == taken


def test_a_snapshot_of_an_estate_after_apply_and_time_gives_the_same_console(
    run_cli: RunCli, tmp_path: Path
) -> None:
    original = tmp_path / "original"
    shutil.copytree(REPO_ROOT / "desired-state", original / "desired-state")
    env = {"RECONCILER_SANDBOX_DELAY": "0"}
    ok(run_cli("sandbox", "init", cwd=original))
    ok(run_cli("apply", "--auto-approve", cwd=original, env=env))
    ok(run_cli("sandbox", "advance", "--days", "400", cwd=original))
    taken, again = copy_of(run_cli, original, tmp_path)
    assert again == taken and '"status": "active"' in taken and "acme-align" in taken
    assert "token" not in taken
    # The copy plans exactly like the original (SUB-1003 has started since: its talent is due).
    shutil.copytree(original / "desired-state", tmp_path / "rehearsal" / "desired-state")
    plans = [run_cli("plan", "--format", "json", cwd=w, env=env) for w in (original, tmp_path / "rehearsal")]
    assert plans[0].stdout == plans[1].stdout and '"id": "provision:SUB-1003:talent"' in plans[0].stdout


def test_a_snapshot_taken_while_work_is_in_progress_is_refused_with_where(
    run_cli: RunCli, tmp_path: Path
) -> None:
    original = tmp_path / "original"
    original.mkdir()
    ok(run_cli("sandbox", "init", "--from", str(SEEDS["every-tab"]), cwd=original))
    with SandboxConsole(original / ".reconciler" / "sandbox.db") as console:  # a one-hour delay
        console.provision(ALICE, "SUB-2001", "focus", "labs", "provision-focus")
        console.create_site(ALICE, "acme-corp", "brand-new", "create-brand-new")
    (tmp_path / "snapshot.json").write_text(snapshot(run_cli, original), encoding="utf-8")
    refused = run_cli("sandbox", "init", "--from", "snapshot.json")
    assert refused.returncode == 1 and refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert lines[0] == "error: snapshot.json is not a valid console seed:"
    assert lines[-1] == "hint: fix the seed and run 'reconciler sandbox init --from FILE' again"
    problems = "\n".join(lines[1:-1])
    assert (
        "error[pending]: site brand-new was still being created in org acme-corp in this snapshot" in problems
    )
    assert (
        "error[pending]: focus of SUB-2001 was still being provisioned to labs in this snapshot" in problems
    )
    assert "hint: take the snapshot again once they complete (within provisioning_delay_seconds)" in problems


def test_a_default_actor_that_is_not_the_first_user_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "seed.json").write_text(
        '{"default_actor": "bob@acme.example", "users": [{"email": "alice@acme.example"}, '
        '{"email": "bob@acme.example"}]}',
        encoding="utf-8",
    )
    refused = run_cli("sandbox", "init", "--from", "seed.json")
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[1:3] == [
        "seed.json:1:19: error[default-actor]: default_actor bob@acme.example is not the first user "
        "(the first user is alice@acme.example)",
        "  hint: list the default actor first",
    ]
