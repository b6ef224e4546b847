"""The `atlassian` provider: a real Atlassian estate, read through the public Admin API.

`--provider atlassian:` reads https://api.atlassian.com; `atlassian:URL` another base URL (the
stand-in that `reconciler sandbox serve --api atlassian` serves). The API key comes from
RECONCILER_ATLASSIAN_API_KEY and is sent in the Authorization header only: never printed, never in
a plan, the journal or a message.

What the API cannot tell comes from declared billing facts (`--facts`, default `billing/`), read
again at every observation so a person who records a cancellation there is seen at once. No public
API provisions, cancels or reactivates, so the provider cannot write (`READ_ONLY`): apply goes by
runbook (docs/atlassian.md).
"""

from __future__ import annotations

from reconciler.providers.atlassian.provider import AtlassianProvider, open_atlassian_provider

__all__ = ["AtlassianProvider", "open_atlassian_provider"]
