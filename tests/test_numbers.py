"""Every number a user gives, as a flag or in the environment, is checked at once against a finite
range: NaN, infinities, negatives and numbers too large to use are one clear error naming the flag
or variable, the range and an example, never a traceback or a value used as is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.applying.attempts import operation_timeout
from reconciler.applying.runbook import RunbookSettings
from reconciler.errors import ReconcilerError
from reconciler.loading.yamlfile import max_file_bytes
from reconciler.store.locking import lock_ttl
from tests.conftest import REPO_ROOT, RunCli

SANDBOX = {"RECONCILER_SANDBOX_DELAY": "0"}


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "desired-state", tmp_path / "desired-state")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (
            ("apply", "--auto-approve", "--lock-timeout", "nan"),
            "'--lock-timeout': 'nan' is not a number of seconds from 0 to 86400, e.g. --lock-timeout 300.",
        ),
        (
            ("apply", "--auto-approve", "--lock-timeout", "inf"),
            "'--lock-timeout': 'inf' is not a number of seconds from 0 to 86400, e.g. --lock-timeout 300.",
        ),
        (
            ("apply", "--auto-approve", "--lock-timeout", "-1"),
            "'--lock-timeout': '-1' is not a number of seconds from 0 to 86400, e.g. --lock-timeout 300.",
        ),
        (
            ("apply", "--auto-approve", "--parallelism", "1e3"),
            "'--parallelism': '1e3' is not a whole number from 1 to 64, e.g. --parallelism 8.",
        ),
        (
            ("history", "--limit", "99999999999999999999999"),
            "'--limit': '99999999999999999999999' is not a whole number from 1 to 1000000, e.g. --limit 50.",
        ),
        (
            ("sandbox", "advance", "--days", "3000000"),
            "'--days': '3000000' is not a whole number of days from 0 to 36500, e.g. --days 30.",
        ),
        (
            ("sandbox", "serve", "--port", "0", "--fail-rate", "nan"),
            "'--fail-rate': 'nan' is not a share from 0 to 1, e.g. --fail-rate 0.25.",
        ),
        (
            ("sandbox", "serve", "--port", "0", "--latency", "inf"),
            "'--latency': 'inf' is not a number of milliseconds from 0 to 60000, e.g. --latency 50.",
        ),
        (
            ("sandbox", "serve", "--port", "0", "--rate-limit", "NaN"),
            "'--rate-limit': 'NaN' is not a number of requests per second from 0 to 1000000, "
            "e.g. --rate-limit 10.",
        ),
        (
            ("sandbox", "serve", "--port", "65536"),
            "'--port': '65536' is not a port number from 0 to 65535, e.g. --port 8080.",
        ),
    ],
    ids=lambda value: value[-1] if isinstance(value, tuple) else None,
)
def test_a_number_flag_out_of_its_range_is_a_usage_error(
    run_cli: RunCli, estate: Path, args: tuple[str, ...], refusal: str
) -> None:
    # A bound timeout: were the flag taken, `sandbox serve` would serve until it ends.
    result = run_cli(*args, env=SANDBOX, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines()[-1] == f"Error: Invalid value for {refusal}"


@pytest.mark.parametrize(
    ("name", "value", "refusal", "hint"),
    [
        (
            "RECONCILER_LOCK_TTL",
            "1e300",
            "is not a number of seconds from 0.5 to 3600",
            "e.g. RECONCILER_LOCK_TTL=30, or unset it for the default (30)",
        ),
        (
            "RECONCILER_LOCK_TTL",
            "0",
            "is not a number of seconds from 0.5 to 3600",
            "e.g. RECONCILER_LOCK_TTL=30, or unset it for the default (30)",
        ),
        (
            "RECONCILER_LOCK_TTL",
            "-5",
            "is not a number of seconds from 0.5 to 3600",
            "e.g. RECONCILER_LOCK_TTL=30, or unset it for the default (30)",
        ),
        (
            "RECONCILER_OPERATION_TIMEOUT",
            "nan",
            "is not a number of seconds more than 0 and at most 86400",
            "e.g. RECONCILER_OPERATION_TIMEOUT=600, or unset it for the default (600)",
        ),
    ],
)
def test_a_number_variable_out_of_its_range_stops_apply(
    run_cli: RunCli, estate: Path, name: str, value: str, refusal: str, hint: str
) -> None:
    result = run_cli("apply", "--auto-approve", env={**SANDBOX, name: value})
    assert result.returncode == 1
    assert result.stderr.splitlines()[-2:] == [f"error: {name}={value!r} {refusal}", f"hint: {hint}"]
    assert "Traceback" not in result.stderr


def test_the_lock_ttl_in_range_is_used_as_given(run_cli: RunCli, estate: Path) -> None:
    result = run_cli("apply", "--auto-approve", env={**SANDBOX, "RECONCILER_LOCK_TTL": "0.5"})
    assert result.returncode == 0, result.stderr
    assert "Verified: re-planning finds every change done." in result.stdout.splitlines()


@pytest.mark.parametrize(
    ("name", "read", "value", "refusal"),
    [
        ("RECONCILER_LOCK_TTL", lock_ttl, "inf", "a number of seconds from 0.5 to 3600"),
        (
            "RECONCILER_OPERATION_TIMEOUT",
            operation_timeout,
            "0",
            "a number of seconds more than 0 and at most 86400",
        ),
        (
            "RECONCILER_STEP_TIMEOUT",
            RunbookSettings.from_env,
            "1e300",
            "a number of seconds more than 0 and at most 604800",
        ),
        (
            "RECONCILER_POLL_INTERVAL",
            RunbookSettings.from_env,
            "nan",
            "a number of seconds more than 0 and at most 86400",
        ),
        (
            "RECONCILER_MAX_FILE_BYTES",
            max_file_bytes,
            "99999999999999999999999",
            "a whole number of bytes from 1 to 4294967296",
        ),
        ("RECONCILER_MAX_FILE_BYTES", max_file_bytes, "1.5", "a whole number of bytes from 1 to 4294967296"),
    ],
)
def test_every_number_variable_has_a_range(
    monkeypatch: pytest.MonkeyPatch, name: str, read: object, value: str, refusal: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ReconcilerError) as raised:
        read()  # type: ignore[operator]
    assert raised.value.message == f"{name}={value!r} is not {refusal}"


@pytest.mark.parametrize(
    ("name", "value"), [("RECONCILER_OPERATION_TIMEOUT", "-1"), ("RECONCILER_OPERATION_TIMEOUT", "0")]
)
def test_a_number_variable_out_of_its_range_stops_apply_with_nothing_to_do(
    run_cli: RunCli, estate: Path, name: str, value: str
) -> None:
    """A scheduled apply over a converged console still refuses it: the day a change comes is
    not the day to find the setting wrong."""
    converged = run_cli("apply", "--auto-approve", env=SANDBOX)
    assert converged.returncode == 0, converged.stderr
    result = run_cli("apply", "--auto-approve", env={**SANDBOX, name: value})
    assert result.returncode == 1, result.stdout
    assert f"error: {name}={value!r}" in result.stderr
    assert "No changes" not in result.stdout
