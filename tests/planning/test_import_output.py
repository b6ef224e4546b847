"""What `import` writes always validates, is written all or none, and never replaces a file.

A console can hold what desired state cannot declare (a seed is checked, a real console is not):
the sandbox database is edited here the way such a console would hold it.
"""

from __future__ import annotations

import resource
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from msgspec.structs import replace

from reconciler.commands.import_estate import estate_files
from reconciler.commands.import_write import write_estate
from reconciler.errors import ReconcilerError
from reconciler.model import Console
from reconciler.sandbox.seedfile import example_seed
from tests.conftest import RunCli

_SITE_RULE = (
    "not a site name desired state can declare (2 to 63 lowercase letters, digits and hyphens, "
    "starting and ending with a letter or digit)"
)


def _undeclarable_console(tmp_path: Path, run_cli: RunCli) -> None:
    """The example console, holding a site name, an id and an account the schema refuses. (A product
    no console writes is damage to the sandbox: see the test of another provider's console below.)"""
    assert run_cli("sandbox", "init").returncode == 0
    db = sqlite3.connect(tmp_path / ".reconciler" / "sandbox.db")
    with db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("UPDATE sites SET name = 'Labs_Old' WHERE name = 'labs'")
        db.execute("UPDATE subscription_apps SET site = 'Labs_Old' WHERE site = 'labs'")
        db.execute("INSERT INTO sites VALUES ('x', 'acme-corp', NULL, 0)")
        for sub_id, account, product in (("", "AC-1111-2222-3333", "focus"), ("SUB-77", "", "focus")):
            db.execute(
                "INSERT INTO subscriptions VALUES (?, ?, ?, 'active', '2026-01-01', '2027-01-01', 0, NULL)",
                (sub_id, account, product),
            )
            db.execute("INSERT INTO subscription_apps VALUES (?, 'focus', 'acme')", (sub_id,))
    db.close()


