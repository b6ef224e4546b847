"""Which provider a URL means, and which console it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.providers.base import ProviderSettings
from reconciler.providers.registry import console_identity, open_provider


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
