"""A file with thousands of problems: the first MAX_DIAGNOSTICS are explained and shown, then one note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.commands import validate
from reconciler.loading.yamlfile import YamlDocument
from reconciler.validation import schema as schema_module
from reconciler.validation.capped import MAX_DIAGNOSTICS

NOTE = "note[too-many-diagnostics]: stopped after 1,000 diagnostics in this file: {} not shown"


def write(tmp_path: Path, items: list[str]) -> str:
    path = tmp_path / "many.yaml"
    path.write_text("version: 1\nsubscriptions:\n" + "".join(f"  - {item}\n" for item in items))
    return str(path)


def bogus(tmp_path: Path) -> str:
    return write(tmp_path, [f"{{id: S-{i}, bogus: 1}}" for i in range(5_000)])


def run(path: str, fmt: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = validate.run([path], fmt)
    return code, capsys.readouterr().out


def test_text_shows_the_cap_then_one_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = bogus(tmp_path)
    code, out = run(path, "text", capsys)
    lines = out.splitlines()
    assert code == 1
    assert sum(1 for line in lines if "error[unknown-key]" in line) == MAX_DIAGNOSTICS
    assert lines[-3:] == [
        f"{path}:1002:17: " + NOTE.format("more"),
        "  hint: fix these and run validate again",
        "1000 errors in 1 file",
    ]


def test_json_ends_with_the_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = bogus(tmp_path)
    code, out = run(path, "json", capsys)
    report = json.loads(out)
    assert code == 1
    assert (report["valid"], report["error_count"], report["warning_count"]) == (False, 1_000, 0)
    assert len(report["diagnostics"]) == MAX_DIAGNOSTICS + 1
    assert report["diagnostics"][-1] == {
        "file": path,
        "line": 1002,
        "column": 17,
        "severity": "note",
        "rule": "too-many-diagnostics",
        "message": "stopped after 1,000 diagnostics in this file: more not shown",
        "hint": "fix these and run validate again",
    }


def test_github_annotates_the_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(bogus(tmp_path), "github", capsys)
    lines = out.splitlines()
    assert len(lines) == MAX_DIAGNOSTICS + 2
    assert lines[-2].startswith("::warning file=")
    assert "[too-many-diagnostics] stopped after 1,000 diagnostics in this file: more not shown" in lines[-2]


def test_only_the_shown_errors_are_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"translate": 0, "locate": 0}
    translate, locate = schema_module._translate, YamlDocument.locate

    def counted_translate(*args: Any) -> Any:
        calls["translate"] += 1
        return translate(*args)

    def counted_locate(self: YamlDocument, *args: Any, **kwargs: Any) -> Any:
        calls["locate"] += 1
        return locate(self, *args, **kwargs)

    monkeypatch.setattr(schema_module, "_translate", counted_translate)
    monkeypatch.setattr(YamlDocument, "locate", counted_locate)
    run(bogus(tmp_path), "text", capsys)
    assert calls["translate"] <= MAX_DIAGNOSTICS + 1
    assert calls["locate"] <= MAX_DIAGNOSTICS + 1


def test_duplicates_are_counted_past_the_cap_not_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"locate": 0}
    locate = YamlDocument.locate

    def counted_locate(self: YamlDocument, *args: Any, **kwargs: Any) -> Any:
        calls["locate"] += 1
        return locate(self, *args, **kwargs)

    monkeypatch.setattr(YamlDocument, "locate", counted_locate)
    path = write(tmp_path, ["{id: S-1}"] * 5_000)
    code, out = run(path, "text", capsys)
    lines = out.splitlines()
    assert code == 1
    assert sum(1 for line in lines if "error[duplicate-subscription]" in line) == MAX_DIAGNOSTICS
    assert lines[-3] == f"{path}:1003:10: " + NOTE.format("3,999 more")
    assert calls["locate"] <= 2 * MAX_DIAGNOSTICS
