"""Links from a plan's `file:line` to that line of the repository, on GitHub or GitLab.

CI says where the repository is: GitHub Actions with `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`
and the commit (the pull request's head commit from the event file `GITHUB_EVENT_PATH`, else
`GITHUB_SHA`); GitLab CI with `CI_PROJECT_URL` and `CI_COMMIT_SHA`. The environment is untrusted
input like any other: a link is built only from an https URL without credentials, query or
fragment, an `owner/name` repository and a hexadecimal commit; anything else means no links.
File paths are taken relative to the checkout (`GITHUB_WORKSPACE`, `CI_PROJECT_DIR`, else the
current directory), never outside it, and URL-quoted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from reconciler.model import COMMIT_ID, SourceSpan

_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
_SERVER = re.compile(rf"https://{_HOST}(?::[0-9]{{1,5}})?")
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_PROJECT = re.compile(rf"https://{_HOST}(?::[0-9]{{1,5}})?(?:/{_SEGMENT})+")
_REPOSITORY = re.compile(rf"{_SEGMENT}/{_SEGMENT}")
#: The event file is the runner's JSON; one of a pull request is a few hundred KB at most.
_MAX_EVENT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceLinks:
    """How a desired-state position becomes a URL: `{prefix}/{path}#L{line}` at one commit."""

    blob_base: str  # e.g. https://github.com/acme/estate/blob/<sha>
    root: Path  # the checkout; paths in the plan are relative to `cwd`
    cwd: Path

    def url(self, source: SourceSpan) -> str | None:
        path = _inside(self.root, self.cwd / source.file)
        if path is None:
            return None
        return f"{self.blob_base}/{quote(path, safe='/')}#L{source.line}"


def _inside(root: Path, file: Path) -> str | None:
    """`file` relative to `root` as a POSIX path, or None when it is not inside it."""
    try:
        relative = Path(os.path.normpath(file)).relative_to(os.path.normpath(root))
    except ValueError:
        return None
    parts = PurePosixPath(*relative.parts).parts
    if not parts or any(part in ("", ".", "..") for part in parts):
        return None
    return "/".join(parts)


def _good(pattern: re.Pattern[str], value: str | None) -> str | None:
    if value is None:
        return None
    value = value.rstrip("/") if pattern is not COMMIT_ID else value
    return value if pattern.fullmatch(value) else None


def _checkout(env: Mapping[str, str], name: str, cwd: Path) -> Path:
    given = env.get(name)
    return Path(given) if given and os.path.isabs(given) else cwd


def _event_head_sha(env: Mapping[str, str]) -> str | None:
    """The pull request's head commit, from the event GitHub Actions wrote for this run."""
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        with open(path, "rb") as stream:
            data = json.loads(stream.read(_MAX_EVENT_BYTES + 1)[:_MAX_EVENT_BYTES])
        sha = data["pull_request"]["head"]["sha"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return sha if isinstance(sha, str) else None


def github_links(env: Mapping[str, str], cwd: Path) -> SourceLinks | None:
    server = _good(_SERVER, env.get("GITHUB_SERVER_URL"))
    repository = _good(_REPOSITORY, env.get("GITHUB_REPOSITORY"))
    # On a pull_request event GITHUB_SHA is a merge commit that exists only for this run: link
    # to the head commit the reviewer is looking at when the event names it.
    sha = _good(COMMIT_ID, _event_head_sha(env)) or _good(COMMIT_ID, env.get("GITHUB_SHA"))
    if server is None or repository is None or sha is None:
        return None
    base = f"{server}/{repository}/blob/{sha}"
    return SourceLinks(base, _checkout(env, "GITHUB_WORKSPACE", cwd), cwd)


def gitlab_links(env: Mapping[str, str], cwd: Path) -> SourceLinks | None:
    project = _good(_PROJECT, env.get("CI_PROJECT_URL"))
    sha = _good(COMMIT_ID, env.get("CI_COMMIT_SHA"))
    if project is None or sha is None:
        return None
    return SourceLinks(f"{project}/-/blob/{sha}", _checkout(env, "CI_PROJECT_DIR", cwd), cwd)


def source_links(env: Mapping[str, str], cwd: Path) -> SourceLinks | None:
    """Links for the CI this runs in (GitHub Actions first, then GitLab CI), or None."""
    if env.get("GITHUB_SERVER_URL") or env.get("GITHUB_REPOSITORY"):
        return github_links(env, cwd)
    if env.get("CI_PROJECT_URL"):
        return gitlab_links(env, cwd)
    return None
