"""A throwaway PostgreSQL for the tests and benchmarks of the team state store.

`python -m tests.pgserver -- COMMAND...` starts a server of its own (initdb in a temporary
directory, a free port on 127.0.0.1, password authentication), runs COMMAND with its URL in
RECONCILER_TEST_POSTGRES, and stops it and removes the directory afterwards, also when COMMAND
fails or the run is interrupted. When PostgreSQL is not installed, root installs it with
apt-get; anyone else gets COMMAND run without it (the PostgreSQL tests then skip, except under
CI=true, where they fail). PostgreSQL refuses to run as root, so root runs it as `nobody`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ENV_URL = "RECONCILER_TEST_POSTGRES"
USER = "reconciler"
DATABASE = "reconciler"


def find_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: PATH first, then Debian's versioned directories, newest first."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    for candidate in versions:
        if (Path(candidate) / "pg_ctl").exists() and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.name)
    except ValueError:
        return 0.0


def install() -> Path | None:
    """apt-get install postgresql, as root only; the bin directory afterwards."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("Installing PostgreSQL with apt-get for the state store tests...", file=sys.stderr, flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return find_bin_dir()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """One PostgreSQL cluster in a directory of its own."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.password = secrets.token_hex(12)
        self.port = free_port()
        # root may not run PostgreSQL: the cluster belongs to nobody, who can reach nothing else.
        self.as_user = {"user": "nobody", "group": "nogroup"} if os.geteuid() == 0 else {}

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.root,
            **self.as_user,  # type: ignore[arg-type]
        )
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise subprocess.CalledProcessError(done.returncode, args[0])

    def init(self) -> None:
        if self.as_user:
            os.chown(self.root, 65534, 65534)
        secret = self.root / "password"
        secret.write_text(self.password + "\n")
        if self.as_user:
            os.chown(secret, 65534, 65534)
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, "--auth=scram-sha-256", f"--pwfile={secret}",
            "-E", "UTF8", "--locale=C", "--no-instructions", "--no-sync",
        )  # fmt: skip
        secret.unlink()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")
        self.psql(f"CREATE DATABASE {DATABASE}", database="postgres")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop and start again on the same port: what a team's database does on an upgrade."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-o", options, "-w", "restart")

    def psql(self, sql: str, *, database: str = DATABASE) -> None:
        import psycopg

        url = self.url.rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(sql)  # type: ignore[arg-type]


@contextlib.contextmanager
def running_postgres() -> Iterator[Server | None]:
    """A started server, or None when PostgreSQL is missing and cannot be installed here."""
    bin_dir = find_bin_dir() or install()
    if bin_dir is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
    server = Server(bin_dir, root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print("usage: python -m tests.pgserver -- COMMAND...", file=sys.stderr)
        return 2
    # SIGTERM (a CI job cancelled) unwinds like Ctrl-C, so the server is stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with running_postgres() as server:
            env = dict(os.environ)
            if server is None:
                print("PostgreSQL is not installed: its tests are skipped.", file=sys.stderr)
            else:
                env[ENV_URL] = server.url
                env["RECONCILER_TEST_POSTGRES_BIN"] = str(server.bin_dir)
                env["RECONCILER_TEST_POSTGRES_DATA"] = str(server.data)
            return subprocess.run(command, env=env).returncode
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
