"""The http provider against consoles that misbehave on purpose: a stand-in on 127.0.0.1 that
answers the API's shapes, except for the one thing each test makes hostile."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from reconciler import wire
from reconciler.errors import ProviderError
from reconciler.model import Action, Change, Console
from reconciler.providers.http import HttpProvider, RetryPolicy
from reconciler.providers.http import transport as transport_module
from reconciler.sandbox.seedfile import example_seed

TOKEN = "hostile-test-token-4242"
FAST_RETRY = RetryPolicy(max_attempts=3, max_elapsed=10.0, base_delay=0.01, max_delay=0.05)

#: an answer: status, headers, body chunks
Answer = tuple[int, dict[str, str], list[bytes]]


def _example_answers() -> dict[str, Answer]:
    seed = example_seed()
    console = Console(
        now=seed.now,
        actor=None,
        users=frozenset(u.email for u in seed.users),
        billing_accounts={a.id: a for a in seed.billing_accounts},
        organizations={o.id: o for o in seed.organizations},
        sites={s.name: s for s in seed.sites},
        subscriptions={s.id: s for s in seed.subscriptions},
        retired_site_names=seed.retired_site_names,
    )
    collections = wire.encode_collections(console)
    version = wire.version_of(console.now, collections)
    answers: dict[str, Answer] = {
        "/v1/me": _json(
            200, {"data": {"email": "alice@acme.example"}, "meta": {"now": str(seed.now), "version": version}}
        )
    }
    for name, items in collections.items():
        page = {"data": items, "links": {"self": f"/v1/{name}", "next": None}, "meta": {"version": version}}
        answers[f"/v1/{name}"] = _json(200, page)
    return answers


def _json(status: int, body: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, [json.dumps(body).encode()]


class Standin(ThreadingHTTPServer):
    daemon_threads = True
    answers: dict[str, Answer]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Standin

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, chunks = self.server.answers.get(self.path.split("?")[0], _json(404, {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(sum(len(c) for c in chunks)))
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
        except OSError:
            pass

    do_POST = do_GET


@pytest.fixture
def standin() -> Iterator[tuple[Standin, Callable[[], HttpProvider]]]:
    server = Standin(("127.0.0.1", 0), Handler)
    server.answers = _example_answers()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    opened: list[HttpProvider] = []

    def provider() -> HttpProvider:
        opened.append(
            HttpProvider(
                f"http://127.0.0.1:{server.server_address[1]}", TOKEN, retry=FAST_RETRY, trust_env=False
            )
        )
        return opened[-1]

    yield server, provider
    for one in opened:
        one.close()
    server.shutdown()
    server.server_close()


def test_the_stand_in_is_a_sound_console(standin: tuple[Standin, Callable[[], HttpProvider]]) -> None:
    _, provider = standin
    assert "SUB-1001" in provider().observe().subscriptions


# --- a cap on what a console may send ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["declared", "streamed", "gzip-bomb"])
def test_an_answer_past_the_cap_is_refused_unread(
    standin: tuple[Standin, Callable[[], HttpProvider]], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    server, provider = standin
    monkeypatch.setattr(transport_module, "MAX_RESPONSE_BYTES", 1 << 20)
    if how == "declared":
        server.answers["/v1/sites"] = (200, {"Content-Length": str(1 << 40)}, [b"{"])
    elif how == "streamed":
        server.answers["/v1/sites"] = (
            200,
            {"Transfer-Encoding": "chunked"},
            [b"10000\r\n" + b" " * 65536 + b"\r\n"] * 40,
        )
    else:
        bomb = gzip.compress(b" " * (8 << 20))
        server.answers["/v1/sites"] = (200, {"Content-Encoding": "gzip"}, [bomb])
    with pytest.raises(ProviderError) as refused:
        provider().observe()
    assert (refused.value.code, refused.value.transient) == ("invalid-response", False)
    assert refused.value.message.endswith(
        "answered GET /v1/sites with more than 1,048,576 bytes: refused unread"
    )


# --- the token never comes back into what is shown or stored -----------------------------------------


def _with_token(answers: dict[str, Answer], where: str) -> None:
    if where == "me":
        answers["/v1/me"] = _json(200, {"data": {"email": TOKEN}, "meta": {"version": "v"}})
    elif where == "site-name":
        _, headers, chunks = answers["/v1/sites"]
        page = json.loads(chunks[0])
        page["data"][0]["name"] = TOKEN
        answers["/v1/sites"] = _json(200, page)
    elif where == "escaped":
        _, headers, chunks = answers["/v1/organizations"]
        escaped = "".join(f"\\u{ord(c):04x}" for c in TOKEN)
        text = chunks[0].decode().replace('"ACME Corp"', f'"{escaped}"')
        answers["/v1/organizations"] = (200, headers, [text.encode()])
    else:  # inside a longer value
        _, headers, chunks = answers["/v1/subscriptions"]
        text = chunks[0].decode().replace('"SUB-1004"', f'"SUB-{TOKEN}-x"')
        answers["/v1/subscriptions"] = (200, headers, [text.encode()])


@pytest.mark.parametrize("where", ["me", "site-name", "escaped", "inside"])
def test_a_console_that_answers_with_the_token_is_refused(
    standin: tuple[Standin, Callable[[], HttpProvider]], where: str
) -> None:
    server, provider = standin
    _with_token(server.answers, where)
    with pytest.raises(ProviderError) as refused:
        provider().observe()
    assert refused.value.code == "invalid-response"
    assert TOKEN not in refused.value.message
    assert "with a value that holds the API token; refusing to show or store it" in refused.value.message


def test_an_operation_or_an_error_code_that_is_the_token_never_comes_through(
    standin: tuple[Standin, Callable[[], HttpProvider]],
) -> None:
    server, provider = standin
    path = "/v1/subscriptions/SUB-1001/apps/focus/provision"
    change = Change(
        id="provision:SUB-1001:focus",
        action=Action.PROVISION,
        subscription="SUB-1001",
        app="focus",
        site="acme",
        org=None,
        depends_on=(),
        reason="test",
        source=None,
    )
    server.answers[path] = _json(202, {"data": {"id": TOKEN, "status": "pending", "error": None}})
    with pytest.raises(ProviderError) as refused:
        provider().execute(change, "key-1")
    assert refused.value.code == "invalid-response" and TOKEN not in str(refused.value)
    refusal = {"errors": [{"status": "422", "code": TOKEN, "title": "x", "detail": f"no, {TOKEN}"}]}
    server.answers[path] = _json(422, refusal)
    with pytest.raises(ProviderError) as refused:
        provider().execute(change, "key-2")
    assert (refused.value.code, refused.value.message) == ("***", "no, ***")


# --- what retrying cannot mend is not retried ----------------------------------------------------------


def test_a_name_that_does_not_resolve_is_not_retried() -> None:
    patient = RetryPolicy(max_attempts=8, max_elapsed=60.0, base_delay=0.5, max_delay=5.0)
    provider = HttpProvider("https://console.invalid", TOKEN, retry=patient, trust_env=False)
    try:
        with pytest.raises(ProviderError) as refused:
            provider.observe()
    finally:
        provider.close()
    # Retried, it would end after 8 failed attempts with the "did not answer" message instead.
    assert (refused.value.code, refused.value.transient) == ("unreachable", False)
    assert refused.value.message == (
        "cannot reach the console at https://console.invalid: the name console.invalid does not resolve "
        "(Name or service not known)"
    )


# --- a word outside the contract's enums -----------------------------------------------------------


def _edited(answers: dict[str, Answer], collection: str, key: str, edit: Callable[[Any], None]) -> None:
    """The collection's item `key` changed by `edit`, the rest of the answer as it was."""
    status, headers, chunks = answers[f"/v1/{collection}"]
    page = json.loads(b"".join(chunks))
    edit(next(item for item in page["data"] if wire.item_key(collection, item) == key))
    answers[f"/v1/{collection}"] = (status, headers, [json.dumps(page).encode()])


