"""Who is running, where, and from which commit: what the journal and the locks record."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from reconciler.model import COMMIT_ID

#: rev-parse answers in milliseconds; a hung git (a network file system) must not hold up apply.
GIT_TIMEOUT = 5.0

#: Where CI systems put the commit being built, in the order they are tried.
COMMIT_VARIABLES = (
    "GITHUB_SHA",  # GitHub Actions
    "CI_COMMIT_SHA",  # GitLab CI
    "BUILDKITE_COMMIT",
    "CIRCLE_SHA1",  # CircleCI
    "BITBUCKET_COMMIT",  # Bitbucket Pipelines
    "BUILD_SOURCEVERSION",  # Azure Pipelines
    "DRONE_COMMIT_SHA",
    "TRAVIS_COMMIT",
    "GIT_COMMIT",  # Jenkins
)


def ci_commit(environ: Mapping[str, str] | None = None, checkout: str | Path | None = None) -> str | None:
    """The commit CI names, else the HEAD of the git work tree holding `checkout`, else None.

    The journal only records it: a variable that holds no commit id (`main`, text with a line
    break) is passed over, never recorded and never an error that would stop an apply.
    """
    env = os.environ if environ is None else environ
    for name in COMMIT_VARIABLES:
        value = env.get(name, "").strip()
        if COMMIT_ID.fullmatch(value):
            return value
    return None if checkout is None else git_head(Path(checkout))


def git_head(path: Path) -> str | None:
    """`git rev-parse HEAD` where `path` lies, or None: not a work tree, no git, no commit yet."""
    folder = path if path.is_dir() else path.parent
    try:
        found = subprocess.run(
            # fsmonitor is the one setting a plain rev-parse could run a program for: never here.
            ["git", "-c", "core.fsmonitor=false", "rev-parse", "--verify", "--quiet", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = found.stdout.strip()
    return commit if found.returncode == 0 and COMMIT_ID.fullmatch(commit) else None


def host_name() -> str:
    return socket.gethostname() or "localhost"


def user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # A container may run under a uid with no passwd entry.
        return f"uid{os.getuid()}"


def owner_of_this_process() -> str:
    """`alice@ci-runner pid 4242`: how a lock holder is named in messages."""
    return f"{user_name()}@{host_name()} pid {os.getpid()}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists in this PID namespace (a zombie counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just someone else's
    return True


def pid_namespace() -> str:
    """This machine's boot and this process's PID namespace: where a pid means one process.

    A pid is only evidence of life or death to a process that shares both: two containers on one
    host (even with one hostname) have separate PID namespaces, and two machines that share a
    hostname have separate boots. Without /proc (not Linux) only the hostname is known, which is
    weaker: the platform is recorded so that such a holder is still told apart from a Linux one.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return f"{sys.platform}:{host_name()}"
    return f"{boot}/{namespace}"
