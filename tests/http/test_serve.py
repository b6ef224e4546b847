"""`reconciler sandbox serve` as a process: what it prints, how it stops, what it refuses."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox.httpserver import _encoded
from tests.conftest import RunCli
from tests.http.conftest import TOKEN, ServerFactory, http_env, sandbox_db


def test_prints_where_it_serves_and_stops_cleanly_on_sigterm(estate: Path, serve: ServerFactory) -> None:
    served = serve()
    response = httpx.get(f"{served.url}/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False)
    assert response.status_code == 200
    assert response.json()["data"] == {"email": "alice@acme.example"}
    assert served.stop(signal.SIGTERM) == 0


def test_stops_cleanly_on_ctrl_c(estate: Path, serve: ServerFactory) -> None:
    assert serve().stop(signal.SIGINT) == 0


def test_first_line_names_the_database_and_the_address(tmp_path: Path, serve: ServerFactory) -> None:
    served = serve("--provider", "sandbox:console.db")
    port = int(served.url.rpartition(":")[2])
    assert served.url == f"http://127.0.0.1:{port}"
    served.stop()
    assert (tmp_path / "console.db").exists()
    # A missing database is created from the built-in example, as the sandbox provider does.
    assert served.log.read_text().splitlines()[0] == (
        "Created the sandbox console console.db from the built-in example "
        "(use 'reconciler sandbox init --from FILE' for your own)."
    )


def test_a_request_log_line_per_request_without_headers(estate: Path, serve: ServerFactory) -> None:
    served = serve()
    httpx.get(f"{served.url}/v1/sites?limit=2", headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False)
    served.stop()
    lines = served.log.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("127.0.0.1 GET /v1/sites 200 ")
    assert TOKEN not in served.log.read_text()


def test_an_http_console_in_the_environment_leaves_the_sandbox_commands_on_the_default_database(
    estate: Path, serve: ServerFactory, run_cli: RunCli
) -> None:
    # The usual session: export the client's settings once, then start the server and use it.
    client = {"RECONCILER_PROVIDER": "http://127.0.0.1:9", "RECONCILER_TOKEN": TOKEN}
    served = serve(env=client)
    shown = run_cli("sandbox", "show", env=client)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Sandbox console sandbox:.reconciler/sandbox.db\n")
    moved = run_cli("sandbox", "advance", "--days", "1", env=client)
    assert moved.returncode == 0, moved.stderr
    planned = run_cli("plan", "--format", "json", env={**client, "RECONCILER_PROVIDER": served.url})
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["observed_on"] == "2026-11-22"  # the served file, moved a day


def test_refuses_to_serve_a_provider_that_is_not_a_sandbox(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("sandbox", "serve", "--provider", "https://alice:secret@console.example.com")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: sandbox serve serves a sandbox console, and the provider is https://console.example.com\n"
        "hint: name the database to serve with --provider sandbox:PATH "
        "(default: sandbox:.reconciler/sandbox.db)\n"
    )


def test_a_port_in_use_is_an_error_with_a_hint(estate: Path, run_cli: RunCli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("sandbox", "serve", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
        "hint: choose another --port, or --port 0 for a free one\n"
    )


HOST_HINT = "hint: --host must be an address of this machine, e.g. 127.0.0.1 (or 0.0.0.0 for all of them)\n"


def test_a_host_that_is_no_address_of_this_machine_gets_a_hint_about_the_host(
    estate: Path, run_cli: RunCli
) -> None:
    result = run_cli("sandbox", "serve", "--host", "192.0.2.1", "--port", "0")  # TEST-NET-1: nobody's
    assert result.returncode == 1
    assert result.stderr.endswith(
        "error: cannot listen on 192.0.2.1:0: Cannot assign requested address\n" + HOST_HINT
    )
    # Not an address at all: the resolver's own words, then the same hint.
    result = run_cli("sandbox", "serve", "--host", "999.1.1.1", "--port", "0")
    assert result.returncode == 1
    assert result.stderr.endswith(HOST_HINT)
    assert "error: cannot listen on 999.1.1.1:0: " in result.stderr


def test_warns_when_serving_beyond_loopback(estate: Path, serve: ServerFactory) -> None:
    try:
        served = serve("--host", "0.0.0.0")
    except AssertionError as error:  # pragma: no cover - a runner without a network interface
        pytest.skip(f"cannot bind 0.0.0.0 here: {error}")
    served.stop()
    assert served.url.startswith("http://0.0.0.0:")
    assert served.log.read_text().splitlines()[0] == (
        "warning: serving on 0.0.0.0, reachable from the network; this sandbox's tokens are in its "
        "seed file, so anyone who can reach it can act as its users"
    )
    assert sandbox_db(estate).exists()


def test_a_request_path_with_terminal_escapes_is_logged_escaped(estate: Path, serve: ServerFactory) -> None:
    served = serve()
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"GET /v1/\x1b[2J\x1b]0;owned\x07\xe2\x80\xae HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        while connection.recv(4096):
            pass
    served.stop()
    (line,) = served.log.read_text(encoding="utf-8").splitlines()
    # However the request line's bytes are decoded, no control character is written raw.
    assert line.startswith("127.0.0.1 GET /v1/\\x1b[2J\\x1b]0;owned\\x07")
    assert line.isprintable()


def test_answers_are_the_bytes_json_dumps_writes() -> None:
    # Every character below 256 as a value and a key, control characters, DEL, non-ASCII, a lone
    # surrogate and a big number: the fast encoder is used only where its bytes are the same.
    bodies: list[object] = [{"k": chr(c), chr(c): [chr(c) * 2, c]} for c in range(256)]
    bodies += [{"x": "\ud800"}, {"n": 2**70}, {"s": "é\u2028\u202e"}, {"a": [None, True, {"b": []}]}]
    for body in bodies:
        assert _encoded(body) == json.dumps(body, separators=(",", ":")).encode(), body


def _me(url: str, token: str = TOKEN) -> httpx.Response:
    return httpx.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"}, trust_env=False)


def test_a_console_replaced_by_init_is_served_from_then_on(
    estate: Path, serve: ServerFactory, run_cli: RunCli
) -> None:
    served = serve(env={"RECONCILER_SANDBOX_DELAY": "0"})
    assert run_cli("sandbox", "advance", "--days", "3").returncode == 0
    before = _me(served.url).json()["meta"]
    assert before["now"] == "2026-11-24"
    # The same console again, made anew under the running server: a new identity, its own clock.
    initialised = run_cli("sandbox", "init")
    assert initialised.returncode == 0, initialised.stderr
    after = _me(served.url).json()["meta"]
    assert after["now"] == "2026-11-21"
    with sqlite3.connect(sandbox_db(estate)) as db:
        (console_id,) = db.execute("SELECT value FROM meta WHERE key = 'console_id'").fetchone()
    assert after["console"] == console_id != before["console"]
    # What is applied over HTTP lands in the new file: the same plan in process finds nothing to do.
    applied = run_cli("apply", "--auto-approve", env=http_env(served.url))
    assert applied.returncode == 0, applied.stderr
    assert run_cli("plan", "--detailed-exitcode").returncode == 0
    assert served.stop() == 0


def _other_console(estate: Path, run_cli: RunCli, days: int) -> tuple[Path, str]:
    """Another example console beside the estate, its clock `days` on: its file and its identity."""
    other = estate / "other"
    (other / ".reconciler").mkdir(parents=True)
    assert run_cli("sandbox", "init", cwd=other).returncode == 0
    if days:
        assert run_cli("sandbox", "advance", "--days", str(days), cwd=other).returncode == 0
    with sqlite3.connect(sandbox_db(other)) as db:
        (console_id,) = db.execute("SELECT value FROM meta WHERE key = 'console_id'").fetchone()
    return sandbox_db(other), str(console_id)


def _copy_in_place(source: Path, target: Path) -> None:
    """`cp source target`: the target keeps its inode, so only its size and times tell it changed."""
    inode = target.stat().st_ino
    shutil.copyfile(source, target)
    assert target.stat().st_ino == inode


def test_a_console_copied_over_in_place_is_served_from_then_on(
    estate: Path, serve: ServerFactory, run_cli: RunCli
) -> None:
    other, console_id = _other_console(estate, run_cli, days=3)
    served = serve(env={"RECONCILER_SANDBOX_DELAY": "0"})
    before = _me(served.url).json()["meta"]
    assert before["now"] == "2026-11-21"
    _copy_in_place(other, sandbox_db(estate))
    after = _me(served.url).json()["meta"]
    assert (after["now"], after["console"]) == ("2026-11-24", console_id)
    assert console_id != before["console"]
    applied = run_cli("apply", "--auto-approve", env=http_env(served.url))
    assert applied.returncode == 0, applied.stderr
    assert run_cli("plan", "--detailed-exitcode").returncode == 0
    assert served.stop() == 0


def _file_alone(path: Path, copy: Path) -> dict[str, str]:
    """The console's `meta` as the file holds it, without the writes still in its log beside it."""
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as db:
        return dict(db.execute("SELECT key, value FROM meta"))


