"""`reconciler validate` and `reconciler schema` as a user runs them: a real process, exit codes, streams."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO_ROOT, RunCli


def example(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    return tmp_path


def test_the_example_estate_is_valid(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("validate", cwd=example(tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "desired-state: 3 files, 3 sites, 3 subscriptions, valid\n",
        "",
    )


def test_paths_are_shown_as_given(run_cli: RunCli, tmp_path: Path) -> None:
    example(tmp_path)
    result = run_cli("validate", "./desired-state/", "desired-state/sites.yaml", cwd=tmp_path)
    assert (
        result.stdout
        == "./desired-state/, desired-state/sites.yaml: 3 files, 3 sites, 3 subscriptions, valid\n"
    )
    result = run_cli("validate", "--format", "json", "./desired-state/", cwd=tmp_path)
    assert json.loads(result.stdout)["files"] == [
        "desired-state/acme-corp.yaml",
        "desired-state/acme-labs.yaml",
        "desired-state/sites.yaml",
    ]


def test_an_invalid_estate_exits_1_in_every_format(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "desired-state").mkdir()
    (tmp_path / "desired-state" / "a.yaml").write_text("version: 1\nsites:\n  - name: acme\n    orgg: x\n")
    text = run_cli("validate", cwd=tmp_path)
    assert text.returncode == 1
    assert text.stdout == (
        "desired-state/a.yaml:3:5: error[schema]: missing required key 'org'\n"
        "desired-state/a.yaml:4:5: error[unknown-key]: unknown key 'orgg'\n"
        "  hint: did you mean 'org'? keys here are name, org, create\n"
        "2 errors in 1 file\n"
    )
    as_json = run_cli("validate", "--format", "json", cwd=tmp_path)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert (report["valid"], report["error_count"], report["warning_count"]) == (False, 2, 0)
    github = run_cli("validate", "--format", "github", cwd=tmp_path)
    assert github.returncode == 1
    assert github.stdout.splitlines()[0] == (
        "::error file=desired-state/a.yaml,line=3,col=5::[schema] missing required key 'org'"
    )


def test_a_missing_path_is_a_short_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("validate", "nowhere", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: nowhere does not exist\n"
        "hint: pass desired-state files or directories "
        "(by default, desired-state/ in the current directory)\n"
    )


def test_a_missing_path_still_answers_in_the_format_asked_for(run_cli: RunCli, tmp_path: Path) -> None:
    # A `| jq` step or a CI annotation step must not get an empty stdout.
    hint = "pass desired-state files or directories (by default, desired-state/ in the current directory)"
    as_json = run_cli("validate", "nowhere", "--format", "json", cwd=tmp_path)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {
        "valid": False,
        "files": [],
        "error_count": 1,
        "warning_count": 0,
        "diagnostics": [
            {
                "file": None,
                "line": None,
                "column": None,
                "severity": "error",
                "rule": "path",
                "message": "nowhere does not exist",
                "hint": hint,
            }
        ],
    }
    as_github = run_cli("validate", "nowhere", "--format", "github", cwd=tmp_path)
    assert as_github.returncode == 1
    assert as_github.stdout.splitlines()[0] == f"::error::[path] nowhere does not exist%0Ahint: {hint}"


def test_the_size_limit_comes_from_the_environment(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "desired-state").mkdir()
    (tmp_path / "desired-state" / "big.yaml").write_text("version: 1\n" + "# padding\n" * 40)
    (tmp_path / "desired-state" / "small.yaml").write_text("version: 1\n")
    result = run_cli("validate", cwd=tmp_path, env={"RECONCILER_MAX_FILE_BYTES": "300"})
    assert result.returncode == 1
    assert result.stdout == (
        "desired-state/big.yaml:1:1: error[file-too-large]: "
        "file is 411 bytes, more than the limit of 300 bytes\n"
        "  hint: split it into several files, or raise the limit with RECONCILER_MAX_FILE_BYTES\n"
        "1 error in 1 file\n"
    )
    assert run_cli("validate", cwd=tmp_path, env={"RECONCILER_MAX_FILE_BYTES": "411"}).returncode == 0


def test_a_tag_is_never_executed(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "desired-state").mkdir()
    (tmp_path / "desired-state" / "evil.yaml").write_text(
        'version: 1\nsites: !!python/object/apply:os.system ["touch owned"]\n'
    )
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 1
    assert "error[yaml-tag]" in result.stdout.splitlines()[0]
    assert not (tmp_path / "owned").exists()


def test_schema_prints_the_schema_file(run_cli: RunCli) -> None:
    result = run_cli("schema")
    assert result.returncode == 0
    assert result.stdout == (REPO_ROOT / "schemas" / "desired-state.schema.json").read_text(encoding="utf-8")
