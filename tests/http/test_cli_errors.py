"""What a user sees when the http provider is misconfigured: one error, one hint, no request made."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, RunCli
from tests.http.conftest import TOKEN, ServerFactory, http_env


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


CONSOLE_API_HINT = (
    "hint: RECONCILER_PROVIDER (or --provider) may point at the wrong API: an http(s):// URL is read "
    "as the console API of 'reconciler sandbox serve' (docs/http.md); for the Atlassian Admin API use "
    "atlassian:URL (docs/atlassian.md)\n"
)
ADMIN_API_HINT = (
    "hint: RECONCILER_PROVIDER (or --provider) may point at the wrong API: atlassian:URL is read as "
    "the Atlassian Admin API (docs/atlassian.md); for the console API of 'reconciler sandbox serve' "
    "use its http(s):// URL without atlassian: (docs/http.md)\n"
)


@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")])
def test_the_console_api_pointed_at_the_admin_api_says_so(
    estate: Path, run_cli: RunCli, serve: ServerFactory, command: tuple[str, ...]
) -> None:
    admin_api = serve("--api", "atlassian")
    # A query (where a token may be) never reaches the message.
    result = run_cli(*command, env=http_env(f"{admin_api.url}/?access_token=hunter2"))
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"error: the console at {admin_api.url} has no GET /v1/me (HTTP 404: no such resource: /v1/me): "
        "it does not speak the API this provider reads\n" + CONSOLE_API_HINT,
    )


def test_the_admin_api_pointed_at_the_console_api_says_so(
    estate: Path, run_cli: RunCli, serve: ServerFactory
) -> None:
    shutil.copytree(REPO_ROOT / "billing", estate / "billing")
    console_api = serve()
    env = {"RECONCILER_PROVIDER": f"atlassian:{console_api.url}", "RECONCILER_ATLASSIAN_API_KEY": TOKEN}
    result = run_cli("plan", env=env)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"error: the console at {console_api.url} has no GET /admin/v1/orgs (HTTP 404: no such resource: "
        "/admin/v1/orgs): it does not speak the API this provider reads\n" + ADMIN_API_HINT,
    )
