"""Helpers shared by the test packages."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell would give: none of our variables leak in from the test runner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    for name in (
        *("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "NO_COLOR", "CI"),
        # where CI says the repository is: Markdown plans would link to it
        *("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_WORKSPACE"),
        *("CI_PROJECT_URL", "CI_PROJECT_DIR"),
    ):
        env.pop(name, None)
    env.update(extra)
    return env


def assert_golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a golden file, or rewrite it when --update-golden is given."""
    if update or not path.exists():
        if not update:
            pytest.fail(f"golden file {path} is missing; run pytest --update-golden and review it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path} (pytest --update-golden rewrites it)"


ENV_POSTGRES = "RECONCILER_TEST_POSTGRES"


def postgres_base_url() -> str:
    """The test PostgreSQL that tests/pgserver.py starts; a skip without it, a failure under CI=true."""
    url = os.environ.get(ENV_POSTGRES, "")
    if url:
        return url
    reason = (
        f"{ENV_POSTGRES} is not set: run the suite as the README's test command does "
        "('python -m tests.pgserver -- python -m pytest') to get a PostgreSQL"
    )
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI=true needs the PostgreSQL tests to run: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A state URL on a schema of its own in the test PostgreSQL, dropped afterwards."""
    import psycopg

    base = postgres_base_url()
    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[arg-type]
