"""`import` writes what the console holds, and a console is untrusted: no value it sends may change
the structure of the files written, whichever field it sits in and whichever line break it hides.

The files are read back by both readers the product uses (the fast YAML 1.2 parser, and PyYAML,
a YAML 1.1 reader for which NEL, U+2028 and U+2029 also end a line) and compared with the data
the console holds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
import yaml_rs

from reconciler.commands.import_estate import estate_files, scalar
from reconciler.terminal import printable
from tests.conftest import RunCli
from tests.planning.builders import console
from tests.planning.conftest import BASE_SEED, sub

INJECTED = "\nsites:\n  - name: pwned-site\n    org: acme-corp\n    create: true\n#"
HOSTILE = (
    INJECTED,
    "\rsites: []\r#",
    "\r\nversion: 2\r\n",
    "\x85sites: [nel]",
    "\u2028sites: [ls]",
    "\u2029sites: [ps]",
    "\x1b[2J\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\\x07",
    '" # "quoted" \\ back\\slash',
    "\t{a: b}, [c] & *x !tag |",
    "\U0001f600\ufeff\x7f\x9b\u202e",
    "  spaced  ",
)


def _hostile_seed() -> dict[str, Any]:
    """One billing account, org, site and two subscriptions per hostile value, each field hostile."""
    accounts, orgs, sites, subs = [], [], [], []
    for i, bad in enumerate(HOSTILE):
        account, org = f"AC-{i}{bad}", f"org-{i}{bad}"
        accounts.append(
            {
                "id": account,
                "managed_by": "partner",
                "partner": f"partner-{i}{bad}",
                "billing_admins": ["alice@acme.example"],
            }
        )
        orgs.append({"id": org, "admins": ["alice@acme.example"], "members": []})
        sites.append({"name": f"site-{i}", "org": org, "products": {"jira": "premium"}})
        subs.append(_subscription(f"SUB-{i}{bad}", account, "focus", {"focus": f"site-{i}"}))
        subs.append(_subscription(f"SUB-{i}b{bad}", account, "talent", {"talent": None}))
    return {
        "now": "2026-11-21",
        "users": [{"email": "alice@acme.example"}],
        "billing_accounts": accounts,
        "organizations": orgs,
        "sites": sites,
        "subscriptions": subs,
    }


def _subscription(sub_id: str, account: str, product: str, apps: dict[str, str | None]) -> dict[str, Any]:
    return {
        "id": sub_id,
        "billing_account": account,
        "product": product,
        "status": "active",
        "start_date": "2026-10-01",
        "term_end": "2027-09-30",
        "apps": apps,
    }


def _meant(seed: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sites and subscriptions the files must hold, as the desired-state format spells them."""
    sites = sorted(({"name": s["name"], "org": s["org"]} for s in seed["sites"]), key=lambda s: s["name"])
    subs = []
    for entry in sorted(seed["subscriptions"], key=lambda s: s["id"]):
        meant = {"id": entry["id"], "billing_account": entry["billing_account"], "product": entry["product"]}
        placed = {app: {"site": site} for app, site in entry["apps"].items() if site is not None}
        subs.append({**meant, "apps": placed} if placed else meant)
    return sites, subs


