"""A stand-in for the GitHub CLI: `gh api` and `gh run download` over a JSON file, not GitHub.

It answers with the shapes GitHub documents for the endpoints the CI steps use (issue comments,
issues, commits' pull requests, workflow runs and their artifacts), pages lists as GitHub does
(`per_page`, `page`), fails like gh (a message on stderr, exit 1; exit 4 without a token), and
records every call in calls.jsonl for the tests to read.

`answers` in the state replaces the answer to one call (`"GET commits/SHA/pulls"`: the method and
the path under the repository, without the query) with the raw text given, for the tests of what
the steps do with an answer GitHub's documentation does not allow.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

STATE_DIR = Path(os.environ["FAKE_GH_STATE"])
STATE = STATE_DIR / "state.json"


class NotFound(Exception):
    pass


def load() -> dict[str, Any]:
    return json.loads(STATE.read_text(encoding="utf-8"))


def save(state: dict[str, Any]) -> None:
    # Whole or not at all: two jobs may call the stand-in at once.
    scratch = STATE.with_name(f"state.{os.getpid()}.json")
    scratch.write_text(json.dumps(state, indent=2), encoding="utf-8")
    scratch.replace(STATE)


def page(items: list[Any], query: dict[str, list[str]]) -> list[Any]:
    size = int(query.get("per_page", ["30"])[0])
    number = int(query.get("page", ["1"])[0])
    return items[(number - 1) * size : number * size]


def next_id(state: dict[str, Any]) -> int:
    state["next_id"] = state.get("next_id", 1000) + 1
    return int(state["next_id"])


def comment_answer(state: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
    repo = state["repository"]
    return {
        **comment,
        "html_url": f"https://github.com/{repo}/pull/{comment['issue']}#issuecomment-{comment['id']}",
        "url": f"https://api.github.com/repos/{repo}/issues/comments/{comment['id']}",
    }


def comments(state: dict[str, Any], method: str, rest: str, query: dict[str, list[str]], body: Any) -> Any:
    listing = re.fullmatch(r"issues/(\d+)/comments", rest)
    if listing and method == "GET":
        mine = [c for c in state["comments"] if c["issue"] == int(listing[1])]
        return [comment_answer(state, c) for c in page(mine, query)]
    if listing and method == "POST":
        comment = {
            "id": next_id(state),
            "issue": int(listing[1]),
            "body": body["body"],
            "user": {"login": state["login"], "type": "Bot"},
        }
        state["comments"].append(comment)
        return comment_answer(state, comment)
    one = re.fullmatch(r"issues/comments/(\d+)", rest)
    if one and method == "PATCH":
        for comment in state["comments"]:
            if comment["id"] == int(one[1]):
                comment["body"] = body["body"]
                return comment_answer(state, comment)
    raise NotFound


def issues(state: dict[str, Any], method: str, rest: str, query: dict[str, list[str]], body: Any) -> Any:
    if rest == "issues" and method == "GET":
        wanted = query.get("labels", [""])[0]
        found = [
            i
            for i in state["issues"]
            if i["state"] == query.get("state", ["open"])[0]
            and (not wanted or wanted in [x["name"] for x in i["labels"]])
        ]
        return page(found, query)
    if rest == "issues" and method == "POST":
        number = next_id(state)
        issue = {
            "number": number,
            "title": body["title"],
            "body": body["body"],
            "state": "open",
            "labels": [{"name": n} for n in body.get("labels", [])],
            "html_url": f"https://github.com/{state['repository']}/issues/{number}",
        }
        state["issues"].append(issue)
        return issue
    one = re.fullmatch(r"issues/(\d+)", rest)
    if one and method == "PATCH":
        for issue in state["issues"]:
            if issue["number"] == int(one[1]):
                issue.update(body)
                return issue
    raise NotFound


def actions(state: dict[str, Any], method: str, rest: str, query: dict[str, list[str]], body: Any) -> Any:
    pulls = re.fullmatch(r"commits/([0-9a-f]+)/pulls", rest)
    if pulls and method == "GET":
        return state["commit_pulls"].get(pulls[1], [])
    if rest == "actions/runs" and method == "GET":
        runs = [
            r
            for r in state["runs"]
            if all(r.get(key) == query[key][0] for key in ("head_sha", "event", "status") if key in query)
        ]
        return {"total_count": len(runs), "workflow_runs": page(runs, query)}
    artifacts = re.fullmatch(r"actions/runs/(\d+)/artifacts", rest)
    if artifacts and method == "GET":
        names = state["artifacts"].get(artifacts[1], {})
        wanted = query.get("name", [None])[0]
        found = [
            {"id": int(artifacts[1]) * 10, "name": n, "expired": False} for n in names if wanted in (None, n)
        ]
        return {"total_count": len(found), "artifacts": found}
    raise NotFound


def api(args: list[str], stdin: str) -> int:
    method, path, i = "GET", None, 0
    while i < len(args):
        if args[i] in ("-H", "--header", "--input"):
            i += 2
            continue
        if args[i] in ("-X", "--method"):
            method, i = args[i + 1], i + 2
            continue
        path, i = args[i], i + 1
    split = urlsplit(path or "")
    query = parse_qs(split.query)
    state = load()
    prefix = f"repos/{state['repository']}/"
    body = json.loads(stdin) if stdin.strip() else None
    try:
        if not split.path.startswith(prefix):
            raise NotFound
        rest = split.path[len(prefix) :]
        canned = state.get("answers", {}).get(f"{method} {rest}")
        if canned is not None:
            print(canned)
            return 0
        for handler in (comments, issues, actions):
            try:
                answer = handler(state, method, rest, query, body)
                break
            except NotFound:
                continue
        else:
            raise NotFound
    except NotFound:
        print("gh: Not Found (HTTP 404)", file=sys.stderr)
        return 1
    if method != "GET":
        save(state)
    print(json.dumps(answer))
    return 0


def run_download(args: list[str]) -> int:
    run_id, name, into = args[0], args[args.index("--name") + 1], Path(args[args.index("--dir") + 1])
    source = STATE_DIR / "artifacts" / run_id / name
    if name not in load()["artifacts"].get(run_id, {}) or not source.is_dir():
        print("no artifact matches any of the names or patterns provided", file=sys.stderr)
        return 1
    into.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        shutil.copy(item, into / item.name)
    return 0


def main(argv: list[str]) -> int:
    stdin = "" if sys.stdin.isatty() else sys.stdin.read()
    with (STATE_DIR / "calls.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps({"args": argv, "stdin": stdin}) + "\n")
    if not os.environ.get("GH_TOKEN"):
        print("To get started with GitHub CLI, please run:  gh auth login", file=sys.stderr)
        return 4
    if argv[:1] == ["api"]:
        return api(argv[1:], stdin)
    if argv[:2] == ["run", "download"]:
        return run_download(argv[2:])
    print(f"unknown command {argv[:2]} for the stand-in", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
