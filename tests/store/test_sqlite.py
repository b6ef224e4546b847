"""What only the SQLite store does: files, URLs, migration, and its failures named clearly."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.store import (
    AttemptOutcome,
    NewAttempt,
    NewRun,
    StateStore,
    UnwrittenOutcomes,
    open_store,
    sqlite_path,
)
from tests.helpers import clean_env


def test_open_store_creates_parent_directories(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path / 'a' / 'b' / 'state.db'}")
    assert (tmp_path / "a" / "b" / "state.db").is_file()
    assert store.description == f"sqlite:{tmp_path / 'a' / 'b' / 'state.db'}"


def test_open_store_rejects_other_schemes() -> None:
    with pytest.raises(ReconcilerError) as caught:
        open_store("mysql://db/state")
    assert caught.value.message == "unknown state store 'mysql://db/state'"
    assert caught.value.hint == (
        "--state / RECONCILER_STATE takes sqlite:PATH (e.g. sqlite:.reconciler/state.db) or "
        "postgresql://USER@HOST:PORT/DB"
    )


def test_a_file_that_is_not_a_database_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not SQLite" * 100)
    with pytest.raises(ReconcilerError) as caught:
        open_store(f"sqlite:{path}")
    assert caught.value.message == (
        f"the state store sqlite:{path} is damaged or not a state store: file is not a database"
    )
    assert caught.value.hint == (
        "move the file aside (its history and locks are lost; the next apply starts a new one), "
        "or point --state / RECONCILER_STATE at another store"
    )


def test_open_store_refuses_someone_elses_database(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(ReconcilerError) as caught:
        open_store(f"sqlite:{path}")
    assert caught.value.message == f"{path} is an SQLite database but not a reconciler state store"


def test_a_dropped_table_is_named(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_store(f"sqlite:{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE attempts")
    with pytest.raises(ReconcilerError) as caught:
        open_store(f"sqlite:{path}")
    assert caught.value.message == (
        f"the state store sqlite:{path} is damaged or not a state store: no such table: attempts"
    )


def test_a_dropped_column_is_damage_not_a_passing_failure(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_store(f"sqlite:{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE runs DROP COLUMN actor")
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "--state", f"sqlite:{path}", "history"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: the state store sqlite:{path} is damaged or not a state store: no such column: actor\n"
        "hint: move the file aside (its history and locks are lost; the next apply starts a new one), "
        "or point --state / RECONCILER_STATE at another store\n"
    )


def test_a_write_to_a_dropped_column_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_store(f"sqlite:{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE runs DROP COLUMN actor")
    store = open_store(f"sqlite:{path}")
    with pytest.raises(ReconcilerError) as caught:
        store.start_run(NewRun("run-1", 1.0, None, "u", "sandbox:x", "lock", None, ()))
    store.close()
    assert caught.value.message == (
        f"the state store sqlite:{path} is damaged or not a state store: table runs has no column named actor"
    )


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_store(f"sqlite:{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 9")
    with pytest.raises(ReconcilerError) as caught:
        open_store(f"sqlite:{path}")
    assert caught.value.message == (
        f"the state store sqlite:{path} was written by a newer reconciler (schema 9; this one knows up to 2)"
    )


def test_a_version_1_store_is_migrated_keeping_its_locks(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, started REAL NOT NULL, finished REAL, actor TEXT, "
            "user TEXT NOT NULL, provider TEXT NOT NULL, lock_name TEXT NOT NULL, git_commit TEXT, "
            "paths TEXT NOT NULL, plan_checksum TEXT, outcome TEXT NOT NULL, message TEXT)"
        )
        db.execute(
            "CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, change_id TEXT, "
            "action TEXT, subject TEXT, number INTEGER, idempotency_key TEXT, started REAL, finished REAL, "
            "outcome TEXT, operation_id TEXT, error_code TEXT, error_message TEXT)"
        )
        db.execute(
            "CREATE TABLE locks (name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, "
            "host TEXT NOT NULL, pid INTEGER NOT NULL, run_id TEXT NOT NULL, acquired REAL NOT NULL, "
            "heartbeat REAL NOT NULL, expires REAL NOT NULL)"
        )
        db.execute("INSERT INTO locks VALUES ('console:x', 'lk-old', 'a@b pid 1', 'b', 1, 'r0', 1, 1, 2)")
        db.execute("PRAGMA user_version = 1")
    store = open_store(f"sqlite:{path}")
    assert [(lock.id, lock.namespace) for lock in store.locks()] == [("lk-old", "")]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2


def test_an_attempt_is_fsynced_before_its_request_goes_out(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path / 'state.db'}")
    db = store._db  # type: ignore[attr-defined]
    seen: list[int] = []
    # What synchronous is when the INSERT of the attempt commits: 2 = FULL, the WAL is synced.
    db.set_trace_callback(
        lambda sql: (
            seen.append(db.execute("PRAGMA synchronous").fetchone()[0])
            if sql.startswith("INSERT INTO attempts")
            else None
        )
    )
    store.start_run(NewRun("r1", 1.0, None, "u", "p", "l", None, ("d",)))
    attempt_id = store.start_attempt(NewAttempt("r1", "c1", "provision", "s", 1, "k", 1.0))
    store.finish_attempt(attempt_id, AttemptOutcome.SUCCEEDED, 2.0)
    db.set_trace_callback(None)
    assert seen == [2]
    # Outcomes and heartbeats commit with NORMAL: the next durable commit syncs them along.
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_attempts_recorded_at_once_share_one_durable_commit(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = open_store(f"sqlite:{path}")
    db = store._db  # type: ignore[attr-defined]
    store.start_run(NewRun("r1", 1.0, None, "u", "p", "l", None, ("d",)))
    commits: list[int] = []
    db.set_trace_callback(
        lambda sql: (
            commits.append(db.execute("PRAGMA synchronous").fetchone()[0]) if sql == "COMMIT" else None
        )
    )
    ids: dict[str, int] = {}

    def record(change: str) -> None:
        ids[change] = store.start_attempt(NewAttempt("r1", change, "provision", "s", 1, "k", 1.0))
        with sqlite3.connect(path) as reader:  # on disk, and seen by anyone, before it returns
            found = reader.execute("SELECT change_id FROM attempts WHERE id = ?", (ids[change],)).fetchone()
        assert found == (change,)

    threads = [threading.Thread(target=record, args=(f"c{n}",)) for n in range(4)]
    with store._mutex:  # type: ignore[attr-defined]
        threads[0].start()  # the leader, held at the connection while the others queue behind it
        while store._attempts.waiting() or not store._attempts._leading:  # type: ignore[attr-defined]
            time.sleep(0.001)
        for thread in threads[1:]:
            thread.start()
        while store._attempts.waiting() < 3:  # type: ignore[attr-defined]
            time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=10)
    db.set_trace_callback(None)
    assert sorted(ids) == ["c0", "c1", "c2", "c3"] and len(set(ids.values())) == 4
    # Two commits, both with synchronous=FULL (2): the leader's own row, then the three queued.
    assert commits == [2, 2]


@contextlib.contextmanager
def outcome_recorded_at_begin(store: StateStore, attempt_id: int) -> Iterator[list[str]]:
    """While the block runs, the store's connection is traced, and at its next BEGIN a thread records
    the outcome of `attempt_id`, waiting for the connection that transaction holds. Yields the first
    word of each statement run, as they run (an INSERT once, however often a trigger repeats it)."""
    db = store._db  # type: ignore[attr-defined]
    statements: list[str] = []
    finisher = threading.Thread(target=store.finish_attempt, args=(attempt_id, AttemptOutcome.SUCCEEDED, 2.0))

    def trace(sql: str) -> None:
        word = sql.split()[0]
        if not statements or statements[-1] != word or word != "INSERT":  # a trigger's steps repeat it
            statements.append(word)
        if sql == "BEGIN IMMEDIATE" and finisher.ident is None:
            finisher.start()
            while not store._outcomes.waiting():  # type: ignore[attr-defined]
                time.sleep(0.001)

    db.set_trace_callback(trace)
    try:
        yield statements
    finally:
        if finisher.ident is not None:
            finisher.join(timeout=10)
        db.set_trace_callback(None)


def attempt(change: str) -> NewAttempt:
    return NewAttempt("r1", change, "provision", "s", 1, f"key-{change}", 1.0)


def outcomes(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as reader:
        return reader.execute("SELECT change_id, outcome FROM attempts ORDER BY id").fetchall()


def test_an_outcome_waiting_while_attempts_are_synced_rides_in_their_commit(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path / 'state.db'}")
    store.start_run(NewRun("r1", 1.0, None, "u", "p", "l", None, ("d",)))
    first = store.start_attempt(attempt("c1"))
    with outcome_recorded_at_begin(store, first) as statements:
        store.start_attempt(attempt("c2"))
    # One synced transaction holds the second attempt and the first one's outcome: not a commit each.
    assert statements == ["PRAGMA", "BEGIN", "INSERT", "UPDATE", "COMMIT", "PRAGMA"]
    assert outcomes(tmp_path / "state.db") == [("c1", "succeeded"), ("c2", "started")]
    store.close()


def test_an_outcome_whose_carrying_commit_failed_is_written_by_its_own_writer(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = open_store(f"sqlite:{path}")
    store.start_run(NewRun("r1", 1.0, None, "u", "p", "l", None, ("d",)))
    with sqlite3.connect(path) as db:  # an attempt the database refuses, as a full disk would
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON attempts WHEN NEW.change_id = 'c2' "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    first = store.start_attempt(attempt("c1"))
    with outcome_recorded_at_begin(store, first) as statements, pytest.raises(ReconcilerError) as failed:
        store.start_attempt(attempt("c2"))
    assert failed.value.message == f"cannot write the state store sqlite:{path}: the disk is full"
    assert statements == ["PRAGMA", "BEGIN", "INSERT", "ROLLBACK", "PRAGMA", "UPDATE"]
    assert outcomes(path) == [("c1", "succeeded")]
    store.close()


@pytest.mark.parametrize(
    ("url", "message", "hint"),
    [
        (
            "sqlite://rel.db",
            "the state store 'sqlite://rel.db' is ambiguous: 'rel.db' stands where a URL names a host",
            "use sqlite:rel.db for a file relative to the current directory, or sqlite:///ABSOLUTE/PATH",
        ),
        (
            "sqlite:",
            "the state store 'sqlite:' names no file",
            "use sqlite:PATH, e.g. sqlite:.reconciler/state.db",
        ),
    ],
)
def test_urls_that_would_surprise_are_refused(url: str, message: str, hint: str) -> None:
    with pytest.raises(ReconcilerError) as caught:
        sqlite_path(url)
    assert (caught.value.message, caught.value.hint) == (message, hint)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReconcilerError) as caught:
        sqlite_path(f"sqlite:{tmp_path}")
    assert caught.value.message == f"the state store 'sqlite:{tmp_path}' is a directory, not a file"


def test_urls_mean_what_a_user_expects() -> None:
    assert sqlite_path("sqlite:~/x.db") == Path.home() / "x.db"
    assert sqlite_path("sqlite:///var/x.db") == Path("/var/x.db")
    assert sqlite_path("sqlite:rel/x.db") == Path("rel/x.db")


FULL_DISK = """
import resource, signal, sys
from reconciler.errors import ReconcilerError
from reconciler.store import NewRun, open_store
store = open_store(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[2])
if limit < 10**9:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    for n in range(100_000):
        store.start_run(NewRun(f"r{n}", 1.0, None, "u", "p" * 500, "l", None, ("x" * 500,)))
