"""`sandbox init` never destroys what it should not: a file that is not a console, or the old
console when the new one cannot be made."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from reconciler.sandbox import database
from reconciler.sandbox.seedfile import example_seed
from tests.conftest import RunCli

HINT = (
    "hint: remove it yourself if it is no longer needed, or pick another file with --provider sandbox:PATH\n"
)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def _text_file(path: Path) -> None:
    path.write_text("my notes\n" * 50, encoding="utf-8")


def _binary_file(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 20)


def _other_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('format', 'someone-else/1')")
    db.close()


@pytest.mark.parametrize("make", [_text_file, _binary_file, _other_sqlite], ids=["text", "binary", "sqlite"])
def test_init_refuses_to_replace_a_file_that_is_not_a_console(
    run_cli: RunCli, tmp_path: Path, make: object
) -> None:
    target = tmp_path / "console.db"
    make(target)  # type: ignore[operator]
    before = target.read_bytes()
    result = run_cli("--provider", "sandbox:console.db", "sandbox", "init")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: refusing to replace console.db: it is not a sandbox console database\n" + HINT
    )
    assert target.read_bytes() == before


def test_init_refuses_a_device_and_a_link_to_one(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "null.db").symlink_to("/dev/null")
    os.mkfifo(tmp_path / "pipe.db")
    for name, shown in (("/dev/null", "/dev/null"), ("null.db", "null.db"), ("pipe.db", "pipe.db")):
        result = run_cli("--provider", f"sandbox:{name}", "sandbox", "init", timeout=30)
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == f"error: refusing to replace {shown}: it is not a regular file\n" + HINT
    assert (tmp_path / "null.db").is_symlink()
    assert Path("/dev/null").is_char_device()


def test_init_replaces_an_empty_file_and_a_console_of_another_layout(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    ok(run_cli("--provider", "sandbox:empty.db", "sandbox", "init"))
    ok(run_cli("--provider", "sandbox:old.db", "sandbox", "init"))
    db = sqlite3.connect(tmp_path / "old.db")
    with db:
        db.execute("UPDATE meta SET value = 'reconciler-sandbox/1' WHERE key = 'format'")
    db.close()
    result = ok(run_cli("--provider", "sandbox:old.db", "sandbox", "init"))
    assert result.stdout.startswith("Replaced the sandbox console old.db from the built-in example")


BAD_SEEDS = {
    "near-the-end-of-the-calendar": "now: 9999-12-25\n",
    "term-at-the-end-of-the-calendar": (
        "now: 2026-11-21\nbilling_accounts: [{id: AC-1}]\n"
        "subscriptions: [{id: S, billing_account: AC-1, product: focus, status: deactivated,"
        " term_end: 9999-12-25}]\n"
    ),
    "infinite-delay": "provisioning_delay_seconds: .inf\n",
    "nan-delay": "provisioning_delay_seconds: .nan\n",
    "overflowing-delay": "provisioning_delay_seconds: 1e400\n",
    "huge-delay": "provisioning_delay_seconds: 1e300\n",
}


@pytest.mark.parametrize("seed", sorted(BAD_SEEDS))
def test_a_seed_that_fails_leaves_the_old_console_as_it_was(
    run_cli: RunCli, tmp_path: Path, seed: str
) -> None:
    ok(run_cli("sandbox", "init"))
    ok(run_cli("sandbox", "advance", "--days", "3"))
    shown = ok(run_cli("sandbox", "show", "--format", "json")).stdout
    (tmp_path / "bad.yaml").write_text(BAD_SEEDS[seed], encoding="utf-8")
    result = run_cli("sandbox", "init", "--from", "bad.yaml")
    assert (result.returncode, result.stdout) == (1, "")
    # Refused by the YAML reader (numbers are finite) or by the seed's checks, at its line.
    assert result.stderr.startswith(
        ("error: bad.yaml is not a valid console seed:\n", "error: cannot read bad.yaml:\n")
    )
    assert "\nbad.yaml:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert ok(run_cli("sandbox", "show", "--format", "json")).stdout == shown


def test_a_step_that_fails_after_populating_leaves_the_old_console(tmp_path: Path) -> None:
    # The clock's first transitions run on the new file before it replaces the old one.
    path = tmp_path / "sandbox.db"
    database.build(path, example_seed())
    before = path.read_bytes()

    def fail(db: sqlite3.Connection) -> None:
        raise OverflowError("date value out of range")

    with pytest.raises(OverflowError):
        database.build(path, example_seed(), fail)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sandbox.db"]


def test_advance_to_the_end_of_the_calendar_is_a_user_error(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "late.yaml").write_text("now: 9897-12-31\n", encoding="utf-8")
    ok(run_cli("sandbox", "init", "--from", "late.yaml"))
    ok(run_cli("sandbox", "advance", "--days", "36500"))
    result = run_cli("sandbox", "advance", "--days", "36500")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the sandbox clock cannot move 36500 days on from 9997-12-07: it would pass 9998-10-16, "
        "the last day a console keeps (a year of term, 15 days of grace and 60 of retention after it "
        "must still fit before the calendar ends)\n"
        "hint: move it 313 days or fewer, or re-create the console with 'reconciler sandbox init'\n"
    )
    ok(run_cli("sandbox", "advance", "--days", "313"))
    assert "Clock: 9998-10-16 " in ok(run_cli("sandbox", "show")).stdout


@pytest.mark.parametrize(
    ("where", "error"),
    [
        (
            "notes.txt/console.db",
            "the sandbox console notes.txt/console.db cannot be written: notes.txt is not a directory",
        ),
        (
            "notes.txt/a\x1b[2J\nb.db",
            "the sandbox console notes.txt/a\\x1b[2J\\nb.db cannot be written: notes.txt is not a directory",
        ),
        (
            "loop/console.db",
            "the sandbox console loop/console.db cannot be written: "
            "loop cannot be reached (too many levels of symbolic links)",
        ),
    ],
)
def test_a_console_that_cannot_be_made_is_named_escaped(
    run_cli: RunCli, tmp_path: Path, where: str, error: str
) -> None:
    _text_file(tmp_path / "notes.txt")
    (tmp_path / "loop").symlink_to("loop")
    for args in (["sandbox", "init"], ["sandbox", "show"]):
        done = run_cli("--provider", f"sandbox:{where}", *args)
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr == f"error: {error}\nhint: pick another file with --provider sandbox:PATH\n"


def test_a_created_console_is_announced_escaped(run_cli: RunCli, tmp_path: Path) -> None:
    done = run_cli("--provider", "sandbox:new\x1b[1m\nconsole.db", "sandbox", "show")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "Created the sandbox console new\\x1b[1m\\nconsole.db from the built-in example"
    )
