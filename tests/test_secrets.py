"""The token is masked wherever it would appear; a token too short to be one is left alone."""

from __future__ import annotations

from reconciler.secrets import scrub


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
