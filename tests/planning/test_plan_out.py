"""`plan --out PATH` writes a new file or replaces a plan it saved before, and nothing else.

Every refusal is checked as a user meets it: the real CLI, real files, a real FIFO, socket and
(as root) device; the exact message; and the disk left exactly as it was, with no temporary file.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.planning.planout import HEAD_BYTES, check_target, plan_out_command, write_text
from tests.conftest import RunCli
from tests.planning.test_golden import GOLDEN, seed_case

HINT = (
    "hint: plan --out writes only to a new file, an empty one, or over a plan it saved before: "
    "give another path\n"
)
#: For what the run reads or keeps: refused even new or empty.
READ_HINT = (
    "hint: plan --out never writes where plan or apply reads (desired state, billing facts, the console, "
    "the state store), not even to an empty or new file there: give a path outside them\n"
)
READ = ("plan reads it", "the atlassian provider reads it", "it is a file of")
NOT_A_PLAN = "it is not a saved plan (a saved plan starts with its format_version)"


def snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every name under `root` with its kind and, for a regular file, its bytes (never opening a FIFO)."""
    found: dict[str, tuple[int, bytes | None]] = {}
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode
        content = path.read_bytes() if stat.S_ISREG(mode) else None
        found[str(path.relative_to(root))] = (stat.S_IFMT(mode), content)
    return found


@pytest.fixture
def estate(run_cli: RunCli, tmp_path: Path) -> Path:
    seed_case(GOLDEN / "example", run_cli, tmp_path)
    (tmp_path / "README.md").write_text("# Our estate\n\nRun `reconciler plan`.\n", encoding="utf-8")
    return tmp_path


def assert_refused(
    run_cli: RunCli, root: Path, out: str, what: str, *args: str, after: tuple[str, ...] = ()
) -> None:
    before = snapshot(root)
    done = run_cli(*args, "plan", "--out", out, *after)
    assert (done.returncode, done.stdout) == (1, "")
    hint = READ_HINT if what.startswith(READ) else HINT
    assert done.stderr == f"error: refusing to write the plan to {out}: {what}\n{hint}"
    assert snapshot(root) == before  # nothing replaced, created or left behind


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


@pytest.mark.parametrize(
    ("name", "make", "what"),
    [
        ("myfifo", make_fifo, "it is a FIFO (a named pipe), not a regular file"),
        ("README.md", None, NOT_A_PLAN),
        ("desired-state/sites.yaml", None, "plan reads it as desired state (it is in desired-state)"),
        ("desired-state/new.yaml", None, "plan reads it as desired state (it is in desired-state)"),
        (".reconciler/sandbox.db", None, "it is a file of the sandbox console (--provider)"),
        (".reconciler/sandbox.db-wal", None, "it is a file of the sandbox console (--provider)"),
        (".reconciler/state.db", None, "it is a file of the state store (--state)"),
        # Empty, as `touch` leaves them: still what the next plan or apply reads.
        ("desired-state/empty.yaml", Path.touch, "plan reads it as desired state (it is in desired-state)"),
        (".reconciler/state.db-journal", Path.touch, "it is a file of the state store (--state)"),
    ],
)
def test_what_is_not_a_saved_plan_is_never_replaced(
    run_cli: RunCli, estate: Path, name: str, make: Callable[[Path], None] | None, what: str
) -> None:
    if make is not None:
        make(estate / name)
    assert_refused(run_cli, estate, name, what)


