"""The console API on the wire: auth, pagination, writes, errors, faults. Raw HTTP, no client of ours."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler import wire
from reconciler.sandbox import SandboxConsole
from tests.http.conftest import TOKEN, Served, ServerFactory, sandbox_db, seed_many

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(example_server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=example_server.url, headers=AUTH, trust_env=False) as session:
        yield session


def errors(status: int, code: str, title: str, detail: str) -> dict[str, object]:
    return {"errors": [{"status": str(status), "code": code, "title": title, "detail": detail}]}


def test_no_token_is_401_with_the_error_body(client: httpx.Client) -> None:
    response = client.get("/v1/me", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="console"'
    assert response.json() == errors(
        401, "unauthorized", "Unauthorized", "a valid bearer token is required (Authorization: Bearer TOKEN)"
    )


def test_an_unknown_token_is_401_and_is_not_echoed(client: httpx.Client) -> None:
    response = client.get("/v1/subscriptions", headers={"Authorization": "Bearer not-a-token-xyz"})
    assert response.status_code == 401
    assert "not-a-token-xyz" not in response.text


def test_me_is_the_tokens_user_and_the_console_clock(client: httpx.Client) -> None:
    body = client.get("/v1/me").json()
    assert body["data"] == {"email": "alice@acme.example"}
    assert body["meta"]["now"] == "2026-11-21"


def test_pages_follow_links_next_to_the_end(client: httpx.Client) -> None:
    ids, versions, link = [], set(), "/v1/subscriptions?limit=1"
    while link is not None:
        body = client.get(link).json()
        ids += [item["id"] for item in body["data"]]
        versions.add(body["meta"]["version"])
        assert body["meta"]["total"] == 4
        link = body["links"]["next"]
    assert ids == ["SUB-1001", "SUB-1002", "SUB-1003", "SUB-1004"]
    assert len(versions) == 1


def test_a_page_lists_each_item_once_across_many_pages(tmp_path: Path, serve: ServerFactory) -> None:
    SandboxConsole.create(sandbox_db(tmp_path), seed_many(250)).close()
    served = serve()
    with httpx.Client(base_url=served.url, headers=AUTH, trust_env=False) as session:
        first = session.get("/v1/sites", params={"limit": 100}).json()
        second = session.get(first["links"]["next"]).json()
        third = session.get(second["links"]["next"]).json()
    names = [site["name"] for page in (first, second, third) for site in page["data"]]
    assert names == [f"site-{i:05d}" for i in range(250)]
    assert [len(page["data"]) for page in (first, second, third)] == [100, 100, 50]
    assert third["links"]["next"] is None


@pytest.mark.parametrize(
    "query, detail",
    [
        ("limit=0", "limit must be an integer from 1 to 1000"),
        ("limit=1001", "limit must be an integer from 1 to 1000"),
        ("limit=ten", "limit must be an integer from 1 to 1000"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor is not one this console issued"),
    ],
)
def test_bad_paging_is_400(client: httpx.Client, query: str, detail: str) -> None:
    response = client.get(f"/v1/sites?{query}")
    assert response.status_code == 400
    assert response.json() == errors(400, "invalid-request", "Bad request", detail)


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/v1/sites?limit=5&page=2", "unknown query parameter 'page': it takes limit and cursor"),
        ("/v1/me?verbose=1", "unknown query parameter 'verbose': it takes none"),
    ],
)
def test_an_unknown_query_parameter_is_400(client: httpx.Client, path: str, detail: str) -> None:
    # The document allows no other parameters; silently ignoring one would hide a client's mistake.
    response = client.get(path)
    assert response.status_code == 400
    assert response.json() == errors(400, "invalid-request", "Bad request", detail)


def test_a_write_without_idempotency_key_is_400(client: httpx.Client) -> None:
    response = client.post("/v1/sites", json={"org": "acme-corp", "name": "acme-new"})
    assert response.status_code == 400
    assert response.json() == errors(
        400, "invalid-request", "Bad request", "every write needs an Idempotency-Key header"
    )


def test_a_write_answers_its_operation_and_a_replay_answers_the_same(client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = client.post("/v1/sites", json={"org": "acme-corp", "name": "acme-new"}, headers=headers)
    again = client.post("/v1/sites", json={"org": "acme-corp", "name": "acme-new"}, headers=headers)
    assert first.status_code == again.status_code == 200  # the delay is 0: done at once
    operation = first.json()["data"]
    assert operation["status"] == "succeeded"
    assert again.json()["data"] == operation
    assert first.headers["Location"] == f"/v1/operations/{operation['id']}"
    assert client.get(first.headers["Location"]).json()["data"] == operation
    sites = [site["name"] for site in client.get("/v1/sites").json()["data"]]
    assert sites.count("acme-new") == 1


def test_a_key_reused_for_another_request_is_refused(client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "key-2"}
    client.post("/v1/sites", json={"org": "acme-corp", "name": "acme-one"}, headers=headers)
    response = client.post("/v1/sites", json={"org": "acme-corp", "name": "acme-two"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "idempotency-mismatch"


@pytest.mark.parametrize(
    "path, body, status, code, detail",
    [
        (
            "/v1/subscriptions/SUB-1001/apps/talent/provision",
            {"site": "acme-std"},
            422,
            "premium-site",
            "talent needs a site with Jira Premium or Enterprise; acme-std has Jira Standard",
        ),
        (
            "/v1/subscriptions/SUB-9999/cancel",
            None,
            404,
            "unknown-subscription",
            "subscription SUB-9999 does not exist in this console",
        ),
    ],
)
def test_a_rule_refusal_carries_the_rule_id(
    client: httpx.Client, path: str, body: object, status: int, code: str, detail: str
) -> None:
    response = client.post(path, json=body, headers={"Idempotency-Key": "key-3"})
    assert response.status_code == status
    error = response.json()["errors"][0]
    assert (error["code"], error["detail"]) == (code, detail)


def test_a_permission_rule_is_403(client: httpx.Client) -> None:
    response = client.post(
        "/v1/sites",
        json={"org": "acme-corp", "name": "dana-site"},
        headers={"Idempotency-Key": "key-4", "Authorization": "Bearer sandbox-token-dana"},
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "org-admin"


def test_an_unsupported_method_is_405_with_allow(client: httpx.Client) -> None:
    response = client.delete("/v1/sites")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert response.json()["errors"][0]["code"] == "method-not-allowed"


def test_an_unknown_path_is_404(client: httpx.Client) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == errors(404, "not-found", "Not found", "no such resource: /v1/nothing-here")


def test_rate_limit_answers_429_with_its_headers(estate: Path, serve: ServerFactory) -> None:
    served = serve("--rate-limit", "2")
    with httpx.Client(base_url=served.url, headers=AUTH, trust_env=False) as session:
        answers = [session.get("/v1/me") for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    limited = answers[2]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert 0 < float(limited.headers["X-RateLimit-Reset"]) <= 0.5
    assert limited.json()["errors"][0]["code"] == "rate-limited"


def test_latency_is_added_to_every_answer(estate: Path, serve: ServerFactory) -> None:
    served = serve("--latency", "150")
    with httpx.Client(base_url=served.url, headers=AUTH, trust_env=False) as session:
        session.get("/v1/me")  # the connection is open: what is left is the latency
        started = time.monotonic()
        session.get("/v1/me")
        assert time.monotonic() - started >= 0.15


def test_failures_are_500s_and_resets_and_never_an_answer(estate: Path, serve: ServerFactory) -> None:
    served = serve("--fail-rate", "1", "--seed-faults", "7")
    outcomes = set()
    with httpx.Client(base_url=served.url, headers=AUTH, trust_env=False) as session:
        for _ in range(12):
            try:
                response = session.get("/v1/me")
                outcomes.add(response.status_code)
                assert response.json()["errors"][0]["code"] == "internal-error"
            except httpx.TransportError:
                outcomes.add("dropped")
    assert outcomes == {500, "dropped"}


def test_a_dropped_answer_may_hide_a_write_that_happened(estate: Path, serve: ServerFactory) -> None:
    served = serve("--fail-rate", "1", "--seed-faults", "3", env={"RECONCILER_SANDBOX_DELAY": "0"})
    headers = {**AUTH, "Idempotency-Key": "key-5"}
    with httpx.Client(base_url=served.url, headers=headers, trust_env=False) as session:
        for _ in range(30):
            try:
                response = session.post("/v1/sites", json={"org": "acme-corp", "name": "acme-dropped"})
                assert response.status_code == 500, "with --fail-rate 1 no request is answered normally"
            except httpx.TransportError:
                pass
            with SandboxConsole(sandbox_db(estate)) as console:
                if console.write_count() == 1:
                    break
    # No answer ever came back, and yet the site was created: once, since every retry had the same key.
    with SandboxConsole(sandbox_db(estate)) as console:
        assert console.write_count() == 1
        assert "acme-dropped" in console.observe(None).sites
    assert "(injected: drop-after-write)" in served.log.read_text()


def test_a_version_is_of_the_state_alone() -> None:
    """Equal state, equal version, whatever the order of an item's fields; any change, another."""
    now = dt.date(2026, 12, 1)
    collections = {"sites": [{"name": "acme", "org": "org-1"}], "users": [{"email": "a@b.example"}]}
    version = wire.version_of(now, collections)
    reordered = {
        name: [dict(reversed(item.items())) for item in items] for name, items in collections.items()
    }
    assert wire.version_of(now, reordered) == version
    assert wire.version_of(now + dt.timedelta(days=1), collections) != version
    renamed = {**collections, "sites": [{"name": "acme2", "org": "org-1"}]}
    assert wire.version_of(now, renamed) != version
    # Text no encoder writes as UTF-8 (a lone surrogate) still has a version of its own.
    lone = {**collections, "sites": [{"name": "\ud800", "org": "org-1"}]}
    assert wire.version_of(now, lone).startswith("v1-")
    assert wire.version_of(now, lone) not in (version, wire.version_of(now, renamed))
