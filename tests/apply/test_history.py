"""`reconciler history` as a user reads it, against golden files (times, ids and pids masked)."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler.store.identity import host_name, user_name
from tests.apply.conftest import RUN_ID, Estate
from tests.helpers import assert_golden

GOLDEN = Path(__file__).parent / "golden"
SHA = "0123456789abcdef0123456789abcdef01234567"


def mask(text: str) -> str:
    """Mask what changes between runs with placeholders of the same width, so columns stay aligned."""
    ids: dict[str, str] = {}
    text = RUN_ID.sub(lambda m: ids.setdefault(m.group(), f"YYYYMMDD-HHMMSS-run{len(ids) + 1:03d}"), text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "YYYY-MM-DDTHH:MM:SSZ", text)
    text = re.sub(r"op-[0-9a-f]{32}", "op-" + "0" * 32, text)
    text = re.sub(r"\b\d\.\ds\b", "0.0s", text)
    return re.sub(rf"{re.escape(user_name())}@{re.escape(host_name())} pid \d+", "USER@HOST pid PID", text)


def three_runs(estate: Estate) -> None:
    assert (
        estate.cli("apply", "--auto-approve", "--parallelism", "1", env={"GITHUB_SHA": SHA}).returncode == 0
    )
    assert estate.cli("apply", "--auto-approve").returncode == 0
    # A change to approve (with nothing to do, any checksum would do): cancelling SUB-1001.
    estate.write_desired(
        {"acme.yaml": "version: 1\nsubscriptions:\n  - id: SUB-1001\n    status: cancelled\n"}
    )
    assert (
        estate.cli(
            "apply", "--checksum", "sha256:" + "0" * 64, env={"CI_COMMIT_SHA": "feedbeef" * 5}
        ).returncode
        == 1
    )


def test_history_lists_runs_newest_first_and_each_runs_attempts(estate: Estate, update_golden: bool) -> None:
    three_runs(estate)
    listed = estate.cli("history")
    assert listed.returncode == 0
    assert_golden(GOLDEN / "history" / "runs.txt", mask(listed.stdout), update_golden)

    newest, _, oldest = estate.runs()
    one = estate.cli("history", "--run", oldest.id)
    assert one.returncode == 0
    assert_golden(GOLDEN / "history" / "run.txt", mask(one.stdout), update_golden)
    refused = estate.cli("history", "--run", newest.id)
    assert_golden(GOLDEN / "history" / "refused-run.txt", mask(refused.stdout), update_golden)

    lines = estate.cli("history", "--limit", "1").stdout.splitlines()
    assert len(lines) == 2 and lines[1].split()[-2:] == ["refused", "-"]
