"""The atlassian provider against the stand-in: what it observes, what it takes from declared facts."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import JIRA_UNDECLARED, Site
from reconciler.providers import ProviderSettings, open_provider
from reconciler.providers.base import READ_ONLY
from reconciler.sandbox.seedfile import example_seed
from tests.atlassian.conftest import ALICE, KEY, InProcess, atlassian_env
from tests.helpers import clean_env
from tests.http.conftest import Served, sandbox_db, start_server


def settings(url: str, estate: Path, key: str = KEY) -> ProviderSettings:
    return ProviderSettings(url=f"atlassian:{url}", actor=ALICE, token=key, facts=str(estate / "billing"))


def test_observes_orgs_sites_and_apps_and_declares_the_rest(estate: Path, stand_in: Served) -> None:
    provider = open_provider(settings(stand_in.url, estate))
    try:
        assert provider.capabilities == READ_ONLY
        console = provider.observe()
    finally:
        provider.close()
    assert sorted(console.organizations) == ["acme-corp", "acme-labs"]
    assert console.organizations["acme-corp"].name == "ACME Corp"
    assert console.sites == {
        "acme": Site("acme", "acme-corp", "premium"),
        "acme-sandbox": Site("acme-sandbox", "acme-corp", "premium", sandbox=True),
        "acme-std": Site("acme-std", "acme-corp", "standard"),
        "labs": Site("labs", "acme-labs", "enterprise"),
        "labs-align": Site("labs-align", "acme-labs", None),
    }
    # Where the apps run is observed (their workspaces); which subscription owns one, declared.
    assert console.subscriptions["SUB-1002"].apps == {"focus": "labs"}
    assert console.subscriptions["SUB-1004"].apps == {"jira-align": "labs-align"}
    assert console.subscriptions["SUB-1001"].apps == {"jira-align": None, "focus": None, "talent": None}
    assert console.now.isoformat() == "2026-11-21", "today is the API's Date, the sandbox's clock"
    assert console.declared["subscription:SUB-1001"].fact == (
        "SUB-1001: strategy-collection, active, billing account AC-1111-2222-3333"
    )
    assert str(console.declared["site-jira:acme"].source) == "billing/accounts.yaml:23:11".replace(
        "billing/", f"{estate / 'billing'}/"
    )
    assert "site-jira:labs-align" not in console.declared, "no Jira observed there: nothing to declare"
    assert console.notes == ()


def test_the_provider_never_writes(estate: Path, stand_in: Served) -> None:
    provider = open_provider(settings(stand_in.url, estate))
    try:
        with pytest.raises(ProviderError) as raised:
            provider.operation("op-1")
    finally:
        provider.close()
    assert raised.value.code == "read-only"
    assert raised.value.message == (
        "no public Atlassian API provisions, cancels or reactivates subscriptions: "
        "the atlassian provider cannot make changes"
    )


def test_every_page_is_read(tmp_path: Path) -> None:
    """One org per page, and an org with more workspaces than one page holds."""
    base = example_seed()
    many = tuple(Site(f"team-{i:03d}", "acme-corp", "premium") for i in range(130))
    served = InProcess(
        sandbox_db(tmp_path), dataclasses.replace(base, sites=(*base.sites, *many)), orgs_page_size=1
    )
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "f.yaml").write_text("version: 1\n")
    try:
        provider = open_provider(settings(served.url, tmp_path))
        try:
            console = provider.observe()
        finally:
            provider.close()
    finally:
        served.close()
    assert sorted(console.organizations) == ["acme-corp", "acme-labs"]
    assert len([s for s in console.sites.values() if s.org == "acme-corp"]) == 133
    assert console.sites["team-129"].jira == JIRA_UNDECLARED
    assert (
        console.notes[0]
        == "a focus workspace is observed on labs, but no declared subscription accounts for it"
    )


def test_rate_limits_are_waited_out_with_or_without_retry_after(estate: Path, serve_limited: Served) -> None:
    provider = open_provider(settings(serve_limited.url, estate))
    try:
        for _ in range(3):
            assert sorted(provider.observe().organizations) == ["acme-corp", "acme-labs"]
    finally:
        provider.close()
    assert " 429 " in serve_limited.log.read_text()


@pytest.fixture
def serve_limited(estate: Path) -> Served:
    served = start_server(estate, "--api", "atlassian", "--rate-limit", "3")
    yield served  # type: ignore[misc]
    served.stop()


def test_a_wrong_key_is_refused_and_never_shown(estate: Path, stand_in: Served) -> None:
    provider = open_provider(settings(stand_in.url, estate, key="not-a-key-of-anyone"))
    try:
        with pytest.raises(ProviderError) as raised:
            provider.observe()
    finally:
        provider.close()
    assert raised.value.message == (
        f"the console at {stand_in.url} did not accept the token in RECONCILER_ATLASSIAN_API_KEY (HTTP 401)"
    )


def test_plain_http_to_another_host_is_refused(estate: Path) -> None:
    with pytest.raises(ReconcilerError) as raised:
        open_provider(settings("http://api.example.com", estate))
    assert raised.value.message == (
        "refusing plain http:// to api.example.com: the API key would cross the network unencrypted"
    )


def test_plan_is_the_sandbox_plan_with_its_declared_facts_marked(estate: Path, stand_in: Served) -> None:
    env = clean_env(**atlassian_env(stand_in.url))
    run = [sys.executable, "-m", "reconciler", "plan", "--format", "json"]
    over_api = subprocess.run(run, cwd=estate, env=env, capture_output=True, text=True, timeout=60)
    sandbox_env = clean_env(RECONCILER_ACTOR=ALICE, RECONCILER_SANDBOX_DELAY="0")
    local = subprocess.run(run, cwd=estate, env=sandbox_env, capture_output=True, text=True, timeout=60)
    assert over_api.returncode == local.returncode == 0, over_api.stderr
    import json

    remote, here = json.loads(over_api.stdout), json.loads(local.stdout)
    assert remote["checksum"] == here["checksum"]
    assert remote["provenance"] == [
        "observed: 2 organizations, 5 sites, 6 workspaces (the Admin API)",
        "declared: 4 subscriptions, 2 billing accounts, the people of 2 organizations, 4 Jira editions "
        "(billing/accounts.yaml, billing/subscriptions.yaml)",
    ]
    assert "provenance" not in here
    assert all("declared" not in c for c in here["changes"]), "the sandbox observes everything"
    focus = next(c for c in remote["changes"] if c["id"] == "provision:SUB-1001:focus")
    assert [f["fact"] for f in focus["declared"]] == [
        "SUB-1001: strategy-collection, active, billing account AC-1111-2222-3333",
        "billing account AC-1111-2222-3333: direct, billing admins alice@acme.example",
        "org acme-corp: admins alice@acme.example; members dana@acme.example",
        "site acme: Jira Premium",
    ]
    assert focus["declared"][3]["source"] == {"file": "billing/accounts.yaml", "line": 23, "column": 11}
    assert "KEY" not in over_api.stdout and KEY not in over_api.stdout + over_api.stderr