except ReconcilerError as error:
    print(error.message)
    print(error.hint)
"""


def _fill(path: Path, limit: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", FULL_DISK, f"sqlite:{path}", str(limit)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs to fill needs root")
def test_a_full_disk_gives_one_clear_message(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], check=True)
    try:
        done = _fill(disk / "state.db", 10**9)
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    assert done.stderr == ""
    assert done.stdout == (
        f"cannot write the state store sqlite:{disk / 'state.db'}: the disk is full\n"
        "free space on that disk, or point --state / RECONCILER_STATE at another store\n"
    )


def test_a_file_size_limit_gives_one_clear_message(tmp_path: Path) -> None:
    # Over RLIMIT_FSIZE a write fails with EFBIG, which SQLite reports as a disk I/O error.
    done = _fill(tmp_path / "state.db", 200_000)
    assert done.stderr == ""
    assert done.stdout == (
        f"cannot write the state store sqlite:{tmp_path / 'state.db'}: disk I/O error\n"
        "check that its disk has free space and works, or point --state / RECONCILER_STATE at another store\n"
    )


@contextlib.contextmanager
def read_only(target: Path) -> Iterator[None]:
    """`target` (a file or a directory) read-only, for root too: root ignores permission bits,
    so for root it becomes a read-only bind mount of itself."""
    if os.geteuid() != 0:
        mode = target.stat().st_mode
        target.chmod(0o555 if target.is_dir() else 0o444)
        try:
            yield
        finally:
            target.chmod(mode)
        return
    subprocess.run(["mount", "--bind", str(target), str(target)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(target)], check=True)


@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_read_only_store_gives_one_clear_message_and_leaves_no_file(what: str, tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    path = folder / "state.db"
    open_store(f"sqlite:{path}").close()
    before = sorted(p.name for p in folder.iterdir())
    with read_only(path if what == "file" else folder):
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "--state", f"sqlite:{path}", "unlock", "lk-1"],
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
        )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"error: cannot write the state store sqlite:{path}: "), lines
    assert lines[1:] == [
        "hint: make the file and its directory writable (SQLite also writes -wal and -shm files beside "
        "it), or point --state / RECONCILER_STATE at another store"
    ]
    assert sorted(p.name for p in folder.iterdir()) == before


@pytest.mark.parametrize(
    ("where", "shown"),
    [
        ("notes.txt/state.db", "notes.txt/state.db"),
        ("notes.txt/a\x1b[2J\nb.db", "notes.txt/a\\x1b[2J\\nb.db"),
    ],
)
def test_a_store_that_cannot_be_made_is_named_escaped(tmp_path: Path, where: str, shown: str) -> None:
    (tmp_path / "notes.txt").write_text("notes\n", encoding="utf-8")
    with pytest.raises(ReconcilerError) as refused:
        open_store(f"sqlite:{tmp_path / where}")
    assert refused.value.message == (
        f"the state store (--state) {tmp_path}/{shown} cannot be written: "
        f"{tmp_path}/notes.txt is not a directory"
    )


def test_a_failing_store_is_named_escaped(tmp_path: Path) -> None:
    (tmp_path / "a\x1b[2J\nb.db").write_text("not a database\n" * 100, encoding="utf-8")
    with pytest.raises(ReconcilerError) as refused:
        open_store(f"sqlite:{tmp_path}/a\x1b[2J\nb.db")
    assert "\x1b" not in refused.value.message and "\n" not in refused.value.message
    assert f"sqlite:{tmp_path}/a\\x1b[2J\\nb.db" in refused.value.message


def store_with_a_run(path: Path) -> StateStore:
    """A new store at `path` with run r1 started, for attempts to be recorded in."""
    store = open_store(f"sqlite:{path}")
    store.start_run(NewRun("r1", 1.0, None, "u", "p", "l", None, ("d",)))
    return store


def test_an_outcome_not_waited_for_rides_in_the_next_commit_of_attempts(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = store_with_a_run(path)
    first = store.start_attempt(attempt("c1"))
    store.finish_attempt(first, AttemptOutcome.SUCCEEDED, 2.0, wait=False)
    assert outcomes(path) == [("c1", "started")]  # kept back: nothing written yet
    store.start_attempts([attempt("c2"), attempt("c3")])
    assert outcomes(path) == [("c1", "succeeded"), ("c2", "started"), ("c3", "started")]
    store.close()


def test_closing_the_store_commits_the_outcomes_kept_back(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = store_with_a_run(path)
    first = store.start_attempt(attempt("c1"))
    store.finish_attempt(first, AttemptOutcome.SUCCEEDED, 2.0, wait=False)
    store.close()
    assert outcomes(path) == [("c1", "succeeded")]


def test_a_flush_the_disk_refuses_names_the_attempts_whose_outcome_is_unwritten(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = store_with_a_run(path)
    first, second = store.start_attempts([attempt("c1"), attempt("c2")])
    with sqlite3.connect(path) as db:  # an outcome the database refuses, as a full disk would
        db.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE ON attempts WHEN NEW.change_id = 'c2' "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    store.finish_attempt(first, AttemptOutcome.SUCCEEDED, 2.0, wait=False)
    store.finish_attempt(second, AttemptOutcome.SUCCEEDED, 2.0, wait=False)
    with pytest.raises(UnwrittenOutcomes) as failed:
        store.flush()
    assert failed.value.message == f"cannot write the state store sqlite:{path}: the disk is full"
    assert failed.value.attempt_ids == {first, second}  # one transaction: neither was written
    assert outcomes(path) == [("c1", "started"), ("c2", "started")]
    store.close()  # tries once more, and says nothing: the attempts stay started
    assert outcomes(path) == [("c1", "started"), ("c2", "started")]


MAKES_THE_STORE = """
import sys
from reconciler.store import open_store