STATUSES = "upcoming, active, cancelled, deactivated, deleted"
UNKNOWN_WORDS = {
    "status": (
        "subscriptions",
        "SUB-1002",
        lambda item: item.update(status="zombie"),
        f'the status of subscription SUB-1002 is "zombie", not one of {STATUSES}',
    ),
    "product": (
        "subscriptions",
        "SUB-1002",
        lambda item: item.update(product="weird"),
        'the product of subscription SUB-1002 is "weird", not one of '
        "strategy-collection, jira-align, focus, talent",
    ),
    "app": (
        "subscriptions",
        "SUB-1004",
        lambda item: item.update(apps={"jira-alien": None}),
        'an app of subscription SUB-1004 is "jira-alien", not one of jira-align, focus, talent',
    ),
    "pending-app": (
        "subscriptions",
        "SUB-1001",
        lambda item: item.update(pending={"Focus": "acme"}),
        'an app of subscription SUB-1001 is "Focus", not one of jira-align, focus, talent',
    ),
    "migration": (
        "subscriptions",
        "SUB-1001",
        lambda item: item.update(migration="no"),
        'migration of subscription SUB-1001 is "no", not true or false',
    ),
    "jira": (
        "sites",
        "acme",
        lambda item: item.update(products={"jira": "platinum"}),
        'the Jira plan of site acme is "platinum", not one of free, standard, premium, enterprise',
    ),
    "sandbox": (
        "sites",
        "acme",
        lambda item: item.update(sandbox=1),
        "sandbox of site acme is 1, not true or false",
    ),
    "managed-by": (
        "billing-accounts",
        "AC-1111-2222-3333",
        lambda item: item.update(managed_by="reseller"),
        'managed_by of account AC-1111-2222-3333 is "reseller", not one of direct, partner',
    ),
}