def test_what_desired_state_cannot_declare_is_left_out_and_named(run_cli: RunCli, tmp_path: Path) -> None:
    _undeclarable_console(tmp_path, run_cli)
    done = run_cli("import", "--out", "imp")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Wrote imp/sites.yaml: 4 sites",
        "Wrote imp/account.yaml: 1 subscription",
        "Wrote imp/AC-1111-2222-3333.yaml: 2 subscriptions",
        "Wrote imp/AC-4444-5555-6666.yaml: 2 subscriptions",
        "Imported 4 sites and 5 subscriptions from sandbox:.reconciler/sandbox.db. "
        "`reconciler plan imp` should now show no changes.",
    ]
    assert done.stderr.splitlines() == [
        "warning: import left out 5 entries that desired state cannot declare, so reconciler does not "
        "manage them (to manage one, correct it in the console and import again):",
        f"  imp/sites.yaml: site Labs_Old: its name is {_SITE_RULE}",
        f"  imp/sites.yaml: site x: its name is {_SITE_RULE}",
        "  imp/account.yaml: the billing_account of SUB-77: the console gives it none",
        "  imp/AC-1111-2222-3333.yaml: a subscription with no id (focus, billing account AC-1111-2222-3333)",
        f"  imp/AC-4444-5555-6666.yaml: app focus of SUB-1002 on Labs_Old: the site's name is {_SITE_RULE}",
    ]
    account = (tmp_path / "imp" / "account.yaml").read_text(encoding="utf-8").splitlines()
    assert account[3:] == [
        "version: 1",
        "subscriptions:",
        "  - id: SUB-77",
        "    product: focus",
        "    apps:",
        "      focus: {site: acme}",
        "    # Left out: the billing_account of SUB-77: the console gives it none",
    ]
    validated = run_cli("validate", "imp")
    assert (validated.returncode, validated.stdout) == (0, "imp: 4 files, 4 sites, 5 subscriptions, valid\n")
    plan = run_cli("plan", "imp", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout
    assert plan.stdout.endswith("No changes. The console matches desired state (1 deferred, 1 unmanaged).\n")


def test_a_product_another_provider_gives_that_desired_state_cannot_declare_is_left_out() -> None:
    # The sandbox and the console API refuse a product of no known kind as damage; a third-party
    # provider's console may still hold one, and import leaves it out.
    seed = example_seed()
    live = next(s for s in seed.subscriptions if s.id == "SUB-1004")
    console = Console(
        now=seed.now,
        actor=None,
        users=frozenset(u.email for u in seed.users),
        billing_accounts={a.id: a for a in seed.billing_accounts},
        organizations={o.id: o for o in seed.organizations},
        sites={s.name: s for s in seed.sites},
        subscriptions={"SUB-77": replace(live, id="SUB-77", product="focus-pro")},
        retired_site_names=seed.retired_site_names,
    )
    [account] = [f for f in estate_files(console, "acme:prod", "schema.json") if f.name != "sites.yaml"]
    assert account.left_out == (
        "the product of SUB-77: focus-pro is not one of strategy-collection, jira-align, focus, talent",
        "app jira-align of SUB-77 on labs-align: product focus-pro has no such app",
    )


_ID_RULE = (
    "not an id desired state can declare (one word of at most 128 characters, no spaces or line breaks)"
)


def test_an_id_desired_state_refuses_is_left_out_and_named() -> None:
    seed = example_seed()
    live = next(s for s in seed.subscriptions if s.id == "SUB-1004")
    long_id = "SUB-" + "7" * 125
    subscriptions = {
        "SUB 77": replace(live, id="SUB 77"),
        long_id: replace(live, id=long_id),
        "SUB-78": replace(live, id="SUB-78", billing_account="AC-1111-2222-3333\n"),
    }
    sites = {s.name: s for s in seed.sites} | {
        "acme-x": replace(seed.sites[0], name="acme-x", org="acme corp")
    }
    console = Console(
        now=seed.now,
        actor=None,
        users=frozenset(u.email for u in seed.users),
        billing_accounts={a.id: a for a in seed.billing_accounts},
        organizations={o.id: o for o in seed.organizations},
        sites=sites,
        subscriptions=subscriptions,
        retired_site_names=seed.retired_site_names,
    )
    left_out = [note for f in estate_files(console, "acme:prod", "schema.json") for note in f.left_out]
    assert left_out == [
        f"site acme-x: its org acme corp is {_ID_RULE}",
        f"the billing_account of SUB-78: AC-1111-2222-3333\\n is {_ID_RULE}",
        f"subscription SUB 77: its id is {_ID_RULE}",
        f"subscription {long_id}: its id is {_ID_RULE}",
    ]


def test_a_name_taken_in_the_directory_is_refused_and_nothing_written(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """A directory, or a link leading nowhere, where import would write: kept, and no file half made."""
    assert run_cli("sandbox", "init").returncode == 0
    imp = tmp_path / "imp"
    (imp / "AC-4444-5555-6666.yaml").mkdir(parents=True)
    (imp / "sites.yaml").symlink_to(tmp_path / "elsewhere.txt")
    (imp / "README.md").write_text("ours\n", encoding="utf-8")
    done = run_cli("import", "--out", "imp")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "error: import would write imp/sites.yaml, imp/AC-4444-5555-6666.yaml, which already exist; "
        "import never replaces a file, and nothing was written\n"
        "hint: import into an empty directory, or move those away first\n"
    )
    assert sorted(p.name for p in imp.iterdir()) == ["AC-4444-5555-6666.yaml", "README.md", "sites.yaml"]
    assert not (tmp_path / "elsewhere.txt").exists()


def _file_size_limit(limit: int) -> Callable[[], None]:
    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limited


def test_an_import_that_fails_midway_leaves_nothing_behind(run_cli: RunCli, tmp_path: Path) -> None:
    """The first file is written, the second is too big for the disk: neither stays, nor the directories."""
    many = "\n".join(
        f"  - {{id: SUB-{n}, billing_account: AC-2, product: focus, status: active, "
        f"start_date: 2026-01-01, term_end: 2027-01-01, apps: {{focus: null}}}}"
        for n in range(2000)
    )
    (tmp_path / "console.yaml").write_text(
        "now: 2026-11-21\nusers: [{email: a@x.example}]\n"
        "billing_accounts: [{id: AC-1}, {id: AC-2}]\n"
        "organizations: [{id: acme-corp, admins: [a@x.example]}]\n"
        "sites: [{name: acme, org: acme-corp, products: {jira: premium}}]\n"
        f"subscriptions:\n{many}\n",
        encoding="utf-8",
    )
    assert run_cli("sandbox", "init", "--from", "console.yaml").returncode == 0
    # sites.yaml fits under the limit, AC-2.yaml does not
    done = run_cli("import", "--out", "estate/imp", preexec_fn=_file_size_limit(100_000))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "error: cannot write to estate/imp: File too large; nothing was written\n"
        "hint: pass --out with a directory you can write to\n"
    )
    assert not (tmp_path / "estate").exists()


def test_files_that_would_not_validate_are_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imp").mkdir()
    files = [
        ("sites.yaml", "version: 1\nsites: []\n"),
        ("AC-1.yaml", "version: 1\nsubscriptions: [{id: ''}]\n"),
    ]
    with pytest.raises(ReconcilerError) as refused:
        write_estate(tmp_path / "imp", "imp", files)
    lines = refused.value.message.splitlines()
    assert lines[0] == "import made files that do not validate, so nothing was written:"
    assert lines[1].endswith("/AC-1.yaml:2:22: error[id]: the id '' is empty"), lines[1]
    assert refused.value.hint == "this is a bug in reconciler's import: report it, with the lines above"
    assert list((tmp_path / "imp").iterdir()) == []
