"""`import` writes what the console holds, and a console is untrusted: no value it sends may change
the structure of the files written, whichever field it sits in and whichever line break it hides.

The files are read back by both readers the product uses (the fast YAML 1.2 parser, and PyYAML,
a YAML 1.1 reader for which NEL, U+2028 and U+2029 also end a line) and compared with the data
the console holds.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
import yaml_rs

from reconciler.commands.import_estate import estate_files, refuse_uncarried, scalar
from reconciler.errors import ReconcilerError
from reconciler.loading.yamlfile import read_yaml
from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.seedfile import SeedReader
from reconciler.terminal import printable
from reconciler.validation.schema import ECMA_SPACE
from tests.conftest import RunCli
from tests.http.test_hostile_consoles import TOKEN, Handler, Standin, _example_answers, _json
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
#: Hostile values with no white space (JSON Schema's `\s`, ECMA-262's): desired state takes them as
#: ids, so they reach the files as quoted scalars. NEL (U+0085) ends a line for a YAML 1.1 reader.
ONE_WORD = ("\x85sites:[nel]", '"#"quoted"\\back\\slash', "{a:b},[c]&*x!tag|", "\U0001f600\x7f\x9b\u202e")


def _hostile_seed() -> dict[str, Any]:
    """One billing account, org, site and two subscriptions per hostile value, each field hostile."""
    accounts, orgs, sites, subs = [], [], [], []
    for i, bad in enumerate(HOSTILE + ONE_WORD):
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


def _an_id(value: str) -> bool:
    """Whether desired state takes `value` as an id: import leaves out every other one."""
    return not any(char in ECMA_SPACE for char in value)


def _meant(seed: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sites and subscriptions the files must hold, as the desired-state format spells them."""
    declared = (s for s in seed["sites"] if _an_id(s["org"]))
    sites = sorted(({"name": s["name"], "org": s["org"]} for s in declared), key=lambda s: s["name"])
    subs = []
    for entry in sorted(seed["subscriptions"], key=lambda s: s["id"]):
        if not _an_id(entry["id"]):
            continue
        meant = {"id": entry["id"], "product": entry["product"]}
        if _an_id(entry["billing_account"]):
            meant = {
                "id": entry["id"],
                "billing_account": entry["billing_account"],
                "product": entry["product"],
            }
        placed = {app: {"site": site} for app, site in entry["apps"].items() if site is not None}
        subs.append({**meant, "apps": placed} if placed else meant)
    return sites, subs


