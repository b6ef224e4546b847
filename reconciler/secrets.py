"""Keeping credentials out of everything reconciler prints or stores."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

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
    """`text` with every occurrence of `secret` masked, as written and as a URL or a form would
    carry it (`%2F` for `/`, `+` for a space): a console may echo a token percent-encoded."""
    if not secret or len(secret) < MIN_LENGTH:
        return text
    text = text.replace(secret, MASK)
    if secret.isalnum():  # nothing in it is ever escaped
        return text
    return _encoded_forms(secret).sub(MASK, text)


@functools.lru_cache(maxsize=16)
def _encoded_forms(secret: str) -> re.Pattern[str]:
    """`secret` with any of its characters percent-encoded (hex digits in either case), or a space
    as `+`."""

    def one(character: str) -> str:
        escaped = "".join(f"%{byte:02X}" for byte in character.encode())
        forms = [re.escape(character), f"(?i:{re.escape(escaped)})"]
        if character == " ":
            forms.append(r"\+")
        return f"(?:{'|'.join(forms)})"

    return re.compile("".join(one(character) for character in secret))


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


#: A URL scheme (RFC 3986): `http`, `postgresql+psycopg`; what comes before the first `:` otherwise
#: is no scheme (`:pw@host`, `host?token=x`), and the whole text is the URL's rest.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
#: schemes whose rest is a file path, where `@`, `?` and `#` are part of a name
_FILE_SCHEMES = frozenset({"sandbox", "sqlite"})


class UrlParts(NamedTuple):
    """A URL that may not parse, cut where a credential may stand."""

    lead: str  #: the scheme and its `:`, or ""
    slashes: str  #: `//` or ""
    userinfo: bool  #: whether a user and password stood before the host (now cut off)
    body: str  #: the host and path
    tail: str  #: the query and fragment (`?...#...`), or ""


def url_parts(url: str) -> UrlParts:
    """`url` cut into its parts. Whatever stands before the last `@` is a user and password, with
    or without `//` (`http:user:pw@host`) and whatever it holds (`/`, `?`, `#` and `@` too): a
    password is never half shown. Text before a first `:` that is no scheme (`:pw@host`,
    `host?token=x`) makes the whole text the URL's rest."""
    scheme, colon, rest = url.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme):
        scheme, colon, rest = "", "", url
    slashes = "//" if rest.startswith("//") else ""
    rest = rest[len(slashes) :]
    userinfo = "@" in rest
    rest = rest.rpartition("@")[2]
    end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    return UrlParts(f"{scheme}{colon}", slashes, userinfo, rest[:end], rest[end:])


def shown_url(url: str) -> str:
    """`url`, which may not parse, fit for a message: a user and password masked (`***@`), and its
    query and fragment (`?***`, `#***`), where a token may be."""

    def masked(parts: UrlParts) -> str:
        userinfo = f"{MASK}@" if parts.userinfo else ""
        query, hash_, _ = parts.tail.partition("#")
        shown = "&".join(_masked_parameter(item) for item in query[1:].split("&")) if query else ""
        tail = (f"?{shown}" if query else "") + (f"#{MASK}" if hash_ else "")
        return f"{parts.lead}{parts.slashes}{userinfo}{parts.body}{tail}"

    return _displayed(url, masked)


def _masked_parameter(item: str) -> str:
    """`name=value` with its value masked (unless the name is a harmless one); a bare word whole."""
    name, equals, _ = item.partition("=")
    if not equals:
        return MASK if item else item
    return item if name.lower() in _HARMLESS_PARAMETERS else f"{name}={MASK}"


def without_credentials(url: str) -> str:
    """`url` fit for messages and plan files: without a user and password, query or fragment (where
    a token may be too: `?access_token=...`); no console URL needs either."""
    return _displayed(url, lambda parts: f"{parts.lead}{parts.slashes}{parts.body}")


def _displayed(url: str, show: Callable[[UrlParts], str]) -> str:
    """`url` as `show` shows its parts. A provider's scheme in front of a URL (`atlassian:https://...`)
    is kept and the URL after it shown; a file's path (`sandbox:`, `sqlite:`) is shown as written."""
    scheme, _, rest = url.partition(":")
    if _SCHEME.fullmatch(scheme) and "://" in rest and not rest.startswith("//"):
        return f"{scheme}:{_displayed(rest, show)}"
    if scheme.lower() in _FILE_SCHEMES and not rest.startswith("//"):
        return url  # nothing in a file's name is a URL's user, query or fragment
    return show(url_parts(url))


def redact(text: str) -> str:
    """`text` fit for a log file: the known credentials of the environment and any in a URL masked."""
    return redact_urls(scrub_all(text, (os.environ.get(name) for name in SECRET_ENV)))
