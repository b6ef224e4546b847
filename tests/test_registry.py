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


def install_plugin(tmp_path: Path, entry_point: str, module: str | None = None) -> None:
    """The example estate, and a package `acme-console` whose entry point `acme` is `entry_point`."""
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    info = tmp_path / "plugins" / "acme_console-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-console\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[reconciler.providers]\nacme = {entry_point}\n")
    if module is not None:
        (tmp_path / "plugins" / "acme_console.py").write_text(module)


def faulty_plugin_console(run_cli: RunCli, tmp_path: Path, **env: str) -> dict[str, str]:
    """FAULTY_PLUGIN installed over a fresh sandbox console: the environment that selects it, plus `env`."""
    install_plugin(tmp_path, "acme_console:factory", FAULTY_PLUGIN)
    assert run_cli("sandbox", "init", "--provider", "sandbox:console.db").returncode == 0
    return {"PYTHONPATH": str(tmp_path / "plugins"), "RECONCILER_PROVIDER": "acme:console.db", **env}


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
    install_plugin(tmp_path, value)
    result = run_cli("plan", env={"PYTHONPATH": str(tmp_path / "plugins"), "RECONCILER_PROVIDER": "acme:x"})
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: the provider 'acme' (from the acme-console package) failed to load: ")
    assert error in lines[0]
    assert lines[1].startswith(f"hint: its entry point is {value}")
    assert "bug" not in result.stderr and not (tmp_path / ".reconciler" / "logs").exists()


#: A third-party provider over the real sandbox console that fails where ACME_FAIL says.
FAULTY_PLUGIN = """
import os
from reconciler.providers.base import ProviderSettings
from reconciler.providers.sandbox import open_sandbox_provider

FAIL = os.environ.get("ACME_FAIL", "").split(",")


class Unreadable(Exception):
    def __str__(self):
        raise ValueError("no message here")


def fail(name):
    if name not in FAIL:
        return
    if "unreadable" in FAIL:
        raise Unreadable()
    if "huge" in FAIL:
        raise RuntimeError(f"{name} broke " + "x" * 5_000_000)
    if "protocol" in FAIL:
        from reconciler.errors import ProviderError

        frames = "\\n".join(f"  frame {n}" for n in range(5_000))
        raise ProviderError(f"{name} refused\\n{frames}", code="unavailable", hint=f"try later\\n{frames}")
    if "lines" in FAIL:
        raise RuntimeError(f"{name} broke\\n" + "\\n".join(f"  frame {n}" for n in range(5_000)))
    raise RuntimeError(f"{name} broke, token=" + os.environ["RECONCILER_TOKEN"])


class Acme:
    def __init__(self, inner):
        self.inner = inner
        self.description = "acme console"
        self.capabilities = inner.capabilities

    def observe(self):
        fail("observe")
        return None if "observe-none" in FAIL else self.inner.observe()

    def execute(self, change, key):
        fail("execute")
        return self.inner.execute(change, key)

    def operation(self, operation_id):
        return self.inner.operation(operation_id)

    def close(self):
        self.inner.close()
        fail("close")


def factory(settings):
    fail("open")
    return Acme(open_sandbox_provider(ProviderSettings(url="sandbox:" + settings.url.partition(":")[2])))
"""

_PLUGIN_HINT = (
    "hint: this is a fault in the acme-console package (entry point acme_console:factory), not in your "
    "desired state: upgrade it or report it to its maintainers, or use another --provider"
)


@pytest.mark.parametrize(
    ("fault", "failure"),
    [
        ("open", "opening it raised RuntimeError: open broke, token=***"),
        ("observe", "observe() raised RuntimeError: observe broke, token=***"),
        ("observe-none", "observe() returned a NoneType, not a Console"),
        (
            "observe,unreadable",
            "observe() raised Unreadable: (its message cannot be read: str() raised ValueError)",
        ),
        (
            "observe,huge",
            "observe() raised RuntimeError: observe broke " + "x" * 200 + "… (4,999,800 more characters)",
        ),
        ("observe,lines", "observe() raised RuntimeError: observe broke … (5,000 more lines)"),
    ],
)
@pytest.mark.parametrize("command", [("plan",), ("import", "--out", "imported")], ids=["plan", "import"])
def test_a_third_party_provider_that_fails_is_one_error_naming_it(
    run_cli: RunCli, tmp_path: Path, fault: str, failure: str, command: tuple[str, ...]
) -> None:
    """What a plugin raises or returns wrongly is its own fault: no crash report, never its token."""
    env = faulty_plugin_console(run_cli, tmp_path, RECONCILER_TOKEN="acme-secret-token", ACME_FAIL=fault)
    result = run_cli(*command, env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"error: the provider 'acme' (from the acme-console package) failed: {failure}",
        _PLUGIN_HINT,
    ]
    assert result.stdout == ""
    assert not (tmp_path / ".reconciler" / "logs").exists()
    assert not (tmp_path / "imported").exists()


