"""The token reaches the console in the Authorization header and nowhere else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import RunCli
from tests.helpers import clean_env
from tests.http.conftest import TOKEN, ServerFactory, http_env


def files_holding(root: Path, secret: str) -> list[str]:
    """Every file below root that holds the secret: the console's own database (and its WAL)
    included, which keeps a digest of each token, never the token."""
    return [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*"))
        if path.is_file() and secret.encode() in path.read_bytes()
    ]


def test_the_token_is_in_no_output_journal_plan_or_log(
    estate: Path, serve: ServerFactory, run_cli: RunCli
) -> None:
    served = serve("--fail-rate", "0.2", "--seed-faults", "1", env={"RECONCILER_SANDBOX_DELAY": "0"})
    env = http_env(served.url)
    results = [
        run_cli("plan", "--out", "plan.json", env=env),
        run_cli("plan", "--format", "markdown", env=env),
        run_cli("apply", "--plan", "plan.json", env=env),
        run_cli("history", env=env),
        run_cli("history", "--format", "json", env=env),
        run_cli("plan", "--format", "json", env={**env, "RECONCILER_TOKEN": f"{TOKEN}-revoked"}),
    ]
    assert [r.returncode for r in results] == [0, 0, 0, 0, 0, 1]
    for result in results:
        assert TOKEN not in result.stdout + result.stderr
    assert (estate / "plan.json").exists() and (estate / ".reconciler" / "state.db").exists()
    served.stop()
    assert files_holding(estate, TOKEN) == []


def test_an_internal_error_carrying_the_token_leaves_it_out_of_the_crash_log(
    estate: Path, serve: ServerFactory
) -> None:
    served = serve()
    # An unexpected failure inside the provider whose message holds the token: the worst case.
    script = (
        "import reconciler.providers.http as http\n"
        "def observe(self):\n"
        "    raise RuntimeError('unexpected, with ' + self._transport._token.reveal())\n"
        "http.HttpProvider.observe = observe\n"
        "from reconciler.cli import main\n"
        "main(['plan'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=estate,
        env=clean_env(**http_env(served.url)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "reconciler hit an internal error (RuntimeError)" in result.stderr
    logs = list((estate / ".reconciler" / "logs").glob("crash-*.log"))
    assert len(logs) == 1
    assert "unexpected, with ***" in logs[0].read_text()
    assert files_holding(estate, TOKEN) == []
    assert TOKEN not in result.stdout + result.stderr


CRASHING = (
    "import sys\n"
    "import reconciler.commands.validate as command\n"
    "def run(paths, fmt):\n"
    "    raise RuntimeError(\n"
    "        'failed https://bob:hunter2@console.example/v1?token=qs-secret-1 '\n"
    "        'dsn host=db password=dsn-secret-2'\n"
    "    )\n"
    "command.run = run\n"
    "sys.argv = ['reconciler', '--provider', 'https://carol:argv-secret-3@h.example/?api_key=argv-secret-4',\n"
    "            'validate']\n"
    "from reconciler.cli import main\n"
    "main(sys.argv[1:])\n"
)


def test_a_crash_log_holds_no_credential_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import os\nos.umask(0)\n{CRASHING}"],
        cwd=tmp_path,
        env=clean_env(RECONCILER_TOKEN="env-secret-5", PGPASSWORD="env-secret-6"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    (log,) = (tmp_path / ".reconciler" / "logs").glob("crash-*.log")
    assert result.stderr == (
        "error: reconciler hit an internal error (RuntimeError); this is a bug, sorry. "
        f"details are in .reconciler/logs/{log.name}\n"
    )
    text = log.read_text()
    assert "argv: reconciler --provider https://***@h.example/?api_key=*** validate\n" in text
    assert "RuntimeError: failed https://***@console.example/v1?token=*** dsn host=db password=***" in text
    for number in range(1, 7):
        assert files_holding(tmp_path, f"secret-{number}") == []
    assert log.stat().st_mode & 0o777 == 0o600
    assert log.parent.stat().st_mode & 0o777 == 0o700