def _seed_text(seed: dict[str, Any]) -> str:
    """The seed as YAML: JSON, but with a character past U+FFFF as YAML spells it (not a surrogate pair)."""

    def joined(pair: re.Match[str]) -> str:
        high, low = int(pair[1], 16), int(pair[2], 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    return re.sub(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", joined, json.dumps(seed))


def _hostile_console(tmp_path: Path, seed: dict[str, Any]) -> None:
    """The sandbox console of `seed`, made past the seed schema: a seed may not hold ids with line
    breaks or spaces, but a console (over HTTP, the real one) can send them."""
    (tmp_path / "console.yaml").write_text(_seed_text(seed), encoding="utf-8")
    made, problems = SeedReader(read_yaml(tmp_path / "console.yaml")).read()
    assert made is not None and not problems, problems
    SandboxConsole.create(tmp_path / ".reconciler" / "sandbox.db", made).close()


def _read_back(text: str) -> list[Any]:
    return [yaml_rs.loads(text), yaml.safe_load(text)]


def test_hostile_console_values_never_change_what_import_writes(run_cli: RunCli, tmp_path: Path) -> None:
    seed = _hostile_seed()
    _hostile_console(tmp_path, seed)
    imported = run_cli("import", "--out", "imp")
    assert imported.returncode == 0, imported.stderr
    # Each of the 10 values with white space: a site's org and two subscriptions' ids, left out.
    assert imported.stderr.startswith("warning: import left out 30 entries that desired state cannot declare")

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
            "AC-11-sites--nel-.yaml",
            "AC-12---quoted--back-slash.yaml",
            "AC-13-a-b---c---x-tag-.yaml",
            "AC-14----.yaml",
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
    assert plan.stdout.endswith("No changes. The console matches desired state (20 unmanaged).\n")


def test_a_hostile_partner_stays_inside_its_comment(run_cli: RunCli, tmp_path: Path) -> None:
    seed = _hostile_seed()
    _hostile_console(tmp_path, seed)
    assert run_cli("import", "--out", "imp").returncode == 0
    written = tmp_path / "imp" / "AC-0-sites------name--pwned-site-----org--acme-corp-----create--true--.yaml"
    lines = written.read_text(encoding="utf-8").splitlines()
    assert lines[2] == (
        "# Billing account AC-0\\nsites:\\n  - name: pwned-site\\n    org: acme-corp\\n    create: true\\n#, "
        "managed by partner-0\\nsites:\\n  - name: pwned-site\\n    org: acme-corp\\n    create: true\\n#."
    )
    assert lines[3:5] == ["version: 1", "subscriptions: []"]
    # An id with a line break is no id desired state can declare: left out, in a comment of one line.
    assert lines[5] == (
        "  # Left out: subscription SUB-0\\nsites:\\n  - name: pwned-site\\n    org: acme-corp\\n"
        "    create: true\\n#: its id is not an id desired state can declare (one word of at most 128 "
        "characters, no spaces or line breaks)"
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
    account_text = (tmp_path / "AC-1.yaml").read_text(encoding="utf-8")
    written = yaml_rs.loads(account_text)
    # No schema holds an app of that name: it is left out, named only in a comment of one line.
    assert written["subscriptions"] == [{"id": "SUB-1", "billing_account": "AC-1", "product": "focus"}]
    note = f"app {printable(f'focus{bad}')} of SUB-1 on acme: product focus has no such app"
    assert account_text.splitlines()[-2:] == [
        f"    # Left out: {note}",
        "    # Site setup required: focus (declare a site under apps to provision)",
    ]
    sites_text = (tmp_path / "sites.yaml").read_text(encoding="utf-8")
    assert f"  - name: acme  # Jira {printable(f'premium{bad}'.capitalize())}\n" in sites_text


@pytest.mark.parametrize("bad", HOSTILE)
def test_a_quoted_scalar_reads_back_as_itself_on_one_line(bad: str) -> None:
    written = scalar(f"x{bad}")
    assert written.isascii() and written.isprintable()
    assert yaml_rs.loads(f"k: {written}\n") == yaml.safe_load(f"k: {written}\n") == {"k": f"x{bad}"}


# --- what no YAML file can hold: a lone surrogate --------------------------------------------------


@pytest.fixture
def surrogate_console() -> Iterator[str]:
    """A console over HTTP whose JSON spells lone surrogates (`\\ud800`): no seed or database can."""
    server = Standin(("127.0.0.1", 0), Handler)
    server.answers = _example_answers()
    page = json.loads(server.answers["/v1/subscriptions"][2][0])
    page["data"][0]["id"] = "SUB-1001\ud800"
    page["data"][1]["billing_account"] = "AC-\udfff"
    server.answers["/v1/subscriptions"] = _json(200, page)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_lone_surrogate_is_refused_and_nothing_written(
    run_cli: RunCli, tmp_path: Path, surrogate_console: str
) -> None:
    env = {"RECONCILER_PROVIDER": surrogate_console, "RECONCILER_TOKEN": TOKEN}
    done = run_cli("import", "--out", "imp", env=env)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "error: the console holds 2 values that desired-state YAML cannot carry (a lone surrogate, "
        "U+D800 to U+DFFF, is half of a UTF-16 pair, not a character); nothing was written:\n"
        "  subscription id: SUB-1001\\ud800\n"
        "  billing account of subscription SUB-1002: AC-\\udfff\n"
        "hint: correct the value in the console (it is often a character cut in half), then import again\n"
    )
    assert not (tmp_path / "imp").exists()


@pytest.mark.parametrize(
    ("out", "error"),
    [
        ("notes.txt/imp", "the import directory notes.txt/imp cannot be written: "
         "notes.txt is not a directory"),
        ("notes.txt", "notes.txt is a file, not a directory"),
        ("notes\x1b[2J\n.txt", "notes\\x1b[2J\\n.txt is a file, not a directory"),
        ("loop/imp", "the import directory loop/imp cannot be written: loop/imp cannot be reached "
         "(too many levels of symbolic links)"),
    ],
)  # fmt: skip
def test_an_unusable_out_is_refused_before_the_console_is_read(
    run_cli: RunCli, tmp_path: Path, out: str, error: str
) -> None:
    """The default sandbox, created (and announced) by the first read, is never made."""
    for name in ("notes.txt", "notes\x1b[2J\n.txt"):
        (tmp_path / name).write_text("notes\n", encoding="utf-8")
    (tmp_path / "loop").symlink_to("loop")
    done = run_cli("import", "--out", out)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"error: {error}\nhint: pass --out with a directory you can write to\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["notes.txt", "notes\x1b[2J\n.txt", "loop"]
    )


def test_refuse_uncarried_names_every_place_a_value_is_written() -> None:
    data = {
        **BASE_SEED,
        "sites": [{"name": "acme\ud83d", "org": "org\udc00", "products": {"jira": "premium"}}],
    }
    data["subscriptions"] = [sub("SUB-1", "focus", apps={"focus\ud800": "acme\ud83d"})]
    with pytest.raises(ReconcilerError) as refused:
        refuse_uncarried(console(data))
    assert refused.value.message.split(":\n", 1)[1].splitlines() == [
        "  site name: acme\\ud83d",
        "  org of site acme\\ud83d: org\\udc00",
        "  app name of subscription SUB-1: focus\\ud800",
        "  site of app focus\\ud800 of subscription SUB-1: acme\\ud83d",
    ]
    refuse_uncarried(console({**data, "sites": [], "subscriptions": []}))  # nothing to refuse: no error