def _seed_text(seed: dict[str, Any]) -> str:
    """The seed as YAML: JSON, but with a character past U+FFFF as YAML spells it (not a surrogate pair)."""

    def joined(pair: re.Match[str]) -> str:
        high, low = int(pair[1], 16), int(pair[2], 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    return re.sub(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", joined, json.dumps(seed))


def _read_back(text: str) -> list[Any]:
    return [yaml_rs.loads(text), yaml.safe_load(text)]


def test_hostile_console_values_never_change_what_import_writes(run_cli: RunCli, tmp_path: Path) -> None:
    seed = _hostile_seed()
    (tmp_path / "console.yaml").write_text(_seed_text(seed), encoding="utf-8")
    assert run_cli("sandbox", "init", "--from", "console.yaml").returncode == 0
    imported = run_cli("import", "--out", "imp")
    assert imported.returncode == 0, imported.stderr

    sites, subs = _meant(seed)
    files = sorted((tmp_path / "imp").iterdir())
    assert [path.name for path in files] == sorted(
        [
            "AC-0-sites------name--pwned-site-----org--acme-corp-----create--true--.yaml",
            "AC-1-sites------.yaml",
            "AC-2--version--2--.yaml",
            "AC-3-sites---nel-.yaml",
            "AC-4-sites---ls-.yaml",
            "AC-5-sites---ps-.yaml",
            "AC-6--2J--8--https---evil.example--link--8-----.yaml",
            "AC-7-----quoted----back-slash.yaml",
            "AC-8--a--b----c-----x--tag--.yaml",
            "AC-9-----.yaml",
            "AC-10--spaced--.yaml",
            "sites.yaml",
        ]
    )
    read_subs: list[dict[str, Any]] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert all(line.isprintable() for line in text.split("\n")), path.name  # no break but LF
        for data in _read_back(text):
            if path.name == "sites.yaml":
                assert data == {"version": 1, "sites": sites}
            else:
                assert sorted(data) == ["subscriptions", "version"], path.name
        read_subs += yaml_rs.loads(text).get("subscriptions", [])
    assert sorted(read_subs, key=lambda s: s["id"]) == subs

    plan = run_cli("plan", "imp", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout
    assert plan.stdout.endswith("No changes. The console matches desired state.\n")


def test_a_hostile_partner_stays_inside_its_comment(run_cli: RunCli, tmp_path: Path) -> None:
    seed = _hostile_seed()
    (tmp_path / "console.yaml").write_text(_seed_text(seed), encoding="utf-8")
    assert run_cli("sandbox", "init", "--from", "console.yaml").returncode == 0
    assert run_cli("import", "--out", "imp").returncode == 0
    written = tmp_path / "imp" / "AC-0-sites------name--pwned-site-----org--acme-corp-----create--true--.yaml"
    lines = written.read_text(encoding="utf-8").splitlines()
    assert lines[2] == (
        "# Billing account AC-0\\nsites:\\n  - name: pwned-site\\n    org: acme-corp\\n    create: true\\n#, "
        "managed by partner-0\\nsites:\\n  - name: pwned-site\\n    org: acme-corp\\n    create: true\\n#."
    )
    assert lines[3:5] == ["version: 1", "subscriptions:"]
    assert (
        lines[5]
        == '  - id: "SUB-0\\nsites:\\n  - name: pwned-site\\n    org: acme-corp\\n    create: true\\n#"'
    )


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_app_names_and_jira_plans_stay_in_their_place(bad: str, tmp_path: Path) -> None:
    """Fields a seed cannot make hostile (a console over HTTP could): the app keys and Jira plans."""
    data = {
        **BASE_SEED,
        "sites": [{"name": "acme", "org": "acme-corp", "products": {"jira": f"premium{bad}"}}],
    }
    data["subscriptions"] = [sub("SUB-1", "focus", apps={f"focus{bad}": "acme", "focus": None})]
    live = console(data)
    for estate_file in estate_files(live, f"sandbox:x{bad}.db", f"../schemas{bad}.json"):
        (tmp_path / estate_file.name).write_text(estate_file.text, encoding="utf-8")
        for read in _read_back(estate_file.text):
            assert sorted(read) in (["sites", "version"], ["subscriptions", "version"])
    written = yaml_rs.loads((tmp_path / "AC-1.yaml").read_text(encoding="utf-8"))
    assert written["subscriptions"] == [
        {
            "id": "SUB-1",
            "billing_account": "AC-1",
            "product": "focus",
            "apps": {f"focus{bad}": {"site": "acme"}},
        }
    ]
    sites_text = (tmp_path / "sites.yaml").read_text(encoding="utf-8")
    assert f"  - name: acme  # Jira {printable(f'premium{bad}'.capitalize())}\n" in sites_text


@pytest.mark.parametrize("bad", HOSTILE)
def test_a_quoted_scalar_reads_back_as_itself_on_one_line(bad: str) -> None:
    written = scalar(f"x{bad}")
    assert written.isascii() and written.isprintable()
    assert yaml_rs.loads(f"k: {written}\n") == yaml.safe_load(f"k: {written}\n") == {"k": f"x{bad}"}
