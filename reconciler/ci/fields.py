"""Numbers and commits a step reads from the CI run itself (the event file, the runner's variables).

They name what a step writes to (the pull request to comment on, the merge request to note, the
run to link, the commit a plan is for), so each is checked as an API's answer is: a positive
integer, or a commit id (reconciler.model.COMMIT_ID), and nothing else. JSON `true` or `5.5` is no
pull request number, `5/../x`, `-3` or `12 ` in a variable is no id, and `main` or `HEAD` is no
commit; each is one error before anything is planned or posted. The values are not quoted: they
are the job's input, and the message goes to a CI log.
"""

from __future__ import annotations

import os
import re
from typing import Any

from reconciler.ci.answer import kind
from reconciler.errors import ReconcilerError
from reconciler.model import COMMIT_ID

#: the largest id GitHub or GitLab hands out fits a signed 64-bit integer
MAX_ID = 2**63 - 1
#: decimal digits only: no sign, no leading zero, no space, no fraction
_ID_TEXT = re.compile(r"[1-9][0-9]{0,18}")


def positive_id(value: Any, where: str, hint: str) -> int:
    """A JSON value that must be a positive integer (bool is not one, nor is a float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReconcilerError(f"{where} is {kind(value)}, not a positive integer", hint=hint)
    if not 0 < value <= MAX_ID:
        raise ReconcilerError(f"{where} is not a positive integer", hint=hint)
    return value


def env_id(name: str, hint: str) -> int | None:
    """A variable that must hold a positive integer in decimal; None when it is unset or empty."""
    text = os.environ.get(name, "")
    if not text:
        return None
    if not _ID_TEXT.fullmatch(text) or int(text) > MAX_ID:
        raise ReconcilerError(f"{name} is not a positive integer (decimal digits only)", hint=hint)
    return int(text)


_COMMIT = "a commit id (40 or 64 lowercase hexadecimal digits)"


def commit_id(value: Any, where: str, hint: str) -> str:
    """A JSON value that must be a commit id."""
    if not isinstance(value, str):
        raise ReconcilerError(f"{where} is {kind(value)}, not {_COMMIT}", hint=hint)
    if not COMMIT_ID.fullmatch(value):
        raise ReconcilerError(f"{where} is not {_COMMIT}", hint=hint)
    return value


def env_commit(name: str, hint: str) -> str | None:
    """A variable that must hold a commit id; None when it is unset or empty."""
    text = os.environ.get(name, "")
    if not text:
        return None
    if not COMMIT_ID.fullmatch(text):
        raise ReconcilerError(f"{name} is not {_COMMIT}", hint=hint)
    return text
