"""`plan --format runbook` through the real CLI and the stand-in: the checklist a pull request shows,
with every value from the console or the files inert in the comment."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.seedfile import load_seed
from tests.atlassian.conftest import atlassian_env
from tests.conftest import REPO_ROOT
from tests.helpers import assert_golden, clean_env
from tests.http.conftest import Served, sandbox_db, start_server

GOLDEN = Path(__file__).parent / "golden" / "runbook"
EXAMPLE = REPO_ROOT / "reconciler" / "sandbox" / "example-console.yaml"
HOSTILE = "@acme/admins [x](https://evil.example) www.evil.example <b>b</b> *e* `c` | #1 _u_"


def runbook(estate: Path, url: str) -> str:
    planned = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--format", "runbook"],
        cwd=estate, env=clean_env(**atlassian_env(url)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    return planned.stdout.replace(url, "http://127.0.0.1:PORT")


def test_the_runbook_of_the_example_estate(estate: Path, stand_in: Served, update_golden: bool) -> None:
    assert_golden(GOLDEN / "example.md", runbook(estate, stand_in.url), update_golden)


@pytest.fixture
def hostile_stand_in(estate: Path) -> Iterator[Served]:
    """The stand-in over the example console, its org name made of markup, and a billing account
    the facts declare managed by a partner whose name is markup too."""
    accounts = estate / "billing" / "accounts.yaml"
    facts = accounts.read_text(encoding="utf-8").replace(
        "managed_by: direct\n", f"managed_by: partner\n    partner: {HOSTILE!r}\n"
    )
    accounts.write_text(facts, encoding="utf-8")
    seed = EXAMPLE.read_text(encoding="utf-8")
    seed = seed.replace("name: ACME Corp", f"name: {HOSTILE!r}")
    (estate / "seed.yaml").write_text(seed, encoding="utf-8")
    sandbox_db(estate).unlink()
    SandboxConsole.create(sandbox_db(estate), load_seed(estate / "seed.yaml")).close()
    served = start_server(estate, "--api", "atlassian", env={"RECONCILER_SANDBOX_DELAY": "0"})
    yield served
    assert served.stop() == 0


def test_names_from_the_console_stay_inert_in_the_comment(
    estate: Path, hostile_stand_in: Served, update_golden: bool
) -> None:
    text = runbook(estate, hostile_stand_in.url)
    assert_golden(GOLDEN / "hostile.md", text, update_golden)
    html = MarkdownIt("commonmark").enable("table").render(text)
    outside = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    # The runbook's own links (admin.atlassian.com, the sites) are its only ones.
    outside = re.sub(r"https://(admin\.atlassian\.com(/billing)?|[a-z-]+\.atlassian\.net)\b", "", outside)
    # Each of the 3 steps names the org, the partner and the billing account facts it rests on.
    assert html.count("<code>@acme/admins</code>") == 3 * 3
    assert not re.search(r"<(a|img|b|i|em|script)\b|@|#|https?:|www\.", outside), outside