def test_a_socket_is_refused(run_cli: RunCli, estate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(estate)  # a relative name: tmp_path can be longer than a socket address allows
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("sock")
        assert_refused(run_cli, estate, "sock", "it is a socket, not a regular file")


@pytest.mark.skipif(os.geteuid() != 0, reason="making a character device needs root")
def test_a_device_is_refused_even_for_root(run_cli: RunCli, estate: Path) -> None:
    os.mknod(estate / "mynull", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    assert_refused(run_cli, estate, "mynull", "it is a character device, not a regular file")
    assert stat.S_ISCHR((estate / "mynull").lstat().st_mode)


def test_a_link_is_refused_even_to_a_saved_plan(run_cli: RunCli, estate: Path) -> None:
    assert run_cli("plan", "--out", "plan.json").returncode == 0
    (estate / "link.json").symlink_to("plan.json")
    assert_refused(
        run_cli, estate, "link.json", "it is a symbolic link (a plan is never written through one)"
    )


def test_the_journal_survives(run_cli: RunCli, estate: Path) -> None:
    assert run_cli("apply", "--auto-approve").returncode == 0
    history = run_cli("history")
    assert history.returncode == 0, history.stderr
    assert_refused(run_cli, estate, ".reconciler/state.db", "it is a file of the state store (--state)")
    assert run_cli("history").stdout == history.stdout


def test_another_programs_database_or_json_is_refused(run_cli: RunCli, estate: Path) -> None:
    sqlite3.connect(estate / "other.db").execute("CREATE TABLE t (x)").connection.close()
    assert_refused(run_cli, estate, "other.db", "it is an SQLite database, not a saved plan")
    (estate / "package.json").write_text('{"name": "x", "format_version": 1}\n', encoding="utf-8")
    assert_refused(run_cli, estate, "package.json", NOT_A_PLAN)


def test_a_console_at_another_path_is_refused_without_being_created(run_cli: RunCli, tmp_path: Path) -> None:
    assert_refused(
        run_cli,
        tmp_path,
        "console.db",
        "it is a file of the sandbox console (--provider)",
        "--provider",
        "sandbox:console.db",
    )


@pytest.mark.parametrize(
    ("out", "facts"),
    [("billing/new.yaml", ()), ("billing/accounts.yml", ()), ("ours/facts.yaml", ("--facts", "ours"))],
)
def test_billing_facts_the_atlassian_provider_reads_are_never_replaced(
    run_cli: RunCli, estate: Path, out: str, facts: tuple[str, ...]
) -> None:
    """New or empty: the next plan would read the saved plan as billing facts, and fail."""
    (estate / Path(out).parent).mkdir(exist_ok=True)
    (estate / out).touch()
    given = facts[1] if facts else "billing"
    what = f"the atlassian provider reads it as billing facts (it is in {given})"
    atlassian = ("--provider", "atlassian:http://127.0.0.1:1")
    assert_refused(run_cli, estate, out, what, *atlassian, after=facts)
    (estate / out).unlink()
    assert_refused(run_cli, estate, out, what, *atlassian, after=facts)


def test_a_saved_plan_is_replaced_as_ci_reruns_do(run_cli: RunCli, estate: Path) -> None:
    first = run_cli("plan", "--out", "out/plan.json")
    assert first.returncode == 0, first.stderr
    (estate / "old.json").write_text(json.dumps({"format_version": 0, "changes": []}), encoding="utf-8")
    (estate / "empty.json").touch()  # what `mktemp` hands a CI script
    for name in ("out/plan.json", "old.json", "empty.json"):
        again = run_cli("plan", "--out", name)
        assert again.returncode == 0, again.stderr
        assert (estate / name).read_bytes() == (estate / "out" / "plan.json").read_bytes()
    assert sorted(p.name for p in (estate / "out").iterdir()) == ["plan.json"]
    assert run_cli("show", "out/plan.json").returncode == 0


def test_only_the_head_of_a_file_is_read(tmp_path: Path) -> None:
    plan = tmp_path / "big.json"
    plan.write_bytes(b'{\n  "format_version": 1,\n  "x": "' + b"y" * (HEAD_BYTES * 4) + b'"}\n')
    check_target(plan)
    quoting = tmp_path / "notes.json"
    quoting.write_bytes(b" " * HEAD_BYTES + b'{"format_version": 1}')
    with pytest.raises(ReconcilerError) as error:
        check_target(quoting)
    assert error.value.message == f"refusing to write the plan to {quoting}: {NOT_A_PLAN}"


def test_a_refused_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    for name, what in (
        ("folder", "it is a directory"),
        ("fifo", "it is a FIFO (a named pipe), not a regular file"),
    ):
        with pytest.raises(ReconcilerError) as error:
            write_text(tmp_path / name, "{}\n")
        assert error.value.message == f"refusing to write the plan to {tmp_path / name}: {what}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "folder"]


def test_hints_never_suggest_overwriting_what_is_not_a_plan(run_cli: RunCli, estate: Path) -> None:
    shown = run_cli("show", "README.md")
    assert (shown.returncode, shown.stderr) == (
        1,
        "error: README.md is not a plan: invalid JSON at line 1 column 1: Expecting value\n"
        "hint: a plan file is what `reconciler plan --out PLAN` writes; README.md is not one\n",
    )
    assert plan_out_command(estate / "README.md") == "reconciler plan --out PLAN"
    assert plan_out_command(estate / "absent.json") == f"reconciler plan --out {estate / 'absent.json'}"
    assert run_cli("plan", "--out", "plan.json").returncode == 0
    data = json.loads((estate / "plan.json").read_text(encoding="utf-8"))
    (estate / "plan.json").write_text(json.dumps({**data, "format_version": 9}, indent=2), encoding="utf-8")
    stale = run_cli("show", "plan.json")
    assert stale.stderr == (
        "error: plan.json is a plan of format version 9; this reconciler reads version 1\n"
        "hint: make the plan again with this reconciler: reconciler plan --out plan.json\n"
    )


WRITABLE_HINT = "hint: choose a path in a directory you can write to\n"
LONG = "a" * 300


@pytest.mark.parametrize(
    ("out", "error", "hint"),
    [
        (
            LONG,
            f"the plan file {LONG[:100]}...{LONG[-60:]} is too long: "
            "a name in it is 300 bytes long, over the 255 a name may have",
            "hint: use a shorter path\n",
        ),
        (
            "notes.txt/plan.json",
            "the plan file notes.txt/plan.json cannot be written: notes.txt is not a directory",
            WRITABLE_HINT,
        ),
        (
            "notes.txt/deeper/plan.json",
            "the plan file notes.txt/deeper/plan.json cannot be written: notes.txt is not a directory",
            WRITABLE_HINT,
        ),
        (
            "loop/plan.json",
            "the plan file loop/plan.json cannot be written: "
            "loop cannot be reached (too many levels of symbolic links)",
            WRITABLE_HINT,
        ),
        ("folder", "refusing to write the plan to folder: it is a directory", HINT),
        ("esc\x1b[2J\nfolder", "refusing to write the plan to esc\\x1b[2J\\nfolder: it is a directory", HINT),
        (
            "notes.txt/\x1b]0;title\x07.json",
            "the plan file notes.txt/\\x1b]0;title\\x07.json cannot be written: notes.txt is not a directory",
            WRITABLE_HINT,
        ),
        (
            "plan\udcff.json",
            "the plan file plan\\xff.json has a name that is not UTF-8: refused",
            "hint: rename it with UTF-8 characters only (git shows such names quoted, with octal escapes)\n",
        ),
        ("", "plan --out was given an empty path", "hint: give the file to save the plan to\n"),
    ],
    ids=["long-name", "parent-file", "ancestor-file", "link-loop", "directory", "directory-controls",
         "parent-file-controls", "not-utf8", "empty"],
)  # fmt: skip
def test_an_unusable_out_is_refused_before_anything_is_done(
    run_cli: RunCli, tmp_path: Path, out: str, error: str, hint: str
) -> None:
    """No console is read or created (the default sandbox would say so), no plan is shown."""
    (tmp_path / "notes.txt").write_text("notes\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "esc\x1b[2J\nfolder").mkdir()
    (tmp_path / "loop").symlink_to("loop")
    before = snapshot(tmp_path)
    done = run_cli("plan", "--out", out)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"error: {error}\n{hint}")
    assert snapshot(tmp_path) == before


def test_a_plan_saved_to_a_name_with_controls_is_reported_escaped(run_cli: RunCli, estate: Path) -> None:
    done = run_cli("plan", "--out", "new\x1b[1m\ndir/plan\r.json")
    assert done.returncode == 0, done.stderr
    assert (estate / "new\x1b[1m\ndir" / "plan\r.json").is_file()
    saved = done.stderr.splitlines()[-1]
    assert saved.startswith("Saved the plan to new\\x1b[1m\\ndir/plan\\r.json (checksum sha256:")