def test_a_third_party_providers_own_error_of_thousands_of_lines_is_one_line_each(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """A ProviderError is the protocol's: shown as the plugin put it, but by its first line."""
    env = faulty_plugin_console(run_cli, tmp_path, ACME_FAIL="observe,protocol")
    result = run_cli("plan", env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "error: observe refused … (5,000 more lines)",
        "hint: try later … (5,000 more lines)",
    ]


_CLOSE_WARNING = (
    "warning: the provider 'acme' (from the acme-console package) failed: close() raised RuntimeError: "
    "close broke, token=***; what it observed or did stands, but report it to the maintainers of the "
    "acme-console package (entry point acme_console:factory)"
)


@pytest.mark.parametrize("command", [("plan",), ("import", "--out", "imported")], ids=["plan", "import"])
def test_a_third_party_provider_that_fails_to_close_is_a_warning(
    run_cli: RunCli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Once observe() returned the whole console nothing is lost: the command's output stands."""
    env = faulty_plugin_console(run_cli, tmp_path, RECONCILER_TOKEN="acme-secret-token")
    expected = run_cli(*command, env=env)
    shutil.rmtree(tmp_path / "imported", ignore_errors=True)
    result = run_cli(*command, env={**env, "ACME_FAIL": "close"})
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [_CLOSE_WARNING, *expected.stderr.splitlines()]
    assert result.stdout == expected.stdout
    assert not (tmp_path / ".reconciler" / "logs").exists()


def test_a_third_party_provider_that_fails_to_close_lets_apply_converge_and_warns_once(
    run_cli: RunCli, tmp_path: Path
) -> None:
    env = faulty_plugin_console(
        run_cli,
        tmp_path,
        RECONCILER_TOKEN="acme-secret-token",
        RECONCILER_SANDBOX_DELAY="0",
        ACME_FAIL="close",
    )
    result = run_cli("apply", "--auto-approve", env=env)
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("warning:")] == [_CLOSE_WARNING]
    assert "Verified: re-planning finds every change done." in result.stdout.splitlines()


def test_a_third_party_provider_that_fails_to_close_after_observe_failed_reports_observe(
    run_cli: RunCli, tmp_path: Path
) -> None:
    env = faulty_plugin_console(
        run_cli, tmp_path, RECONCILER_TOKEN="acme-secret-token", ACME_FAIL="observe,close"
    )
    result = run_cli("plan", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        _CLOSE_WARNING,
        "error: the provider 'acme' (from the acme-console package) failed: observe() raised RuntimeError: "
        "observe broke, token=***",
        _PLUGIN_HINT,
    ]
    assert not (tmp_path / ".reconciler" / "logs").exists()


def test_a_third_party_provider_whose_execute_fails_fails_the_change_naming_it(
    run_cli: RunCli, tmp_path: Path
) -> None:
    env = faulty_plugin_console(run_cli, tmp_path)
    faulty = {**env, "RECONCILER_TOKEN": "tok-1234", "ACME_FAIL": "execute"}
    result = run_cli("apply", "--auto-approve", env=faulty)
    assert result.returncode == 1, result.stderr
    failed = (
        "failed: [internal-error] the provider 'acme' (from the acme-console package) failed: "
        "execute() raised RuntimeError: execute broke, token=***"
    )
    assert f"  create-site acme-align (acme-corp): {failed}" in result.stdout.splitlines()
    assert "bug" not in result.stdout + result.stderr and "tok-1234" not in result.stdout + result.stderr
    assert not (tmp_path / ".reconciler" / "logs").exists()
    assert run_cli("apply", "--auto-approve", env=env).returncode == 0, "a working provider then converges"
