"""The benchmark runs with one command and prints the table it should: a tiny size, one run each."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import clean_env

REPO = Path(__file__).resolve().parents[2]
NUMBER = r"\d+\.\d\d"
MB = r"\d+"
PEER = importlib.util.find_spec("octodns") is not None
TERRAFORM = shutil.which("terraform") is not None


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--out", str(tmp_path), *args],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_tiny_run_prints_every_row(tmp_path: Path) -> None:
    result = _run(tmp_path, "--sizes", "200", "--runs", "1", "--warmup", "0", "--no-http")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()

    peers = [p for p in ("octoDNS " if PEER else "", "Terraform " if TERRAFORM else "") if p]
    versus = "against " + ".* and ".join(peers) if peers else r"\(no peer run\)"
    assert re.match(rf"reconciler \d+\.\d+\.\d+ {versus}.*; \d+ CPUs \(.+\), Python 3\.", lines[0]), lines[0]
    assert re.fullmatch(r"load average when the run started: \d+\.\d\d \(.+\)", lines[1]), lines[1]
    table = lines[lines.index("") + 1 :]
    assert table[:2] == [
        f"{'':<23}validate{'':<14}plan{'':<16}apply{'':<11}octoDNS dry run     plan /",
        "estate (runs)          s    MB  floor      s    MB  floor      s    MB changes"
        "      s    MB creates  octoDNS",
    ]
    example = rf"example \(1\) +{NUMBER} +{MB} +{NUMBER}x +{NUMBER} +{MB} +{NUMBER}x +- +- +-"
    assert re.fullmatch(example, table[2]), table[2]
    # 200 subscriptions, 3% pending: the changes apply made; octoDNS creates 3% of 200 records.
    peer_cells = rf"{NUMBER} +{MB} +6 +{NUMBER}x" if PEER else "- +-"
    cells = rf"{NUMBER} +{MB} +{NUMBER}x"
    row = rf"200 \(1\) +{cells} +{cells} +{NUMBER} +{MB} +[1-9]\d* +{peer_cells}"
    assert re.fullmatch(row, table[3]), table[3]
    assert table[4] == "  200: 200 subscriptions, 271 sites, 138 orgs, 2 desired-state files (0.0 MB)"
    floors = rf"validate floor +{NUMBER} +{MB} +plan floor +{NUMBER} +{MB}"
    assert re.fullmatch(rf"  example +{floors}", table[6]), table[6]
    assert re.fullmatch(rf"  200 +{floors}", table[7]), table[7]
    if TERRAFORM:  # 2% of 200: four changes on each side
        terraform = lines[
            lines.index("size (runs)            s    MB changes      s    MB updates  terraform") + 1
        ]
        assert re.fullmatch(rf"200 \(1\) +{NUMBER} +{MB} +4 +{NUMBER} +{MB} +4 +\d+\.\d{{3}}x", terraform)

    targets = lines[lines.index("targets:") + 1 :]
    verdict = r"(met|NOT MET)"
    assert re.fullmatch(rf"  example validate   at most 0.3 s +{NUMBER} s, {MB} MB +{verdict}", targets[0])
    assert re.fullmatch(rf"  example plan       at most 0.5 s +{NUMBER} s, {MB} MB +{verdict}", targets[1])
    assert re.fullmatch(r"finished in \d+ s", targets[-1]), targets[-1]
    assert (tmp_path / "estate-200" / "pristine.db").is_file()


def test_a_command_that_fails_stops_the_run_and_says_which(tmp_path: Path) -> None:
    result = _run(tmp_path, "--sizes", "200", "--runs", "1", "--warmup", "0", "--no-peer", "--no-http")
    assert result.returncode == 0, result.stderr
    # Break the cached estate: the next run's validate fails, and the run stops there and says why.
    (tmp_path / "estate-200" / "desired-state" / "broken.yaml").write_text("version: 1\nsites: 3\n")
    result = _run(tmp_path, "--sizes", "200", "--runs", "1", "--warmup", "0", "--no-peer", "--no-http")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-3:] == [
        f"validate failed in {tmp_path / 'estate-200'} (exit 1):",
        "desired-state/broken.yaml:2:8: error[schema]: expected a list, got the integer 3",
        "1 error in 1 file",
    ]
