"""Small facts about addresses that both the server and the http provider need."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def without_credentials(url: str) -> str:
    """The URL fit for messages and plan files: without `user:password@`, its query and its
    fragment, where a token may be too (`?access_token=...`); no console URL needs either."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unparsable URL>"
    if not parts.netloc and "://" in parts.path:  # a provider's scheme in front of one: atlassian:https://...
        return f"{parts.scheme}:{without_credentials(url.partition(':')[2])}"
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment=""))
