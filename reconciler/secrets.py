"""Keeping credentials out of everything reconciler prints or stores."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

MASK = "***"
#: A token shorter than this is not searched for: masking "t" or "ab" inside every word would make
#: every message unreadable, and a token that short guards nothing.
MIN_LENGTH = 4

#: Environment variables whose values are credentials: their values never reach a log.
SECRET_ENV = (
    "RECONCILER_TOKEN",
    "RECONCILER_ATLASSIAN_API_KEY",
    "PGPASSWORD",
    "GITHUB_TOKEN",
    "CI_JOB_TOKEN",
)

#: `scheme://userinfo@`: a user name and password, or a token, in front of a host.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]*)@")
#: `?name=value` / `&name=value` in a URL, and libpq's `password=value` outside one. A name stops
#: at the next `?` or `;` as at `&`: else a text of many `?` and no `=` (a plugin's error, a
#: dump) is searched from each one to its end, in time that grows as its square.
_QUERY_VALUE = re.compile(r"(?P<lead>[?&;][^=&#?;\s'\"]+=)(?P<value>[^&#\s'\"]+)")
_KEYWORD_SECRET = re.compile(
    r"(?P<lead>\b(?:password|passwd|pwd|secret|token|api[_-]?key)\s*=\s*)(?P<value>'[^']*'|[^\s'\"&]+)",
    re.IGNORECASE,
)
#: query parameters that carry no secret and help a reader of a log: kept as they are
_HARMLESS_PARAMETERS = frozenset({"limit", "cursor", "format", "page", "per_page", "sslmode"})


def scrub(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` masked."""
    if not secret or len(secret) < MIN_LENGTH:
        return text
    return text.replace(secret, MASK)


def scrub_all(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        text = scrub(text, secret)
    return text


def redact_urls(text: str) -> str:
    """Every URL in `text` without its userinfo (`https://***@host`) and with its query values masked
    (`?token=***`), and every `password=...` masked: for text that was never meant to be shown."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)

    def query(match: re.Match[str]) -> str:
        name = match["lead"][1:-1].lower()
        return match[0] if name in _HARMLESS_PARAMETERS else f"{match['lead']}{MASK}"

    text = _QUERY_VALUE.sub(query, text)
    return _KEYWORD_SECRET.sub(lambda m: f"{m['lead']}{MASK}", text)


def shown_url(url: str) -> str:
    """`url`, which may not parse, fit for a message: all it holds before its last `@` (a user and
    a password, which may hold `/`, `?` or `@` itself) masked, and its query values."""
    scheme, separator, rest = url.partition("://")
    if separator and "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return redact_urls(f"{scheme}{separator}{rest}")


def redact(text: str) -> str:
    """`text` fit for a log file: the known credentials of the environment and any in a URL masked."""
    return redact_urls(scrub_all(text, (os.environ.get(name) for name in SECRET_ENV)))
