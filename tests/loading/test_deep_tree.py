"""A desired-state tree nested deeper than Python's recursion limit is read like any other."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import clean_env

DEPTH = 1100  # past the recursion limit (1,000) that os.walk of Python 3.11 hits


@pytest.fixture
def deep_tree(tmp_path: Path) -> Iterator[Path]:
    """desired-state/a/a/.../a/sites.yaml, DEPTH levels; removed bottom up (rmtree recurses too)."""
    folders = [tmp_path / "desired-state"]
    for _ in range(DEPTH):
        folders.append(folders[-1] / "a")
    for folder in folders:
        folder.mkdir()
    deepest = folders[-1] / "sites.yaml"
    deepest.write_text("version: 1\nsites:\n  - name: acme\n    org: acme-corp\n", encoding="utf-8")
    try:
        yield deepest
    finally:
        deepest.unlink()
        for folder in reversed(folders):
            os.rmdir(folder)


def test_a_tree_deeper_than_the_recursion_limit_is_read(tmp_path: Path, deep_tree: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "--format", "github"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr, done.stdout) == (
        0,
        "",
        "desired-state: 1 file, 1 site, 0 subscriptions, valid\n",
    )
