"""`reconciler sandbox serve` over a console file that is damaged or cannot be used.

The server refuses such a file at start, and a file damaged under it later is a 503 in the API's
error shape, without the file's path; its log line names the file and what to do, and it serves
again once a good file is back.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunCli
from tests.http.conftest import TOKEN, ServerFactory, http_env, sandbox_db

AUTH = {"Authorization": f"Bearer {TOKEN}"}
RESTORE = "restore the file, or re-create it with 'reconciler sandbox init [--from FILE]'"
HINT = "hint: create one with 'reconciler sandbox init [--from FILE]', or point --provider at another file\n"
DAMAGED_DETAIL = (
    "the sandbox console's database is damaged or is not a sandbox console; no request can "
    "succeed until the console's operator restores the file or re-creates it with "
    "'reconciler sandbox init'"
)
DAMAGED_BODY = {
    "errors": [{"status": "503", "code": "console-damaged", "title": "Unavailable", "detail": DAMAGED_DETAIL}]
}


def _not_sqlite(path: Path) -> str:
    path.write_text("name,site\nacme,acme.atlassian.net\n")
    return "file is not a database"


def _truncated(path: Path) -> str:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 3)
    return ""


def _sql(statement: str, reason: str) -> Callable[[Path], str]:
    def damage(path: Path) -> str:
        db = sqlite3.connect(path)
        with db:
            db.execute(statement)
        db.close()  # the last connection checkpoints: the file alone holds the change
        return reason

    return damage


DAMAGES = {
    "not-sqlite": _not_sqlite,
    "truncated": _truncated,
    "dropped-table": _sql("DROP TABLE sites", "no such table: sites"),
    "dropped-column": _sql("ALTER TABLE subscriptions DROP COLUMN deactivated_on", "no such column"),
    "unknown-status": _sql(
        "UPDATE subscriptions SET status = 'zombie' WHERE id = 'SUB-1001'",
        "subscriptions.status holds 'zombie', not one of upcoming, active, cancelled, deactivated, deleted",
    ),
}


def _damaged_copy(estate: Path, name: str) -> tuple[Path, str]:
    """A damaged copy of the estate's console beside it, and the reason SQLite or the check gives."""
    copy = estate / f"damaged-{name}.db"
    shutil.copyfile(sandbox_db(estate), copy)
    return copy, DAMAGES[name](copy)


def _me(url: str) -> httpx.Response:
    return httpx.get(f"{url}/v1/me", headers=AUTH, trust_env=False)


def _provision(url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/subscriptions/SUB-1001/apps/focus/provision",
        json={"site": "acme"},
        headers={**AUTH, "Idempotency-Key": key},
        trust_env=False,
    )


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_serve_refuses_a_damaged_file_at_start(estate: Path, run_cli: RunCli, name: str) -> None:
    copy, _ = _damaged_copy(estate, name)
    os.replace(copy, sandbox_db(estate))
    result = run_cli("sandbox", "serve", "--port", "0", timeout=20)
    assert (result.returncode, result.stdout) == (1, "")
    headline, _, hint = result.stderr.partition("\n")
    assert headline.startswith("error: .reconciler/sandbox.db is damaged or not a sandbox console database")
    assert hint == HINT
    assert "Traceback" not in result.stderr


def test_serve_names_the_missing_table_or_column_at_start(estate: Path, run_cli: RunCli) -> None:
    # Only a write reads the idempotency keys' request: without the check it would be found by the
    # first apply, half-way through.
    _sql("ALTER TABLE idempotency_keys DROP COLUMN request", "")(sandbox_db(estate))
    result = run_cli("sandbox", "serve", "--port", "0", timeout=20)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "error: .reconciler/sandbox.db is damaged or not a sandbox console database: "
        "the table idempotency_keys has no column request\n" + HINT,
    )


def _put_over(source: Path, target: Path, how: str) -> None:
    if how == "renamed-over":
        os.replace(source, target)
    elif how == "copied-over":  # a new file under the same name: `rm sandbox.db*; cp damaged.db sandbox.db`
        for leftover in target.parent.glob(f"{target.name}*"):
            leftover.unlink()
        shutil.copyfile(source, target)
    else:  # written in place, as `cp damaged.db sandbox.db` alone: the same inode, new content
        inode = target.stat().st_ino
        shutil.copyfile(source, target)
        assert target.stat().st_ino == inode


