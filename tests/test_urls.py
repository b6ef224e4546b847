"""A malformed --state or --provider URL is one clear error before anything is read, and no part of
what could be a password is shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunCli

SECRET = "s3cret-pw"
STATE_HINT = "hint: fix --state or RECONCILER_STATE, e.g. postgresql://USER@HOST:5432/DB"
PROVIDER_HINT = "hint: fix --provider or RECONCILER_PROVIDER, e.g. https://console.example.com"
BRACKETS = "an IPv6 host needs both its brackets, e.g. [::1]"
PORT = "its port is not a number from 1 to 65535"


@pytest.mark.parametrize(
    ("args", "env", "error", "hint"),
    [
        (
            ("history", "--state", f"postgresql://u:{SECRET}@[::1/db"),
            {},
            f"the state URL postgresql://***@[::1/db is not valid: {BRACKETS}",
            STATE_HINT,
        ),
        (
            ("history",),
            {"RECONCILER_STATE": f"postgresql://u:{SECRET}@[::1/db"},
            f"the state URL postgresql://***@[::1/db is not valid: {BRACKETS}",
            STATE_HINT,
        ),
        (
            ("locks", "--state", f"postgres://u:pa/{SECRET}@db.example:99999/db"),
            {},
            f"the state URL postgres://***@db.example:99999/db is not valid: {PORT}",
            STATE_HINT,
        ),
        (
            ("unlock", "lk-0123456789", "--state", f"postgresql://u@db.example:x/db?password={SECRET}"),
            {},
            f"the state URL postgresql://***@db.example:x/db?password=*** is not valid: {PORT}",
            STATE_HINT,
        ),
        (
            ("history", "--state", f"postgresql://u:1234/{SECRET}@db.example/db"),
            {},
            "the state URL postgresql://***@db.example/db is not valid: a user or password holding "
            "'/', '?' or '#' must spell it %2F, %3F or %23",
            STATE_HINT,
        ),
        (
            ("plan", "--provider", f"http://u:{SECRET}@[::1/"),
            {},
            f"the provider URL http://***@[::1/ is not valid: {BRACKETS}",
            PROVIDER_HINT,
        ),
        (
            ("apply", "--auto-approve", "--provider", "https://console.example.com:99999"),
            {},
            f"the provider URL https://console.example.com:99999 is not valid: {PORT}",
            PROVIDER_HINT,
        ),
        (
            ("import", "--provider", f"atlassian:https://u:{SECRET}@[::1/"),
            {},
            f"the provider URL atlassian:https://***@[::1/ is not valid: {BRACKETS}",
            PROVIDER_HINT,
        ),
    ],
    ids=[
        "state-flag",
        "state-env",
        "state-port",
        "state-query",
        "state-slash",
        "http",
        "https-port",
        "atlassian",
    ],
)
def test_a_malformed_url_is_refused_without_its_password(
    run_cli: RunCli, args: tuple[str, ...], env: dict[str, str], error: str, hint: str
) -> None:
    result = run_cli(*args, env=env, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [f"error: {error}", hint]


def test_a_sandbox_command_leaves_a_malformed_console_url_it_does_not_use_alone(run_cli: RunCli) -> None:
    # The sandbox commands work on their database: RECONCILER_PROVIDER naming a console over HTTP
    # is for plan and apply, and is not theirs to refuse.
    result = run_cli("sandbox", "show", env={"RECONCILER_PROVIDER": f"http://u:{SECRET}@[::1/"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Sandbox console sandbox:.reconciler/sandbox.db\n")


@pytest.mark.parametrize(
    ("command", "url"),
    [
        (("plan",), f"https://u:p@127.0.0.1:1/?access_token={SECRET}"),
        (("plan",), f"https://u:p@127.0.0.1:1/#{SECRET}"),
        (("plan",), f"https:///?token={SECRET}"),
        (("plan",), f"https://u@console.example/x?a=1&key={SECRET}#{SECRET}"),
        (("apply", "--auto-approve"), f"http://me:pw@127.0.0.1:1/api?t={SECRET}"),
        (
            ("sandbox", "serve", "--port", "0", "--provider"),
            f"atlassian:https://u:{SECRET}@api.example/?k={SECRET}",
        ),
        (("sandbox", "serve", "--port", "0", "--provider"), f"https://u:p@console.example/?k={SECRET}"),
    ],
    ids=[
        "query",
        "fragment",
        "no-host",
        "query-and-fragment",
        "apply-params",
        "serve-atlassian",
        "serve-https",
    ],
)
def test_a_refused_provider_url_is_shown_without_its_query_or_fragment(
    run_cli: RunCli, command: tuple[str, ...], url: str
) -> None:
    """A token may ride in a URL's query or fragment as well as in its userinfo: a message that
    names a refused URL shows neither."""
    args = (*command, url) if command[-1] == "--provider" else command
    env = {} if command[-1] == "--provider" else {"RECONCILER_PROVIDER": url}
    result = run_cli(*args, env={**env, "RECONCILER_TOKEN": "x"}, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert SECRET not in result.stdout + result.stderr


UNKNOWN_STORE_HINT = (
    "hint: --state / RECONCILER_STATE takes sqlite:PATH (e.g. sqlite:.reconciler/state.db) or "
    "postgresql://USER@HOST:PORT/DB"
)


@pytest.mark.parametrize(
    ("args", "env", "error", "hint"),
    [
        (("plan", "--state", "bogus"), {}, "unknown state store 'bogus'", UNKNOWN_STORE_HINT),
        (
            ("plan",),
            {"RECONCILER_STATE": f"postgresql+psycopg://u:{SECRET}@db.example/db"},
            "unknown state store 'postgresql+psycopg://***@db.example/db'",
            UNKNOWN_STORE_HINT,
        ),
        (
            ("apply", "--auto-approve", "--state", f"redis://:{SECRET}@cache.example"),
            {},
            "unknown state store 'redis://***@cache.example'",
            UNKNOWN_STORE_HINT,
        ),
        (
            ("history", "--state", f"mysql://u:pa/{SECRET}@db.example/x"),
            {},
            "unknown state store 'mysql://***@db.example/x'",
            UNKNOWN_STORE_HINT,
        ),
        (
            ("plan", "--state", f"sqlite://u:{SECRET}@host/state.db"),
            {},
            "the state store 'sqlite://***@host/state.db' names a host, not a file",
            "hint: use sqlite:PATH (e.g. sqlite:.reconciler/state.db) or sqlite:///ABSOLUTE/PATH",
        ),
        (
            ("locks", "--state", "sqlite://state.db"),
            {},
            "the state store 'sqlite://state.db' is ambiguous: 'state.db' stands where a URL names a host",
            "hint: use sqlite:state.db for a file relative to the current directory, or "
            "sqlite:///ABSOLUTE/PATH",
        ),
        (
            ("sandbox", "show", "--provider", f"sandbox://u:{SECRET}@host/console.db"),
            {},
            "the sandbox console 'sandbox://***@host/console.db' names a host, not a file",
            "hint: use sandbox:PATH (e.g. sandbox:.reconciler/sandbox.db) or sandbox:///ABSOLUTE/PATH",
        ),
        (
            ("sandbox", "show", "--provider", "sandbox://console.db"),
            {},
            "the sandbox console 'sandbox://console.db' is ambiguous: 'console.db' stands where a URL "
            "names a host",
            "hint: use sandbox:console.db for a file relative to the current directory, or "
            "sandbox:///ABSOLUTE/PATH",
        ),
    ],
    ids=[
        "plan-unknown",
        "driver-scheme",
        "apply-redis",
        "slash-in-password",
        "sqlite-userinfo",
        "sqlite-host",
        "sandbox-userinfo",
        "sandbox-host",
    ],
)
def test_a_state_or_console_url_no_store_takes_is_refused_without_its_password(
    run_cli: RunCli, tmp_path: Path, args: tuple[str, ...], env: dict[str, str], error: str, hint: str
) -> None:
    """Refused by every command that takes it (plan, which never opens the store, too), before
    anything is read or made: `sqlite://NAME` and `sandbox://NAME` put NAME where a host goes."""
    result = run_cli(*args, env=env, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [f"error: {error}", hint]
    assert list(tmp_path.iterdir()) == []  # no console, no store, no file named after a host


HOST_NAME = "its host is not a valid name (an empty label, such as a..b, or one over 63 characters)"


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (
            ("plan", "--provider", "https://a..b/"),
            f"the provider URL https://a..b/ is not valid: {HOST_NAME}",
            PROVIDER_HINT,
        ),
        (
            ("apply", "--auto-approve", "--provider", f"https://{'a' * 64}.example/"),
            f"the provider URL https://{'a' * 64}.example/ is not valid: {HOST_NAME}",
            PROVIDER_HINT,
        ),
        (
            ("import", "--provider", "atlassian:https://.example/"),
            f"the provider URL atlassian:https://.example/ is not valid: {HOST_NAME}",
            PROVIDER_HINT,
        ),
        (
            ("plan", "--provider", "https://console example/"),
            "the provider URL https://console example/ is not valid: its host holds a space or a control "
            "character",
            PROVIDER_HINT,
        ),
        (
            ("history", "--state", "sqlite:~no-such-user-here/state.db"),
            "the state store 'sqlite:~no-such-user-here/state.db' starts with ~, but that home directory "
            "is unknown",
            "hint: spell the path out, e.g. sqlite:/home/USER/state.db",
        ),
    ],
    ids=["empty-label", "long-label", "atlassian-dot", "space", "unknown-home"],
)
def test_a_host_or_home_no_lookup_could_take_is_an_error_not_a_crash(
    run_cli: RunCli, args: tuple[str, ...], error: str, hint: str
) -> None:
    # Each crashed with a traceback and a crash log (UnicodeError from IDNA, http.client's
    # InvalidURL, RuntimeError from expanduser) instead of saying what is wrong.
    result = run_cli(*args, env={"RECONCILER_TOKEN": "x"}, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [f"error: {error}", hint]


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--provider", f":{SECRET}@console.example"),
        ("plan", "--provider", f"console.example?token={SECRET}"),
        ("plan", "--provider", f"http:u:{SECRET}@127.0.0.1"),
        ("plan", "--provider", f"atlassian:u:{SECRET}@console.example"),
        ("plan", "--provider", f"https://console.example:99999/x#access_token={SECRET}"),
        ("plan", "--state", f"mysql://u@db.example/x#{SECRET}"),
        ("plan", "--state", f"mysql:u:{SECRET}@db.example/x"),
        ("plan", "--state", f"sqlite://host/x?token={SECRET}"),
        ("sandbox", "serve", "--port", "0", "--provider", f"mysql://u:{SECRET[:4]}/{SECRET[4:]}@db.example"),
        ("history", "--state", f"postgresql://u:{SECRET}%41%ZZ@127.0.0.1:1/db"),
        ("history", "--state", f"postgresql://u:{SECRET[:4]}@{SECRET[4:]}@127.0.0.1:1/db"),
        ("history", "--state", f"postgresql://u@127.0.0.1:1/db?sslmode=disable&sslpassword={SECRET}"),
    ],
    ids=[
        "no-scheme",
        "no-scheme-query",
        "http-no-slashes",
        "atlassian-no-slashes",
        "fragment",
        "state-fragment",
        "state-no-slashes",
        "sqlite-query",
        "serve-slash-in-password",
        "libpq-bad-escape",
        "libpq-first-at",
        "libpq-other-parameter",
    ],
)
def test_no_part_of_a_credential_in_a_refused_url_is_shown(run_cli: RunCli, args: tuple[str, ...]) -> None:
    result = run_cli(*args, env={"RECONCILER_TOKEN": "x"}, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert SECRET[4:] not in result.stdout + result.stderr
