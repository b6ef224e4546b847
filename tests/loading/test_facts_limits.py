"""Billing facts are read with the limits of every YAML file: aliases, numbers, directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.loading.facts import load_facts
from reconciler.loading.yamlfile import DiagnosticsError


def test_an_alias_bomb_in_the_facts_is_refused_before_it_expands(tmp_path: Path) -> None:
    big = "x" * 1_000_000
    (tmp_path / "billing.yaml").write_text(
        f"version: 1\nnote: &big {big}\nall: [{', '.join(['*big'] * 50)}]\n"
    )
    with pytest.raises(DiagnosticsError) as refused:
        load_facts(str(tmp_path))
    assert [(d.rule, d.message) for d in refused.value.diagnostics] == [
        ("yaml-limit", "aliases expand to more than 4000000 characters: refusing to expand them")
    ]


def test_a_huge_number_in_the_facts_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "billing.yaml").write_text("version: 1\nsubscriptions:\n  - id: " + "7" * 5000 + "\n")
    with pytest.raises(DiagnosticsError) as refused:
        load_facts(str(tmp_path))
    assert [(d.rule, str(d.source)) for d in refused.value.diagnostics] == [
        ("yaml-limit", f"{tmp_path.as_posix()}/billing.yaml:3:9")
    ]


def test_a_directory_link_in_the_facts_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "billing.yaml").write_text("version: 1\n")
    (tmp_path / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    with pytest.raises(ReconcilerError) as refused:
        load_facts(str(tmp_path))
    assert refused.value.message == f"{tmp_path.as_posix()}/linked is a link to a directory: refused"
