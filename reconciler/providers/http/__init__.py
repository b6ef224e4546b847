"""The `http` provider: the console API's client (schemas/console-api.openapi.yaml).

Built for a console that is slow, paginated, rate-limited and sometimes failing: one pooled
connection set, timeouts, retries with exponential backoff and full jitter that honour
`Retry-After`, and an `Idempotency-Key` on every write, so a retried write, even one whose response
was lost after the console made it, never has a second effect.

`transport` sends one request and retries it within bounds, `client` is the Provider over it
(reading every collection, writing changes), and `opening` checks the URL, token and TLS settings.

The bearer token is a secret: it is sent in the Authorization header and nowhere else. It is not in
`description`, in `repr`, or in any error message (messages are scrubbed of it to be sure).
"""

from __future__ import annotations

from reconciler.providers.http.client import HttpProvider
from reconciler.providers.http.opening import open_http_provider
from reconciler.providers.http.transport import RetryPolicy

__all__ = ["HttpProvider", "RetryPolicy", "open_http_provider"]
