"""Which provider a URL means, and which console it names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.providers.base import ProviderSettings
from reconciler.providers.registry import console_identity, open_provider
from tests.conftest import REPO_ROOT, RunCli


@pytest.mark.parametrize(
    ("spellings", "identity"),
    [
        (
            ["http://127.0.0.1:8080", "http://LOCALHOST:8080/", "HTTP://localhost:8080"],
            "http://127.0.0.1:8080",
        ),
        (
            ["https://console.example.com", "https://Console.Example.com:443/"],
            "https://console.example.com:443",
        ),
        (
            ["https://console.example.com/api/", "https://console.example.com:443/api"],
            "https://console.example.com:443/api",
        ),
        (["http://[::1]:9000/"], "http://[::1]:9000"),
    ],
)
def test_one_console_has_one_identity_however_its_url_is_spelled(spellings: list[str], identity: str) -> None:
    assert {console_identity(url) for url in spellings} == {identity}


def test_a_sandbox_is_named_by_its_real_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "sub")
    real = f"sandbox:{(tmp_path / 'sub' / 'x.db').resolve()}"
    assert console_identity("sandbox:sub/x.db") == real
    assert console_identity("sandbox:./sub/../sub/x.db") == real
    assert console_identity("sandbox:link/x.db") == real
    assert console_identity("sandbox:other.db") != real


def test_an_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(ReconcilerError) as raised:
        open_provider(ProviderSettings(url="ftp://example.com"))
    assert raised.value.message == "unknown provider scheme 'ftp'"
    assert raised.value.hint is not None and raised.value.hint.startswith(
        "known schemes: atlassian, http, https, sandbox"
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("no_such_module_here:factory", "ModuleNotFoundError: No module named 'no_such_module_here'"),
        ("json:no_such_factory", "AttributeError"),
    ],
    ids=["missing-module", "missing-attribute"],
)
def test_a_third_party_provider_that_fails_to_load_is_named(
    run_cli: RunCli, tmp_path: Path, value: str, error: str
) -> None:
    """A plugin's failure is the plugin's: named with its package, never reported as reconciler's bug."""
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    info = tmp_path / "plugins" / "acme_console-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-console\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[reconciler.providers]\nacme = {value}\n")
    result = run_cli("plan", env={"PYTHONPATH": str(tmp_path / "plugins"), "RECONCILER_PROVIDER": "acme:x"})
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: the provider 'acme' (from the acme-console package) failed to load: ")
    assert error in lines[0]
    assert lines[1].startswith(f"hint: its entry point is {value}")
    assert "bug" not in result.stderr and not (tmp_path / ".reconciler" / "logs").exists()
