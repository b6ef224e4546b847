"""Words from YAML stay words in a PR comment: no link, mention, reference, HTML or broken table.

The rendered comment is parsed with markdown-it (CommonMark plus GFM tables and linkify, the way
GitHub and GitLab read it), and every `@`, `#`, URL and tag is checked to sit inside <code>.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from reconciler.model import Action, Blocked, SourceSpan
from reconciler.rendering.mdsafe import cell, code, one_line, prose
from reconciler.rendering.text import blocked_subject

HOSTILE = [
    "@octocat",
    "team @acme/admins please",
    "#1",
    "GH-12",
    "acme/estate#3",
    "deadbeefcafe",
    "https://evil.example/x",
    "www.evil.example",
    "alice@evil.example",
    "[click](https://evil.example)",
    "![img](https://evil.example/a.png)",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "&lt;b&gt;",
    "a | b",
    "line\nbreak | x |",
    "cr\rand\u2028sep\u2029and\x85next",
    "`code` and ``two``",
    "``",
    "*bold* _em_ ~~strike~~",
    "\\",
    ":warning: :+1:",
    "\u202eevil\u202c",
    "x](https://evil.example) [y",
]


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark", {"linkify": False}).enable("table").render(markdown)


def outside_code(html: str) -> str:
    return re.sub(r"<code>.*?</code>", "", html, flags=re.S)


@pytest.mark.parametrize("value", HOSTILE)
def test_code_holds_any_value_exactly_on_one_line(value: str) -> None:
    html = rendered(f"x {code(value)} y")
    assert html.count("<code>") == 1 and "<a " not in html and "<img" not in html
    assert "\n" not in code(value) and "\r" not in code(value)


@pytest.mark.parametrize("value", HOSTILE)
def test_prose_leaves_nothing_a_forge_would_link_outside_code(value: str) -> None:
    html = rendered(prose(f"site {value} is in org {value}; pick another name"))
    text = outside_code(html).removeprefix("<p>").removesuffix("</p>\n")
    assert re.fullmatch(r"[A-Za-z0-9 ,;:.()>-]*", text.replace("-&gt;", "->")), text


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_keeps_a_table_row_a_row(value: str) -> None:
    markdown = "| a | b |\n|---|---|\n" + f"| {cell(code(value))} | {cell(prose(value))} |\n"
    html = rendered(markdown)
    assert html.count("<tr>") == 2 and html.count("<td>") == 2, html
    assert "<a " not in html and "<img" not in html and "<script" not in html


def test_code_spans_fence_backticks_and_pad_only_when_needed() -> None:
    assert code("SUB-1") == "`SUB-1`"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code("a``b") == "```a``b```"
    assert code("") == "` `"


def test_what_breaks_lines_or_hides_text_is_shown_escaped() -> None:
    assert one_line("a\nb\tc\rd\x1be\u2028f\u202eg\x85h") == "a\\nb\\tc\\rd\\x1be\\u2028f\\u202eg\\x85h"


def test_plain_words_stay_plain_and_names_go_in_code() -> None:
    assert prose("focus of SUB-1001 shows Site setup required; provision it to acme (acme-corp)") == (
        "focus of `SUB-1001` shows Site setup required; provision it to acme (`acme-corp`)"
    )
    assert prose("talent -> labs, focus: Site setup required") == "talent -> labs, focus: Site setup required"
    assert prose("a defaced site") == "a `defaced` site"  # could be a commit sha


CREATION = "the creation of site new-site in org acme-labs"
PROVISION = "the provision of focus of SUB-1001 to acme (acme-corp)"


@pytest.mark.parametrize(
    ("action", "subscription", "app", "site", "org", "words"),
    [
        (Action.CREATE_SITE, None, None, "new-site", "acme-labs", CREATION),
        (Action.PROVISION, "SUB-1001", "focus", "acme", "acme-corp", PROVISION),
        (Action.PROVISION, "SUB-1", "talent", "nowhere", None, "the provision of talent of SUB-1 to nowhere"),
        (Action.PROVISION, "SUB-404", None, None, None, "the provision of every app of SUB-404"),
        (Action.CANCEL, "SUB-1002", None, None, None, "the cancel of SUB-1002"),
        (Action.REACTIVATE, "SUB-7", None, None, None, "the reactivation of SUB-7"),
    ],
)
def test_a_blocked_entry_says_what_it_blocks_the_same_way_for_every_rule(
    action: Action, subscription: str | None, app: str | None, site: str | None, org: str | None, words: str
) -> None:
    entry = Blocked("any-rule", "why", subscription, app, site, SourceSpan("f.yaml", 1, 1), action, org)
    assert blocked_subject(entry) == words
    in_markdown = blocked_subject(entry, code)
    for value in (subscription, app, site, org):
        assert value is None or code(value) in in_markdown
    assert in_markdown.replace("`", "") == words
