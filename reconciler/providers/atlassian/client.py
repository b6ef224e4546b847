"""The Admin API's client: organizations and their workspaces, every page, within bounds.

Pages are followed through `links.next` only to the host the key was given for (a link elsewhere
would carry the API key to it), and only so far: a bounded number of pages, each answer of a
bounded size, a loop of cursors refused. 429s are waited out (Retry-After when sent, else the
X-RateLimit-* headers) by the transport, which also retries 5xx and dropped connections.
"""

from __future__ import annotations

import datetime as dt
import ssl
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconciler import adminwire
from reconciler.adminwire import AdminWireError, Org, Workspace
from reconciler.providers.http.transport import RetryPolicy, Transport
from reconciler.wire import WireError

ENV_API_KEY = "RECONCILER_ATLASSIAN_API_KEY"
#: One answer's size limit: a page of 100 workspaces is ~50 KB.
MAX_RESPONSE_BYTES = 8 << 20
#: How many pages of one list are followed before the answer is taken as endless.
MAX_PAGES = 10_000
#: what an answer from another API than the Admin API suggests
ADMIN_API_HINT = (
    "RECONCILER_PROVIDER (or --provider) may point at the wrong API: atlassian:URL is read as the "
    "Atlassian Admin API (docs/atlassian.md); for the console API of 'reconciler sandbox serve' "
    "use its http(s):// URL without atlassian: (docs/http.md)"
)


class AdminClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        verify: ssl.SSLContext | bool,
        trust_env: bool,
        retry: RetryPolicy,
    ) -> None:
        self.url = base_url
        self._base = urlsplit(base_url)
        self._transport = Transport(
            base_url,
            api_key,
            verify=verify,
            retry=retry,
            trust_env=trust_env,
            credential=ENV_API_KEY,
            max_response_bytes=MAX_RESPONSE_BYTES,
            wrong_api=ADMIN_API_HINT,
        )

    def close(self) -> None:
        self._transport.close()

    def today(self) -> dt.date:
        """The API's clock (its latest Date header), in UTC; the local clock when it sent none."""
        header = self._transport.last_date
        if header:
            try:
                return parsedate_to_datetime(header).astimezone(dt.UTC).date()
            except (TypeError, ValueError):
                pass
        return dt.datetime.now(dt.UTC).date()

    def orgs(self) -> list[Org]:
        items = self._pages("GET", adminwire.ORGS_PATH, None)
        return [self._decoded(adminwire.decode_org, item) for item in items]

    def workspaces(self, org_id: str) -> list[Workspace]:
        body = {"limit": adminwire.MAX_WORKSPACE_LIMIT}
        items = self._pages("POST", adminwire.workspaces_path(org_id), body)
        return [self._decoded(adminwire.decode_workspace, item) for item in items]

    def _pages(self, method: str, path: str, body: dict[str, Any] | None) -> list[Any]:
        items: list[Any] = []
        params: dict[str, str | int] | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            # The first page's path is the API's own: a 404 there says the URL is another API's.
            answer = self._transport.request(method, path, params=params, body=body, own_path=not seen)
            try:
                items.extend(answer["data"])
                next_link = (answer.get("links") or {}).get("next")
            except (KeyError, TypeError, AttributeError) as exc:
                raise self._malformed(f"a page of {path} is malformed ({exc!r})") from None
            if not next_link:
                return items
            if not isinstance(next_link, str) or next_link in seen:
                raise self._malformed(f"the pages of {path} do not lead to an end")
            seen.add(next_link)
            path, params = self._follow(next_link)
        raise self._malformed(f"{path} has more than {MAX_PAGES} pages")

    def _follow(self, link: str) -> tuple[str, dict[str, str | int]]:
        """The path and query of a `links.next`, which must point back at the same API."""
        parts = urlsplit(link)
        if parts.netloc and (parts.scheme, parts.netloc.lower()) != (
            self._base.scheme,
            self._base.netloc.lower(),
        ):
            raise self._malformed(f"a next link points at another host ({parts.scheme}://{parts.netloc})")
        path = parts.path
        prefix = self._base.path.rstrip("/")
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        params: dict[str, str | int] = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        return path, params

    def _decoded(self, decode: Any, item: Any) -> Any:
        try:
            return decode(item)
        except AdminWireError as exc:
            raise self._malformed(str(exc)) from None

    def _malformed(self, text: str) -> Exception:
        return self._transport.malformed(WireError(text))
