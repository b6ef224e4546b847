"""One plan comment per pull request: created once, then edited in place on every push.

The comment is found by the plan's first line, a hidden marker, and by its author, so a reviewer
who quotes the plan in a reply never has their own comment overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.ci.answer import Answer
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


def is_plan_comment(body: str | None, login: str | None, author: str) -> bool:
    return body is not None and body.split("\n", 1)[0].strip() == MARKER and login == author


def find_plan_comment(github: GitHub, number: int, author: str) -> int | None:
    """The id of the oldest plan comment, so every push edits the same one."""
    for comment in github.list_all(f"issues/{number}/comments"):
        # GitHub documents `body` as optional and `user` as null for a deleted account.
        user = comment.child_or_none("user")
        login = user.text("login") if user is not None else None
        if is_plan_comment(comment.text_or_none("body", optional=True), login, author):
            return comment.integer("id")
    return None


def _posted(answer: Answer, created: bool) -> Posted:
    return Posted(comment_id=answer.integer("id"), url=answer.text("html_url"), created=created)


def upsert_plan_comment(github: GitHub, number: int, body: str, author: str = DEFAULT_AUTHOR) -> Posted:
    text = with_marker(body)
    if len(text) > MAX_BODY:
        # The Markdown plan caps itself at 60,000; this only guards a body from elsewhere.
        text = (
            text[: MAX_BODY - 200] + "\n\n…cut: the full plan is in the job summary and the plan artifact.\n"
        )
    existing = find_plan_comment(github, number, author)
    if existing is None:
        return _posted(github.send("POST", f"issues/{number}/comments", {"body": text}), created=True)
    return _posted(github.send("PATCH", f"issues/comments/{existing}", {"body": text}), created=False)
