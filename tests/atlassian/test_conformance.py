"""The stand-in conforms to its OpenAPI document (schemathesis: generated requests, checked answers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import Case

from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.seedfile import example_seed
from tests.atlassian.conftest import KEY
from tests.conftest import REPO_ROOT
from tests.http.conftest import Served, sandbox_db, start_server

OPENAPI = REPO_ROOT / "schemas" / "atlassian-admin-api.openapi.yaml"
CONFIG = {
    "generation": {"max-examples": 12, "deterministic": True},
    # A cursor is opaque: a schema-valid string the API never issued is refused with 400.
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "404", "429"]}},
}
schema = schemathesis.openapi.from_path(str(OPENAPI), config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home: Path = tmp_path_factory.mktemp("admin")
    SandboxConsole.create(sandbox_db(home), example_seed()).close()
    served = start_server(home, "--api", "atlassian")
    yield served
    assert served.stop() == 0


@schema.parametrize()
def test_the_stand_in_conforms_to_its_document(case: Case, admin_server: Served) -> None:
    case.call_and_validate(base_url=admin_server.url, headers={"Authorization": f"Bearer {KEY}"})