@pytest.mark.parametrize("field", sorted(UNKNOWN_WORDS))
def test_a_word_outside_the_contract_is_a_malformed_answer(
    standin: tuple[Standin, Callable[[], HttpProvider]], field: str
) -> None:
    server, provider = standin
    collection, key, edit, problem = UNKNOWN_WORDS[field]
    _edited(server.answers, collection, key, edit)
    with pytest.raises(ProviderError) as refused:
        provider().observe()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    assert (refused.value.code, refused.value.message, refused.value.hint) == (
        "invalid-response",
        f"the console at {url} answered something this client does not understand: {problem}",
        transport_module.CONSOLE_API_HINT,
    )


# --- an answer is read as json.loads reads it ---------------------------------------------------------

#: JSON that msgspec reads to the same values, and JSON it refuses where json.loads does not
JSON_TEXTS = [
    '{"a": 1, "a": 2}',  # a name twice: the last one counts
    "123456789012345678901234567890",  # past 64 bits
    '{"name": "caf\\u00e9", "n": -0.0, "e": 1.5e-7, "t": true, "z": null}',
    "1e400",  # past a float's range: infinity
    "[NaN, Infinity, -Infinity]",
    '"\\ud800"',  # a lone surrogate
]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_an_answer_is_read_to_what_json_loads_reads(text: str) -> None:
    assert repr(transport_module._decoded(text)) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["[1, 2", "\ufeff{}", "{'a': 1}", "", "[1] 2"])
def test_an_answer_that_is_not_json_is_refused_as_json_loads_refuses_it(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        transport_module._decoded(text)


def test_an_answer_nested_past_the_parser_is_refused_as_json_loads_refuses_it() -> None:
    with pytest.raises(RecursionError):
        transport_module._decoded("[" * 100_000 + "]" * 100_000)


def test_the_error_reported_is_the_first_in_reading_order_however_the_threads_ran() -> None:
    """/v1/me's reader starting last (its thread scheduled after another read had already failed)
    must still report /v1/me's own error: a stop meant for the reads after a failure once reached
    it first, and the message named whichever collection's thread happened to run first."""
    provider = HttpProvider("http://127.0.0.1:9", "sandbox-token-alice", trust_env=False)
    others_failed = threading.Event()

    def request(method: str, path: str, *, stop: threading.Event | None = None, **_: Any) -> Any:
        if path == "/v1/me":
            others_failed.wait(5)
            time.sleep(0.2)  # long enough for a stop set after a later read's failure to land
            if stop is not None and stop.is_set():
                raise transport_module.Stopped("given up")
            raise ProviderError("the console has no GET /v1/me", code="wrong-api")
        others_failed.set()
        raise ProviderError(f"the console has no GET {path}", code="wrong-api")

    provider._transport.request = request  # type: ignore[method-assign]
    with pytest.raises(ProviderError) as raised:
        provider.observe()
    assert raised.value.message == "the console has no GET /v1/me"
    provider.close()
