"""`AtlassianProvider`: observe through the Admin API and the declared facts; never write."""

from __future__ import annotations

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.loading.facts import load_facts
from reconciler.model import Change, Console, Operation
from reconciler.network import is_loopback
from reconciler.providers.atlassian.client import ENV_API_KEY, AdminClient
from reconciler.providers.atlassian.observed import build_console
from reconciler.providers.base import READ_ONLY, Capabilities, ProviderSettings
from reconciler.providers.http.opening import checked_token, checked_url, tls_verification
from reconciler.providers.http.transport import RetryPolicy
from reconciler.secrets import without_credentials

SCHEME = "atlassian"
PUBLIC_API = "https://api.atlassian.com"


class AtlassianProvider:
    def __init__(self, client: AdminClient, facts_path: str, actor: str | None, description: str) -> None:
        self._client = client
        self._facts_path = facts_path
        self._actor = actor
        self._description = description

    @property
    def description(self) -> str:
        return self._description

    @property
    def capabilities(self) -> Capabilities:
        return READ_ONLY

    def __repr__(self) -> str:
        return f"AtlassianProvider({self._description!r})"

    def observe(self) -> Console:
        facts = load_facts(self._facts_path)
        orgs = self._client.orgs()
        workspaces = {org.id: self._client.workspaces(org.id) for org in orgs}
        return build_console(orgs, workspaces, facts, now=self._client.today(), actor=self._actor)

    def execute(self, change: Change, idempotency_key: str) -> Operation:
        raise self._read_only()

    def operation(self, operation_id: str) -> Operation:
        raise self._read_only()

    def close(self) -> None:
        self._client.close()

    def _read_only(self) -> ProviderError:
        return ProviderError(
            "no public Atlassian API provisions, cancels or reactivates subscriptions: "
            "the atlassian provider cannot make changes",
            code="read-only",
            hint="apply by runbook: 'reconciler apply' shows each step and waits until it is observed done",
        )


def open_atlassian_provider(settings: ProviderSettings) -> AtlassianProvider:
    base = settings.url.partition(":")[2] or PUBLIC_API
    if not base.startswith(("http://", "https://")):
        raise ReconcilerError(
            f"provider {without_credentials(settings.url)} names no API URL",
            hint="use atlassian: for api.atlassian.com, or atlassian:https://HOST "
            "(atlassian:http://127.0.0.1:PORT for the stand-in)",
        )
    base_url, host, scheme = checked_url(base, credential=ENV_API_KEY)
    if scheme == "http" and not is_loopback(host):
        raise ReconcilerError(
            f"refusing plain http:// to {host}: the API key would cross the network unencrypted",
            hint="use https://; plain http:// is only for the stand-in on loopback "
            "(127.0.0.1, ::1, localhost)",
        )
    api_key = checked_token(settings.token, credential=ENV_API_KEY, how="an Atlassian Admin API key")
    verify = tls_verification() if scheme == "https" else False
    client = AdminClient(
        base_url, api_key, verify=verify, trust_env=not is_loopback(host), retry=RetryPolicy()
    )
    facts = settings.facts or "billing"
    return AtlassianProvider(client, facts, settings.actor, f"{SCHEME}:{base_url}")
