"""What GitHub and GitLab answer, read field by field.

An API's answer comes from a network peer, so it is untrusted like a pull request: every field a
step reads is checked for presence and type where it is read, and an answer of another shape is
one error that names the call and the field (`[0].head.sha is an integer, not a string`), never a
KeyError or an integer taken for a commit. The values themselves are never quoted: they are the
peer's, and a message goes to a terminal and a CI log.
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.model import COMMIT_ID

#: a commit id as git writes it: SHA-1, or SHA-256 in a repository that uses it

_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "true or false"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "an object"),
)


def kind(value: Any) -> str:
    """What a JSON value is, in words, without quoting it."""
    if value is None:
        return "null"
    return next((name for cls, name in _KINDS if isinstance(value, cls)), "something else")


class Answer:
    """One JSON value of one API call's answer, and where in the answer it sits."""

    __slots__ = ("call", "hint", "service", "value", "where")

    def __init__(self, service: str, call: str, value: Any, *, hint: str, where: str = "") -> None:
        self.service = service
        self.call = call
        self.value = value
        self.hint = hint
        self.where = where

    def malformed(self, where: str, problem: str) -> ReconcilerError:
        return ReconcilerError(
            f"{self.service}'s answer to {self.call} is malformed: {where or 'the answer'} {problem}",
            hint=self.hint,
        )

    def _path(self, name: str | int) -> str:
        if isinstance(name, int):
            return f"{self.where}[{name}]"
        return f"{self.where}.{name}" if self.where else name

    def _at(self, name: str | int, value: Any) -> Answer:
        return Answer(self.service, self.call, value, hint=self.hint, where=self._path(name))

    def _expect(self, where: str, value: Any, wanted: type, words: str) -> None:
        # bool is an int to Python, never to JSON: `true` is no id.
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise self.malformed(where, f"is {kind(value)}, not {words}")

    def obj(self) -> Answer:
        """This value, which must be an object."""
        self._expect(self.where, self.value, dict, "an object")
        return self

    def has(self, name: str) -> bool:
        return name in self.obj().value

    def field(self, name: str) -> Answer:
        """A field that must be present, of any type."""
        if not self.has(name):
            raise self.malformed(self._path(name), "is missing")
        return self._at(name, self.value[name])

    def child(self, name: str) -> Answer:
        """A field that must be an object."""
        return self.field(name).obj()

    def child_or_none(self, name: str, *, optional: bool = False) -> Answer | None:
        """A field that is an object or null (or, when `optional`, absent)."""
        if optional and not self.has(name):
            return None
        found = self.field(name)
        return None if found.value is None else found.obj()

    def items(self, name: str | None = None) -> list[Answer]:
        """A list of objects: this value, or the field `name` of this object."""
        found = self if name is None else self.field(name)
        found._expect(found.where, found.value, list, "a list")
        return [found._at(i, item).obj() for i, item in enumerate(found.value)]

    def text(self, name: str) -> str:
        value = self.field(name).value
        self._expect(self._path(name), value, str, "a string")
        return str(value)

    def text_or_none(self, name: str, *, optional: bool = False) -> str | None:
        """A string or null (or, when `optional`, absent)."""
        if optional and not self.has(name):
            return None
        value = self.field(name).value
        if value is None:
            return None
        self._expect(self._path(name), value, str, "a string or null")
        return str(value)

    def texts(self, name: str) -> list[str]:
        """A list of strings."""
        found = self.field(name)
        found._expect(found.where, found.value, list, "a list")
        for i, item in enumerate(found.value):
            found._expect(found._path(i), item, str, "a string")
        return [str(item) for item in found.value]

    def integer(self, name: str) -> int:
        """A positive integer: every id and number these APIs give is one."""
        value = self.field(name).value
        self._expect(self._path(name), value, int, "an integer")
        if value < 1:
            raise self.malformed(self._path(name), "is not a positive integer")
        return int(value)

    def flag(self, name: str) -> bool:
        value = self.field(name).value
        self._expect(self._path(name), value, bool, "true or false")
        return bool(value)

    def commit(self, name: str) -> str:
        """A commit id: it goes into the next call's query and is compared with the artifact's."""
        value = self.text(name)
        if not COMMIT_ID.fullmatch(value):
            raise self.malformed(self._path(name), "is not a commit id (40 or 64 hexadecimal digits)")
        return value