open_store(f"sqlite:{sys.argv[1]}").close()
print("made", flush=True)
"""


def test_runners_that_make_the_same_new_store_take_turns(tmp_path: Path) -> None:
    import fcntl

    path = tmp_path / "team" / "state.db"
    path.parent.mkdir()
    with open(path.with_name("state.db.lock"), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another runner making it now
        maker = subprocess.Popen(
            [sys.executable, "-c", MAKES_THE_STORE, str(path)],
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        assert maker.poll() is None and not path.exists()  # it waits its turn, touching nothing
        fcntl.flock(held, fcntl.LOCK_UN)
    out, err = maker.communicate(timeout=60)
    assert (maker.returncode, out) == (0, "made\n"), err
    assert open_store(f"sqlite:{path}").runs(1) == []


def test_two_runners_making_the_same_new_store_at_once_both_open_it(tmp_path: Path) -> None:
    """Side by side, one's switch to WAL failed at once as locked and took away the other's files."""
    for round in range(12):
        path = tmp_path / f"round-{round}" / "state.db"
        makers = [
            subprocess.Popen(
                [sys.executable, "-c", MAKES_THE_STORE, str(path)],
                env=clean_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [maker.communicate(timeout=60) for maker in makers]
        assert [maker.returncode for maker in makers] == [0, 0], results
