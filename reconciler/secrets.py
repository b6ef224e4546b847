"""Keeping the REST token out of everything reconciler prints or stores."""

from __future__ import annotations

MASK = "***"
#: A token shorter than this is not searched for: masking "t" or "ab" inside every word would make
#: every message unreadable, and a token that short guards nothing.
MIN_LENGTH = 4


def scrub(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` masked."""
    if not secret or len(secret) < MIN_LENGTH:
        return text
    return text.replace(secret, MASK)