@pytest.mark.parametrize("how", ["renamed-over", "copied-over", "written-in-place"])
@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_a_file_damaged_under_the_server_is_a_503_until_a_good_one_is_back(
    estate: Path, serve: ServerFactory, name: str, how: str
) -> None:
    served = serve()
    assert _me(served.url).status_code == 200
    good = estate / "good.db"
    shutil.copyfile(sandbox_db(estate), good)
    copy, _ = _damaged_copy(estate, name)
    _put_over(copy, sandbox_db(estate), how)
    for response in (_me(served.url), _provision(served.url, "k-1")):
        assert (response.status_code, response.json()) == (503, DAMAGED_BODY)
        assert str(estate) not in response.text and TOKEN not in response.text
    _put_over(good, sandbox_db(estate), how)
    assert _me(served.url).status_code == 200
    assert _provision(served.url, "k-2").status_code == 202
    assert served.stop() == 0
    log = served.log.read_text()
    assert "Traceback" not in log and "internal error" not in log
    damaged = [line for line in log.splitlines() if " 503 " in line]
    assert len(damaged) == 2
    for line in damaged:
        headline, _, advice = line.partition(": .reconciler/sandbox.db is damaged or not a sandbox console")
        assert headline.startswith("127.0.0.1 ") and " 503 " in headline
        assert advice.endswith(f"; {RESTORE}")


def test_a_column_only_a_write_reads_dropped_under_the_server(estate: Path, serve: ServerFactory) -> None:
    served = serve()
    with sqlite3.connect(sandbox_db(estate)) as db:
        db.execute("ALTER TABLE idempotency_keys DROP COLUMN request")
    assert _me(served.url).status_code == 200  # a read does not need it
    response = _provision(served.url, "k-1")
    assert (response.status_code, response.json()) == (503, DAMAGED_BODY)
    assert served.stop() == 0
    last = served.log.read_text().splitlines()[-1]
    assert last.startswith("127.0.0.1 POST /v1/subscriptions/SUB-1001/apps/focus/provision 503 ")
    assert last.endswith(
        "ms: .reconciler/sandbox.db is damaged or not a sandbox console database: "
        f"no such column: request; {RESTORE}"
    )


def test_the_client_prints_one_error_and_does_not_retry_a_damaged_console(
    estate: Path, serve: ServerFactory, run_cli: RunCli
) -> None:
    served = serve()
    copy, _ = _damaged_copy(estate, "dropped-table")
    os.replace(copy, sandbox_db(estate))
    for command in (["plan"], ["apply", "--auto-approve"]):
        result = run_cli(*command, env=http_env(served.url), timeout=30)
        assert (command, result.returncode, result.stdout, result.stderr) == (
            command,
            1,
            "",
            f"error: the console at {served.url} cannot serve: {DAMAGED_DETAIL}\n"
            "hint: running the command again is safe once the console is repaired\n",
        )
    assert served.stop() == 0
    # One observation each (/v1/me and seven collections; apply asks /v1/me for its lock too),
    # none sent again: retried, it would be eight times as many.
    assert len(served.log.read_text().splitlines()) <= 2 * 8 + 1


def test_the_admin_api_stand_in_answers_a_damaged_console_with_a_503(
    estate: Path, serve: ServerFactory
) -> None:
    served = serve("--api", "atlassian")
    copy, _ = _damaged_copy(estate, "not-sqlite")
    os.replace(copy, sandbox_db(estate))
    response = httpx.get(
        f"{served.url}/admin/v1/orgs", headers={"Authorization": "Bearer x"}, trust_env=False
    )
    assert response.status_code == 503
    assert "console-damaged" in response.text and str(estate) not in response.text
    assert served.stop() == 0
    assert "Traceback" not in served.log.read_text()


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """Makes a file read-only even to root (chattr +i); undone at the end."""
    made: list[Path] = []

    def make(path: Path) -> None:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip("chattr +i is not allowed here")
        made.append(path)

    if shutil.which("chattr") is None:
        pytest.skip("no chattr")
    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_a_read_only_console_answers_writes_with_a_503_and_still_reads(
    estate: Path, serve: ServerFactory, immutable: Callable[[Path], None]
) -> None:
    immutable(sandbox_db(estate))
    served = serve()
    assert _me(served.url).status_code == 200
    response = _provision(served.url, "k-1")
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "console-read-only"
    assert response.json()["errors"][0]["detail"] == (
        "the sandbox console's database cannot be written (it is read-only); writes fail "
        "until the console's operator makes it writable"
    )
    assert served.stop() == 0
    last = served.log.read_text().splitlines()[-1]
    assert ": the sandbox console .reconciler/sandbox.db cannot be written: " in last
    assert last.endswith("; make the file, and the folder it is in, writable by whoever runs the console")
