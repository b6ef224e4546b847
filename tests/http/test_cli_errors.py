"""What a user sees when the http provider is misconfigured: one error, one hint, no request made."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.http.conftest import TOKEN


@pytest.mark.parametrize(
    "env, stderr",
    [
        (
            {"RECONCILER_PROVIDER": "http://console.example.com", "RECONCILER_TOKEN": TOKEN},
            "error: refusing plain http:// to console.example.com: the token would cross the network "
            "unencrypted\n"
            "hint: use https:// for a console on another machine; plain http:// is only for loopback "
            "(127.0.0.1, ::1, localhost)\n",
        ),
        (
            {"RECONCILER_PROVIDER": "http://127.0.0.1:9"},
            "error: the http provider needs an API token, and RECONCILER_TOKEN is not set\n"
            "hint: export RECONCILER_TOKEN=<your API token> (the sandbox's tokens are in its seed file)\n",
        ),
        (
            {"RECONCILER_PROVIDER": "https://ci:hunter2@console.example.com", "RECONCILER_TOKEN": TOKEN},
            "error: provider URL https://console.example.com carries credentials\n"
            "hint: remove them from the URL and put the API token in RECONCILER_TOKEN\n",
        ),
    ],
)
def test_misconfiguration_is_one_error_and_a_hint(
    estate: Path, run_cli: RunCli, env: dict[str, str], stderr: str
) -> None:
    result = run_cli("plan", env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == stderr
    assert "hunter2" not in result.stderr and TOKEN not in result.stderr
