"""The `sandbox` provider: the Provider protocol over a SandboxConsole, acting as one user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from reconciler.errors import ProviderError, ReconcilerError
from reconciler.model import Action, Change
from reconciler.providers import Provider, ProviderSettings, open_provider
from reconciler.providers.sandbox import SandboxProvider
from tests.sandbox.consoles import ALICE, DANA, RULES_SEED, console_from


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RECONCILER_SANDBOX_DELAY", "0")
    return tmp_path


@pytest.fixture
def provider(in_tmp: Path) -> Iterator[Provider]:
    console_from(RULES_SEED, in_tmp, "rules.db").close()
    opened = open_provider(ProviderSettings("sandbox:rules.db"))
    yield opened
    opened.close()


def change(action: Action, **fields: str) -> Change:
    values: dict[str, str | None] = {"subscription": None, "app": None, "site": None, "org": None}
    values.update(fields)
    return Change(
        id=f"{action}:{'-'.join(fields.values())}",
        action=action,
        depends_on=(),
        reason="test",
        source=None,
        **values,  # type: ignore[arg-type]
    )


def test_first_use_creates_the_example_and_says_so_once(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with closing(open_sandbox(in_tmp)) as provider:
        assert provider.description == "sandbox:.reconciler/sandbox.db"
        assert provider.observe().actor == ALICE
    assert capsys.readouterr().err == (
        "Created the sandbox console .reconciler/sandbox.db from the built-in example "
        "(use 'reconciler sandbox init --from FILE' for your own).\n"
    )
    with closing(open_sandbox(in_tmp)) as provider:
        assert set(provider.observe().subscriptions) == {"SUB-1001", "SUB-1002", "SUB-1003", "SUB-1004"}
    assert capsys.readouterr().err == ""


def open_sandbox(where: Path) -> SandboxProvider:
    assert Path.cwd() == where
    provider = open_provider(ProviderSettings("sandbox:.reconciler/sandbox.db"))
    assert isinstance(provider, SandboxProvider)
    return provider


def test_the_provider_executes_every_action(provider: Provider) -> None:
    site = provider.execute(change(Action.CREATE_SITE, org="solo-org", site="solo-align"), "k1")
    assert site.status == "succeeded"
    provision = change(Action.PROVISION, subscription="SUB-NEW", app="jira-align", site="solo-align")
    assert provider.execute(provision, "k2").status == "succeeded"
    assert provider.execute(change(Action.CANCEL, subscription="SUB-NEW"), "k3").status == "succeeded"
    assert provider.execute(change(Action.REACTIVATE, subscription="SUB-NEW"), "k4").status == "succeeded"
    sub = provider.observe().subscriptions["SUB-NEW"]
    assert (sub.status, sub.apps["jira-align"]) == ("active", "solo-align")
    assert provider.operation(site.id) == site


def test_a_refusal_reaches_the_caller_with_its_rule_id(provider: Provider) -> None:
    with pytest.raises(ProviderError) as refused:
        provider.execute(change(Action.PROVISION, subscription="SUB-NEW", app="focus", site="acme-std"), "k")
    assert refused.value.code == "premium-site"


def test_a_change_missing_its_subject_is_an_invalid_request(provider: Provider) -> None:
    with pytest.raises(ProviderError) as refused:
        provider.execute(change(Action.CREATE_SITE, site="x-site"), "k")
    assert (refused.value.code, refused.value.message) == (
        "invalid-request",
        "change create-site:x-site has no org",
    )


def test_the_actor_is_the_one_asked_for(in_tmp: Path) -> None:
    console_from(RULES_SEED, in_tmp, "rules.db").close()
    provider = open_provider(ProviderSettings("sandbox:rules.db", actor=DANA))
    try:
        assert provider.observe().actor == DANA
        with pytest.raises(ProviderError) as refused:
            provider.execute(change(Action.CANCEL, subscription="SUB-NEW"), "k")
        assert refused.value.code == "billing-admin"
    finally:
        provider.close()


def test_an_actor_who_is_not_a_user_is_refused_when_the_provider_opens(in_tmp: Path) -> None:
    console_from(RULES_SEED, in_tmp, "rules.db").close()
    with pytest.raises(ReconcilerError) as error:
        open_provider(ProviderSettings("sandbox:rules.db", actor="mallory@evil.example"))
    assert error.value.message == (
        "actor mallory@evil.example is not a user of this sandbox console; "
        "its users are alice@acme.example, dana@acme.example, partner@globex.example"
    )
    assert error.value.hint == "pass --actor EMAIL or set RECONCILER_ACTOR to one of them"


def test_observe_never_returns_a_token(provider: Provider) -> None:
    assert "sandbox-token" not in repr(provider.observe())
