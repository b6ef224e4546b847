"""The token is masked wherever it would appear; a token too short to be one is left alone."""

from __future__ import annotations

import time

import pytest

from reconciler.secrets import redact, redact_urls, scrub, shown_url


def test_every_occurrence_is_masked() -> None:
    text = "GET https://console/v1 with sandbox-token-alice failed: sandbox-token-alice refused"
    assert scrub(text, "sandbox-token-alice") == "GET https://console/v1 with *** failed: *** refused"


def test_no_token_leaves_the_text() -> None:
    assert scrub("the console answered 500", None) == "the console answered 500"
    assert scrub("the console answered 500", "") == "the console answered 500"


def test_a_token_of_a_letter_or_two_does_not_mangle_every_word() -> None:
    message = "the console at https://127.0.0.1:8443 answered with a certificate it cannot verify"
    assert scrub(message, "t") == message
    assert scrub(message, "te") == message
    assert scrub(message, "cert") == message.replace("cert", "***")


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("https://alice:hunter2@console.example/v1", "https://***@console.example/v1"),
        ("https://ghp_abcdef123456@github.com/org/repo", "https://***@github.com/org/repo"),
        ("postgresql://ci:s3cr%40t@db:5432/state", "postgresql://***@db:5432/state"),
        ("--provider=atlassian:https://u:p@h", "--provider=atlassian:https://***@h"),
        ("GET https://h/v1/sites?token=abc123&limit=10", "GET https://h/v1/sites?token=***&limit=10"),
        (
            "https://h/x?access_token=abc&X-Amz-Signature=f00d",
            "https://h/x?access_token=***&X-Amz-Signature=***",
        ),
        ("https://h/x?sig=abc#frag", "https://h/x?sig=***#frag"),
        ("host=db user=ci password=s3cret dbname=state", "host=db user=ci password=*** dbname=state"),
        ("connect(\"dbname=x password='two words'\")", 'connect("dbname=x password=***")'),
        ("api_key=AKIA123 and apikey=zzz9", "api_key=*** and apikey=***"),
        (
            "https://console.example/v1/me?cursor=eyJh&limit=5",
            "https://console.example/v1/me?cursor=eyJh&limit=5",
        ),
    ],
)
def test_urls_lose_their_userinfo_and_query_secrets(text: str, redacted: str) -> None:
    assert redact_urls(text) == redacted


@pytest.mark.parametrize("text", ["?" * 1_000_000, "?a" * 500_000, ";x&y" * 250_000])
def test_a_megabyte_of_query_marks_is_redacted_at_once(text: str) -> None:
    started = time.monotonic()
    assert redact_urls(text) == text
    assert time.monotonic() - started < 5


def test_known_credentials_of_the_environment_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_TOKEN", "tok-123456")
    monkeypatch.setenv("PGPASSWORD", "pg-pass-99")
    monkeypatch.setenv("RECONCILER_ATLASSIAN_API_KEY", "atl-key-77")
    assert redact("tok-123456 pg-pass-99 atl-key-77 plain") == "*** *** *** plain"


@pytest.mark.parametrize(
    ("echoed", "token"),
    [
        ("refused for Zq9%2FSECRETpw%2Bx", "Zq9/SECRETpw+x"),
        ("refused for Zq9%2fSECRETpw%2bx", "Zq9/SECRETpw+x"),
        ("refused for Zq9%2FSECRETpw+x", "Zq9/SECRETpw+x"),
        ("refused for two+words+here", "two words here"),
        ("refused for caf%C3%A9-token", "caf\u00e9-token"),
    ],
    ids=["upper-hex", "lower-hex", "partly", "plus-for-space", "utf-8"],
)
def test_a_token_echoed_percent_encoded_is_masked_too(echoed: str, token: str) -> None:
    # A console answering with the request's URL or form quotes the token encoded.
    assert scrub(echoed, token) == "refused for ***"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:Zq9/SECRET@h/x", "https://***@h/x"),
        ("postgresql://u:Zq9 SECRET@h/db", "postgresql://***@h/db"),
        ("postgresql://u:Zq9@SECRET@h/db", "postgresql://***@h/db"),
        ("http:u:Zq9SECRET@127.0.0.1", "http:***@127.0.0.1"),
        (":Zq9SECRET@host", "***@host"),
        ("host?token=Zq9SECRET", "host?token=***"),
        ("https://h:99999/x#access_token=Zq9SECRET", "https://h:99999/x#***"),
        ("https://h/?Zq9SECRET", "https://h/?***"),
        ("https://h/?limit=5&key=Zq9SECRET", "https://h/?limit=5&key=***"),
        ("atlassian:u:Zq9SECRET@host", "atlassian:***@host"),
        ("atlassian:https://u:p@[::1/#Zq9SECRET", "atlassian:https://***@[::1/#***"),
        ("mysql:u:Zq9SECRET@h/db", "mysql:***@h/db"),
        ("sandbox:.reconciler/sandbox.db", "sandbox:.reconciler/sandbox.db"),
    ],
)
def test_a_url_in_a_message_shows_no_part_of_a_credential(url: str, shown: str) -> None:
    assert shown_url(url) == shown
