"""Who is running, where, and from which commit: what the journal and the locks record."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping

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


def ci_commit(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    for name in COMMIT_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


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
    """Whether a process with this id exists on this host (a zombie counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just someone else's
    return True
