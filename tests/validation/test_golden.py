"""Golden diagnostics: one folder per case under tests/golden/validate/, each with a desired-state/
directory and the expected output of `reconciler validate` in every format.

Cases named `valid-*` must validate (exit 0); every other case must fail (exit 1).
`pytest --update-golden` rewrites the expected files; review the diff like code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import run_cli
from tests.helpers import assert_golden

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "validate"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "desired-state").is_dir())
OUTPUTS = {"text": "expected.txt", "json": "expected.json", "github": "expected.github.txt"}


@pytest.mark.parametrize("fmt", sorted(OUTPUTS))
@pytest.mark.parametrize("case", CASES)
def test_validate_output_matches_golden(
    case: str,
    fmt: str,
    update_golden: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(GOLDEN / case)
    monkeypatch.delenv("RECONCILER_MAX_FILE_BYTES", raising=False)
    code = run_cli(["validate", "--format", fmt])
    captured = capsys.readouterr()
    assert captured.err == ""
    assert code == (0 if case.startswith("valid") else 1)
    assert_golden(GOLDEN / case / OUTPUTS[fmt], captured.out, update_golden)


def test_every_rule_has_a_golden_case() -> None:
    expected = {
        "encoding",
        "yaml-syntax",
        "yaml-tag",
        "duplicate-key",
        "yaml-limit",
        "version",
        "schema",
        "unknown-key",
        "unknown-app",
        "duplicate-site",
        "duplicate-subscription",
        "site-name",
        "id",
        "app-in-product",
    }
    seen = set()
    for case in CASES:
        text = (GOLDEN / case / OUTPUTS["text"]).read_text(encoding="utf-8")
        seen |= {rule for rule in expected if f"error[{rule}]" in text}
    assert seen == expected
