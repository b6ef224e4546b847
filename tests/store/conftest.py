"""Every store test runs against both backends: a SQLite file and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.store import StateStore, open_store
from tests.helpers import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'nested' / 'state.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    opened = open_store(state_url)
    yield opened
    opened.close()
