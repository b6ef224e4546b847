"""The server conforms to its OpenAPI document: property-based requests from the document itself.

Schemathesis generates valid and invalid requests for every operation and checks each answer
against the document: documented status codes, response schemas and headers, content types, and
that invalid requests are refused. Examples are bounded so the whole run takes seconds.
"""

from __future__ import annotations

import schemathesis
from schemathesis import Case

from tests.conftest import REPO_ROOT
from tests.http.conftest import TOKEN, Served

OPENAPI = REPO_ROOT / "schemas" / "console-api.openapi.yaml"
MAX_EXAMPLES = 12


ACCEPTED = ["2xx", "401", "403", "404", "409", "429"]
CONFIG = {
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
    "operations": [
        # A schema-valid write may still break a console rule: 422 with the rule id is a valid answer.
        {
            "include-tag": "write",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
        },
        # A cursor is opaque: a schema-valid string the console never issued is refused with 400.
        {
            "include-tag": "read",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
        },
    ],
}
schema = schemathesis.openapi.from_path(str(OPENAPI), config=schemathesis.Config.from_dict(CONFIG))


@schema.parametrize()
def test_the_server_conforms_to_its_document(case: Case, example_server: Served) -> None:
    case.call_and_validate(base_url=example_server.url, headers={"Authorization": f"Bearer {TOKEN}"})