def test_a_console_copied_over_in_place_after_writes_is_served_as_copied(
    estate: Path, serve: ServerFactory, run_cli: RunCli
) -> None:
    # SQLite pairs the write-ahead log with the file by name: writes left in it would be laid over
    # the copy. The server checkpoints once its writes pause, so a copy made then is whole.
    other, console_id = _other_console(estate, run_cli, days=0)
    served = serve(env={"RECONCILER_SANDBOX_DELAY": "0"})
    applied = run_cli("apply", "--auto-approve", env=http_env(served.url))
    assert applied.returncode == 0, applied.stderr
    written = _me(served.url).json()["meta"]["version"]
    deadline = time.monotonic() + 10  # a moment without writes, as a user copying a file has
    while (
        _file_alone(sandbox_db(estate), estate / "alone.db")["writes"] != "4" and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    _copy_in_place(other, sandbox_db(estate))
    copied = _me(served.url).json()["meta"]
    assert copied["console"] == console_id and copied["version"] != written
    # Nothing of the old console's writes: the copy has everything still to do.
    assert run_cli("plan", "--detailed-exitcode", env=http_env(served.url)).returncode == 2
    assert served.stop() == 0
    with sqlite3.connect(sandbox_db(estate)) as db:
        assert dict(db.execute("SELECT key, value FROM meta"))["writes"] == "0"


def test_a_console_removed_under_the_server_is_a_clear_503(estate: Path, serve: ServerFactory) -> None:
    served = serve()
    assert _me(served.url).status_code == 200
    for leftover in sandbox_db(estate).parent.glob("sandbox.db*"):
        leftover.unlink()
    response = _me(served.url)
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "unavailable"
    assert response.json()["errors"][0]["detail"] == (
        "the sandbox console's database no longer exists; retry once the console's operator has "
        "put it back or re-created it with 'reconciler sandbox init'"
    )
    assert response.headers["Retry-After"] == "1"
    assert not sandbox_db(estate).exists()  # nothing made in its place
    assert served.stop() == 0
    assert (
        served.log.read_text()
        .splitlines()[-1]
        .endswith(
            "ms: the sandbox console .reconciler/sandbox.db no longer exists; "
            "create it again with 'reconciler sandbox init', or put the file back"
        )
    )
