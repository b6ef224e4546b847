"""The http provider against the real server: same Console as in process, retries, refusals, bounds."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Action, Change, OperationStatus
from reconciler.providers.base import ProviderSettings
from reconciler.providers.http import HttpProvider, RetryPolicy, client, open_http_provider
from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.api import ConsoleApi
from reconciler.sandbox.faults import FaultSettings
from reconciler.sandbox.httpserver import make_server
from tests.http.conftest import ALICE, TOKEN, ServerFactory, sandbox_db, seed_many

HTTPS_HINT = (
    "use https:// for a console on another machine; "
    "plain http:// is only for loopback (127.0.0.1, ::1, localhost)"
)
FAST_RETRY = RetryPolicy(max_attempts=3, max_elapsed=10.0, base_delay=0.01, max_delay=0.05)


OpenProvider = Callable[..., HttpProvider]


@pytest.fixture
def provider_for(serve: ServerFactory) -> Iterator[OpenProvider]:
    opened: list[HttpProvider] = []

    def open_one(
        *args: str, token: str = TOKEN, delay: str = "0", retry: RetryPolicy | None = None
    ) -> HttpProvider:
        served = serve(*args, env={"RECONCILER_SANDBOX_DELAY": delay})
        provider = HttpProvider(served.url, token, retry=retry, trust_env=False)
        opened.append(provider)
        return provider

    yield open_one
    for provider in opened:
        provider.close()


def provision(sub: str, app: str, site: str, org: str) -> Change:
    return Change(f"provision:{sub}:{app}", Action.PROVISION, sub, app, site, org, (), "test", None)


def create_site(site: str, org: str) -> Change:
    return Change(f"create-site:{site}", Action.CREATE_SITE, None, None, site, org, (), "test", None)


def test_observe_over_http_equals_observe_in_process(estate: Path, provider_for: OpenProvider) -> None:
    provider = provider_for()
    with SandboxConsole(sandbox_db(estate)) as console:
        assert provider.observe() == console.observe(ALICE)


def test_observe_follows_every_page(
    tmp_path: Path, provider_for: OpenProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    SandboxConsole.create(sandbox_db(tmp_path), seed_many(120)).close()
    monkeypatch.setattr(client, "PAGE_SIZE", 25)
    provider = provider_for()
    observed = provider.observe()
    assert len(observed.subscriptions) == len(observed.sites) == 120
    with SandboxConsole(sandbox_db(tmp_path)) as console:
        assert observed == console.observe(ALICE)


def test_observe_shows_provisioning_in_progress(estate: Path, provider_for: OpenProvider) -> None:
    provider = provider_for(delay="30")
    operation = provider.execute(provision("SUB-1001", "focus", "acme", "acme-corp"), "key-pending")
    assert operation.status == OperationStatus.PENDING
    observed = provider.observe()
    assert observed.subscriptions["SUB-1001"].pending == {"focus": "acme"}
    with SandboxConsole(sandbox_db(estate)) as console:
        assert observed == console.observe(ALICE)


def test_execute_then_poll_the_operation(estate: Path, provider_for: OpenProvider) -> None:
    provider = provider_for(delay="0.2")
    operation = provider.execute(create_site("acme-align", "acme-corp"), "key-site")
    assert operation.status == OperationStatus.PENDING
    deadline = time.monotonic() + 10
    while not operation.done and time.monotonic() < deadline:
        time.sleep(0.05)
        operation = provider.operation(operation.id)
    assert operation.status == OperationStatus.SUCCEEDED
    assert "acme-align" in provider.observe().sites


def test_a_refusal_is_a_provider_error_with_the_rule_id(estate: Path, provider_for: OpenProvider) -> None:
    provider = provider_for()
    with pytest.raises(ProviderError) as caught:
        provider.execute(provision("SUB-1001", "focus", "acme-std", "acme-corp"), "key-refused")
    assert caught.value.code == "premium-site"
    assert (
        caught.value.message
        == "focus needs a site with Jira Premium or Enterprise; acme-std has Jira Standard"
    )
    assert caught.value.transient is False


def test_an_unknown_operation_is_not_found(estate: Path, provider_for: OpenProvider) -> None:
    with pytest.raises(ProviderError) as caught:
        provider_for().operation("op-does-not-exist")
    assert caught.value.code == "not-found"


def test_a_wrong_token_is_unauthorized_and_not_repeated(estate: Path, provider_for: OpenProvider) -> None:
    provider = provider_for(token="wrong-token-123")
    with pytest.raises(ProviderError) as caught:
        provider.observe()
    assert caught.value.code == "unauthorized"
    assert caught.value.message == (
        f"the console at {provider.description} did not accept the token in RECONCILER_TOKEN (HTTP 401)"
    )
    assert caught.value.hint == "set RECONCILER_TOKEN to an API token of a user of this console"
    assert "wrong-token-123" not in f"{caught.value.message} {caught.value.hint} {provider!r}"


def test_retries_make_a_failing_console_look_reliable(estate: Path, provider_for: OpenProvider) -> None:
    retry = RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.1)
    provider = provider_for("--fail-rate", "0.4", "--seed-faults", "11", retry=retry)
    changes = [provision("SUB-1001", app, "acme", "acme-corp") for app in ("focus", "talent")]
    changes.append(create_site("acme-align", "acme-corp"))
    with ThreadPoolExecutor(3) as pool:
        operations = list(pool.map(lambda c: provider.execute(c, f"key-{c.id}"), changes))
    assert all(op.status == OperationStatus.SUCCEEDED for op in operations)
    for _ in range(5):
        assert provider.observe().subscriptions["SUB-1001"].apps == {
            "jira-align": None,
            "focus": "acme",
            "talent": "acme",
        }
    with SandboxConsole(sandbox_db(estate)) as console:
        assert console.write_count() == 3


def test_rate_limits_are_waited_out(estate: Path, provider_for: OpenProvider) -> None:
    provider = provider_for("--rate-limit", "4")
    started = time.monotonic()
    # Seven requests at once against a bucket of four: three are told to come back in a second.
    with SandboxConsole(sandbox_db(estate)) as console:
        assert provider.observe() == console.observe(ALICE)
    assert time.monotonic() - started >= 0.9


def test_gives_up_after_the_bound_as_a_transient_error(estate: Path, provider_for: OpenProvider) -> None:
    provider = provider_for("--fail-rate", "1", retry=FAST_RETRY)
    with pytest.raises(ProviderError) as caught:
        provider.operation("op-1")
    assert caught.value.code == "unavailable"
    assert caught.value.transient is True
    assert re.fullmatch(
        rf"the console at {re.escape(provider.description)} did not answer GET /v1/operations/op-1 "
        r"after 3 failed attempt\(s\) in \d+\.\ds \(last: .+\)",
        caught.value.message,
    ), caught.value.message
    assert (
        caught.value.hint == "check that the console is up and reachable; running the command again is safe"
    )


def test_a_console_that_is_not_there_is_unavailable(tmp_path: Path) -> None:
    provider = HttpProvider("http://127.0.0.1:9", TOKEN, retry=FAST_RETRY, trust_env=False)
    with pytest.raises(ProviderError) as caught:
        provider.observe()
    assert caught.value.code == "unavailable"
    assert "(last: ConnectError: " in caught.value.message
    provider.close()


@pytest.mark.parametrize(
    "url, message, hint",
    [
        (
            "http://console.example.com",
            "refusing plain http:// to console.example.com: the token would cross the network unencrypted",
            HTTPS_HINT,
        ),
        (
            "http://10.1.2.3:8080",
            "refusing plain http:// to 10.1.2.3: the token would cross the network unencrypted",
            HTTPS_HINT,
        ),
        (
            "https://alice:s3cret@console.example.com",
            "provider URL https://console.example.com carries credentials",
            "remove them from the URL and put the API token in RECONCILER_TOKEN",
        ),
        (
            "https://console.example.com:port",
            "provider URL https://console.example.com:port is not a valid URL",
            "e.g. https://console.example.com",
        ),
    ],
)
def test_urls_refused_before_any_request(url: str, message: str, hint: str) -> None:
    with pytest.raises(ReconcilerError) as caught:
        open_http_provider(ProviderSettings(url=url, token=TOKEN))
    assert (caught.value.message, caught.value.hint) == (message, hint)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.9.9.9", "http://[::1]:80", "http://localhost:1"]
)
def test_plain_http_is_fine_on_loopback(url: str) -> None:
    provider = open_http_provider(ProviderSettings(url=url, token=TOKEN))
    assert provider.description == url
    provider.close()


def test_a_missing_token_is_an_error_with_a_hint() -> None:
    with pytest.raises(ReconcilerError) as caught:
        open_http_provider(ProviderSettings(url="http://127.0.0.1:8080"))
    assert caught.value.message == "the http provider needs an API token, and RECONCILER_TOKEN is not set"
    assert caught.value.hint == (
        "export RECONCILER_TOKEN=<your API token> (the sandbox's tokens are in its seed file)"
    )


def test_the_token_is_in_no_description_or_repr() -> None:
    provider = open_http_provider(ProviderSettings(url="http://127.0.0.1:8080/", token=TOKEN))
    assert provider.description == "http://127.0.0.1:8080"
    assert (
        TOKEN not in f"{provider!r} {provider.description} {vars(provider)!r} {vars(provider._transport)!r}"
    )
    provider.close()


def test_a_connection_the_console_closed_while_idle_is_replaced_not_retried(estate: Path) -> None:
    console = SandboxConsole(sandbox_db(estate))
    server = make_server(ConsoleApi(console), "127.0.0.1", 0, FaultSettings())
    server.socket_timeout = 0.2  # the console drops a connection silent this long
    threading.Thread(target=server.serve_forever, daemon=True).start()
    once = RetryPolicy(max_attempts=1, max_elapsed=10.0, base_delay=0.01, max_delay=0.05)
    provider = HttpProvider(f"http://127.0.0.1:{server.port}", TOKEN, retry=once, trust_env=False)
    try:
        first = provider.console_id()
        time.sleep(0.6)  # the pooled connection is closed by now
        assert provider.console_id() == first  # a retry would have been a failure: one try only
    finally:
        provider.close()
        server.shutdown()
        server.server_close()
        console.close()
