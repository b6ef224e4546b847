"""One plan comment per pull request: created once, then edited in place on every push.

The comment is found by the plan's first line, a hidden marker, and by its author, so a reviewer
who quotes the plan in a reply never has their own comment overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.ci.github import GitHub

MARKER = "<!-- reconciler-plan -->"
#: GitHub refuses a comment body over 65,536 characters.
MAX_BODY = 65_536
#: The identity the workflow's GITHUB_TOKEN comments as.
DEFAULT_AUTHOR = "github-actions[bot]"


@dataclass(frozen=True)
class Posted:
    comment_id: int
    url: str
    created: bool


def with_marker(body: str) -> str:
    """The body as posted: it starts with the marker line whatever rendered it."""
    return body if body.startswith(MARKER + "\n") else f"{MARKER}\n{body}"


def is_plan_comment(comment: dict[str, Any], author: str) -> bool:
    body = comment.get("body")
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return isinstance(body, str) and body.split("\n", 1)[0].strip() == MARKER and login == author


def find_plan_comment(github: GitHub, number: int, author: str) -> dict[str, Any] | None:
    """The oldest plan comment, so every push edits the same one."""
    comments = github.list_all(f"issues/{number}/comments")
    return next((c for c in comments if is_plan_comment(c, author)), None)


def upsert_plan_comment(github: GitHub, number: int, body: str, author: str = DEFAULT_AUTHOR) -> Posted:
    text = with_marker(body)
    if len(text) > MAX_BODY:
        # The Markdown plan caps itself at 60,000; this only guards a body from elsewhere.
        text = (
            text[: MAX_BODY - 200] + "\n\n…cut: the full plan is in the job summary and the plan artifact.\n"
        )
    existing = find_plan_comment(github, number, author)
    if existing is None:
        answer = github.send("POST", f"issues/{number}/comments", {"body": text})
        created = True
    else:
        answer = github.send("PATCH", f"issues/comments/{existing['id']}", {"body": text})
        created = False
    return Posted(comment_id=int(answer["id"]), url=str(answer.get("html_url", "")), created=created)
