"""Opening the http provider: the URL (https, or http to loopback only), the token, TLS trust."""

from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

from reconciler.errors import ReconcilerError
from reconciler.network import is_loopback
from reconciler.providers.base import ProviderSettings
from reconciler.providers.http.client import HttpProvider
from reconciler.providers.http.transport import ENV_CA_BUNDLE
from reconciler.secrets import without_credentials


def open_http_provider(settings: ProviderSettings) -> HttpProvider:
    base_url, host, scheme = checked_url(settings.url)
    if scheme == "http" and not is_loopback(host):
        raise ReconcilerError(
            f"refusing plain http:// to {host}: the token would cross the network unencrypted",
            hint="use https:// for a console on another machine; plain http:// is only for loopback "
            "(127.0.0.1, ::1, localhost)",
        )
    token = checked_token(settings.token)
    # Plain http (loopback only) has no certificate to verify; not loading the CA store for it
    # saves ~25 ms per client. Loopback traffic must not go through a proxy from the environment.
    verify = tls_verification() if scheme == "https" else False
    return HttpProvider(base_url, token, verify=verify, trust_env=not is_loopback(host))


def checked_url(url: str, *, credential: str = "RECONCILER_TOKEN") -> tuple[str, str, str]:
    """(base URL, host, scheme) of an http(s) URL without credentials in it."""
    shown = without_credentials(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ReconcilerError(
            f"provider URL {shown} is not a valid URL", hint="e.g. https://console.example.com"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ReconcilerError(
            f"provider URL {shown} needs http:// or https:// and a host",
            hint="e.g. https://console.example.com",
        )
    if "@" in parts.netloc:
        raise ReconcilerError(
            f"provider URL {shown} carries credentials",
            hint=f"remove them from the URL and put the API token in {credential}",
        )
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}", parts.hostname, scheme


def checked_token(
    token: str | None, *, credential: str = "RECONCILER_TOKEN", how: str = "an API token"
) -> str:
    if not token:
        if credential == "RECONCILER_TOKEN":
            raise ReconcilerError(
                "the http provider needs an API token, and RECONCILER_TOKEN is not set",
                hint="export RECONCILER_TOKEN=<your API token> (the sandbox's tokens are in its seed file)",
            )
        raise ReconcilerError(
            f"the provider needs {how}, and {credential} is not set",
            hint=f"export {credential}=<the key> (docs/atlassian.md says how to make one)",
        )
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise ReconcilerError(
            f"{credential} holds characters a bearer token cannot carry (spaces, control or non-ASCII)",
            hint="copy the token again without surrounding spaces or line breaks",
        )
    return token


def tls_verification() -> ssl.SSLContext | bool:
    bundle = os.environ.get(ENV_CA_BUNDLE)
    if not bundle:
        return True
    try:
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ReconcilerError(
            f"cannot use the CA bundle {bundle} from {ENV_CA_BUNDLE}: {exc}",
            hint=f"point {ENV_CA_BUNDLE} at a readable PEM file of CA certificates, or unset it",
        ) from None
