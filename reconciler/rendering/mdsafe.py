"""Words from YAML in a pull-request comment, made inert.

Ids, site and org names, file names and the messages that quote them come from files anyone can
change in a pull request. In GitHub or GitLab Markdown they could otherwise become links
(`https://...`, `www.`, `[x](y)`, an email), @mentions, #123 or commit references, HTML, emphasis,
or break a table (`|`, a newline). Two tools keep them inert:

- `code(value)`: a code span, in which neither forge links, mentions or references anything;
- `prose(text)`: a sentence whose every word that is not a plain word goes in a code span.

In a table cell, `cell()` also escapes `|`, which GFM splits rows on even inside a code span.
Characters that would end a line or hide text are shown escaped (`\\n`, `\\u202e`) first.
"""

from __future__ import annotations

import re

from reconciler.terminal import visible

# A plain word: letters only (not a possible commit sha), a short number, or the arrow of
# `focus -> acme`. Anything else (ids, names with digits or hyphens, emails, URLs, markup) is code.
_PLAIN = re.compile(r"[A-Za-z]+|[0-9]{1,6}|->")
_HEX_LIKE = re.compile(r"[0-9A-Fa-f]{7,}")
_LEADING = "("
_TRAILING = ",;:.)"
_BACKTICKS = re.compile(r"`+")


def one_line(text: str) -> str:
    """Show what would break a line or a table row, or hide text (controls, format and separator
    characters), as escapes, so a value stays on its line and reads as it is; a value past 200
    characters by its start and how many more it has."""
    return visible(text)


def code(value: str) -> str:
    """A code span holding exactly `value`, whatever backticks it contains (CommonMark 6.1)."""
    value = one_line(value)
    if not value:
        return "` `"
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    # A span that starts or ends with a backtick (or a space) needs one space of padding.
    if value[0] in "` " or value[-1] in "` ":
        value = f" {value} "
    return f"{fence}{value}{fence}"


def _plain(word: str) -> bool:
    return bool(_PLAIN.fullmatch(word)) and not _HEX_LIKE.fullmatch(word)


def _word(token: str) -> str:
    core = token.lstrip(_LEADING)
    lead = token[: len(token) - len(core)]
    stripped = core.rstrip(_TRAILING)
    trail = core[len(stripped) :]
    if not stripped:
        return lead + trail if _plain_punctuation(lead + trail) else code(token)
    if _plain(stripped):
        return lead + stripped + trail
    return lead + code(stripped) + trail


def _plain_punctuation(text: str) -> bool:
    return all(char in _LEADING + _TRAILING for char in text)


def prose(text: str) -> str:
    """A sentence with every word that is not a plain word (`SUB-1`, `acme-corp`, an email, a
    URL, anything with markup in it) in a code span: readable, and inert on GitHub and GitLab."""
    return " ".join(_word(token) for token in one_line(text).split(" ") if token)


def cell(markdown: str) -> str:
    """Markdown made safe for a GFM table cell: `|` escaped everywhere, code spans included."""
    return markdown.replace("|", "\\|")
