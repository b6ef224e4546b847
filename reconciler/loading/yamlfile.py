"""Reading one YAML file: safely, fast, and with positions only when someone asks for one.

The fast parser (yaml-rs, YAML 1.2 core schema) reads the data. It refuses repeated keys
itself; the rest of the safety net is here: strict UTF-8, a size limit, limits on what aliases
expand to and on numbers (limits.py), a nesting limit, string keys only, one document per file,
and no explicit tags (the fast parser would silently drop a `!!python/...` tag, so a file with
one is refused). Positions come from PyYAML, which is imported only on the error path, by the
locator, and for files with aliases.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml_rs

from reconciler.bounds import Bounds, env_number
from reconciler.errors import ReconcilerError
from reconciler.loading import limits
from reconciler.loading.limits import MAX_ALIAS_EVENTS
from reconciler.model import Diagnostic, SourceSpan
from reconciler.userpaths import check_path
from reconciler.validation.capped import MAX_DIAGNOSTICS

if TYPE_CHECKING:  # the locator imports PyYAML: only when a position is asked for
    from reconciler.loading.locate import Locator, YamlPath

ENV_MAX_FILE_BYTES = "RECONCILER_MAX_FILE_BYTES"
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
#: 4 GiB: past it a limit guards nothing (and no buffer of that size can be asked for).
MAX_FILE_BYTES_BOUNDS = Bounds("a whole number of bytes", 1, 4 * 1024**3, "134217728", integer=True)
#: Containers inside containers; desired state needs five, so 64 only stops abuse.
MAX_DEPTH = 64
# A tag starts a token: at the start of a line, after a space, or after a flow indicator.
_MAYBE_TAG = re.compile(r"(?:^|[\s\[\{,])!", re.MULTILINE)
#: Characters YAML does not allow in a stream: C0 controls but tab, LF and CR; DEL; C1 but NEL.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_FORBIDDEN_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _forbidden_character(raw: bytes, text: str) -> int | None:
    """The offset in `text` of the first character YAML forbids, if any.

    Deleting the ASCII ones with bytes.translate runs at memory speed (a regex over 20 MB takes
    ~100 ms); the rest can only occur in a text that is not pure ASCII (str.isascii is O(1)).
    """
    if len(raw.translate(None, _FORBIDDEN_BYTES)) == len(raw) and text.isascii():
        return None
    found = _FORBIDDEN.search(text)
    return None if found is None else found.start()


_PARSER_POSITION = re.compile(r"at line (\d+), column (\d+)")
#: what PyYAML says it was reading when the file ended or went wrong: "while scanning a quoted
#: scalar that starts at line 1, column 4"
_OPENED = re.compile(r"(quoted scalar|flow sequence|flow mapping) that starts at line (\d+), column (\d+)")
#: what was left open, as a person types it, and what closes it
_OPENERS = {"quoted scalar": ("quote", "its closing quote"), "flow sequence": ("[", "its ]"),
            "flow mapping": ("{", "its }")}  # fmt: skip
#: A plain scalar on one line: up to a comment, a flow indicator or the end of the line.
_PLAIN_TOKEN = re.compile(r"[^\s#,\[\]{}\"'][^#,\[\]{}\r]*")


class DiagnosticsError(ReconcilerError):
    """Problems found in a file (or files), each with its position.

    `message` is the headline followed by the diagnostics in text form, so the CLI's one error
    handler shows them all; with `listed=False` it is the headline alone, for a caller that
    prints the diagnostics itself. `rendered` is their text form either way.
    """

    def __init__(
        self,
        diagnostics: Sequence[Diagnostic],
        headline: str,
        *,
        hint: str | None = None,
        listed: bool = True,
    ) -> None:
        from reconciler.rendering.diagnostics import render_lines

        self.diagnostics: tuple[Diagnostic, ...] = tuple(sorted(diagnostics, key=lambda d: d.sort_key))
        self.rendered = render_lines(self.diagnostics)
        super().__init__(f"{headline}:\n{self.rendered}" if listed else headline, hint=hint)


class ValueOrigin(NamedTuple):
    """Where a value of a document was declared, located only when asked (a model.Origin).

    A NamedTuple rather than a frozen dataclass: a 10,000-subscription estate makes ~80,000 of
    them, and a frozen dataclass takes three times as long to build (immutable all the same).
    """

    doc: YamlDocument
    path: YamlPath
    key: bool = False

    def span(self) -> SourceSpan:
        return self.doc.locate(self.path, key=self.key)


class YamlDocument:
    """One parsed file: plain data, and positions of its keys and values on demand.

    Not a frozen dataclass on purpose: it caches what the locator composed, so locating the
    next value in the same file is cheap.
    """

    __slots__ = ("_locator", "_text", "accepted", "data", "display")

    def __init__(self, display: str, data: Any, text: str, *, accepted: bool = False) -> None:
        self.display = display
        self.data = data
        #: whether the `accepts` check given to parse_yaml passed: the schema need not be asked again
        self.accepted = accepted
        self._text = text
        self._locator: Locator | None = None

    def locate(self, path: YamlPath, *, key: bool = False) -> SourceSpan:
        """Where the value at `path` is (its key, with key=True); a missing path: its nearest ancestor."""
        line, column = self._positions().position(path, key=key)
        return SourceSpan(self.display, line, column)

    def warm(self, section: str, index: int) -> None:
        """Prepare the positions of item `index` of the top-level list `section` (see Locator.warm)."""
        self._positions().warm(section, index)

    def scalar_text(self, path: YamlPath) -> str | None:
        """The plain scalar at `path` as written (`017`, which the data holds as 17), if it is one."""
        span = self.locate(path)
        lines = self._text.split("\n", span.line)
        if span.line > len(lines):
            return None
        found = _PLAIN_TOKEN.match(lines[span.line - 1], span.column - 1)
        return found.group().rstrip() if found else None

    def _positions(self) -> Locator:
        if self._locator is None:
            from reconciler.loading.locate import Locator

            self._locator = Locator(self._text, self.data)
        return self._locator

    def forget_data(self) -> None:
        """Drop the parsed data once a model is built from it; positions stay (see Locator.forget_data)."""
        self._positions().forget_data()
        self.data = None

    def origin(self, path: YamlPath, *, key: bool = False) -> ValueOrigin:
        """The lazy origin of the value at `path` (of its key, with key=True)."""
        return ValueOrigin(self, path, key)

    def __repr__(self) -> str:
        return f"YamlDocument({self.display!r})"


def max_file_bytes() -> int:
    return int(env_number(ENV_MAX_FILE_BYTES, MAX_FILE_BYTES_BOUNDS, DEFAULT_MAX_FILE_BYTES))


def read_bytes(path: Path, display: str) -> tuple[bytes | None, list[Diagnostic]]:
    """A file's bytes, unless it is larger than the limit, not a regular file, or unreadable."""
    limit = max_file_bytes()
    try:
        # Opened without blocking and checked on the open file: a FIFO would block the open, a
        # device be read forever, and a check of the name before opening can be raced.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as file:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                return None, [_not_a_file(display)]
            if status.st_size > limit:
                return None, [_too_large(display, status.st_size, limit)]
            # The size can change after stat: never read past the limit. Asking for the size seen
            # (plus one) first spares a buffer of the whole limit, 64 MB, allocated for every file.
            want = status.st_size + 1
            raw = file.read(want)
            if len(raw) == want:  # the file grew meanwhile: read on, up to the limit
                raw += file.read(limit + 1 - want)
        if len(raw) > limit:
            return None, [_too_large(display, len(raw), limit)]
        return raw, []
    except OSError as error:
        raise ReconcilerError(
            f"cannot read {display}: {error.strerror or error}",
            hint="check that the file exists and is readable",
        ) from error


def _not_a_file(display: str) -> Diagnostic:
    return Diagnostic(
        "not-a-file",
        "not a regular file (a device, FIFO or socket): refused",
        SourceSpan(display, 1, 1),
        hint="desired state is read from plain files",
    )


def _too_large(display: str, size: int, limit: int) -> Diagnostic:
    return Diagnostic(
        "file-too-large",
        f"file is {size} bytes, more than the limit of {limit} bytes",
        SourceSpan(display, 1, 1),
        hint=f"split it into several files, or raise the limit with {ENV_MAX_FILE_BYTES}",
    )


def read_yaml(path: Path, display: str | None = None) -> YamlDocument:
    """Read and parse one file; raise DiagnosticsError when it is unreadable, unsafe or invalid YAML."""
    shown = display if display is not None else path.as_posix()
    check_path(path, "the file")
    raw, problems = read_bytes(path, shown)
    doc = None
    if raw is not None:
        doc, problems = parse_yaml(raw, shown)
    if problems or doc is None:
        raise DiagnosticsError(problems, f"cannot read {shown}", hint="fix the file and try again")
    return doc


def parse_yaml(
    raw: bytes, display: str, *, accepts: Callable[[Any], bool] | None = None
) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """Parse one file's bytes. The document is None when it cannot be used at all.

    A document with repeated keys comes back with its diagnostics (the last value wins), so the
    rest of the file can still be checked and every error reported in one run.

    `accepts` is a check whose yes vouches for the data (a closed schema's validator: it accepts
    only string keys, bounded nesting and no number out of range); data it accepts skips the
    walks over every node that check those, and the document says it was `accepted`.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, [_encoding(raw, error, display)]
    if text.startswith("\ufeff"):
        text = text[1:]
    forbidden = _forbidden_character(raw, text)
    if forbidden is not None:
        # The fast parser would stop at a NUL, silently dropping the rest of the file.
        return None, [_control_character(text, forbidden, display)]
    if ":\t" in text:
        from reconciler.loading import scan

        text = scan.tabs_after_colons(text)
    overflow = limits.alias_overflow(text, display)  # before the fast parser copies aliases out
    if overflow is not None:
        return None, [overflow]
    data, problems = _parse(text, display)
    if data is _FAILED:
        return None, problems
    if "!" in text and _MAYBE_TAG.search(text):  # `in` first: the regex is tried at every character
        tags = _tags(text, display)
        if tags:
            return None, problems + tags
    if isinstance(data, list):
        second = _second_document(text, display)
        if second is not None:
            return None, [*problems, second]
    if accepts is not None and accepts(data):
        return YamlDocument(display, data, text, accepted=True), problems
    huge = limits.huge_numbers(data, text, MAX_DIAGNOSTICS)
    if huge:
        document = YamlDocument(display, data, text)
        numbers = [
            limits.number_limit(
                limits.describe_number(value, None if key else document.scalar_text(path)),
                document.locate(path, key=key),
            )
            for path, value, key in huge
        ]
        return None, [*problems, *numbers]
    shape = _shape(data, text, display)
    if shape is not None:
        return None, [*problems, shape]
    return YamlDocument(display, data, text), problems


_FAILED: Any = object()


def _loads(text: str, duplicates: yaml_rs.DuplicateKeyPolicy) -> Any:
    replays = yaml_rs.AliasLimits(max_total_replayed_events=MAX_ALIAS_EVENTS)
    return yaml_rs.loads(text, parse_datetime=False, alias_limits=replays, duplicate_key_policy=duplicates)


def reread(text: str) -> Any:
    """The data of a text `parse_yaml` already read (the last of repeated keys wins, as there)."""
    return _loads(text, yaml_rs.DuplicateKeyPolicy.LastWins)


def _parse(text: str, display: str) -> tuple[Any, list[Diagnostic]]:
    try:
        return _loads(text, yaml_rs.DuplicateKeyPolicy.Error), []
    except yaml_rs.YAMLDecodeError as error:
        message = str(error)
    except ValueError:  # a number of more digits than Python converts
        return _FAILED, [limits.too_many_digits(text, display)]
    if message.startswith("Invalid tag"):  # some tags the fast parser refuses, without a position
        return _FAILED, _tags(text, display) or [_parse_error(message, text, display)]
    if not message.startswith("duplicate mapping key"):
        return _FAILED, [_parse_error(message, text, display)]
    problems = _duplicates(text, display, message)
    try:
        return _loads(text, yaml_rs.DuplicateKeyPolicy.LastWins), problems
    except yaml_rs.YAMLDecodeError as error:
        return _FAILED, [*problems, _parse_error(str(error), text, display)]
    except ValueError:
        return _FAILED, [*problems, limits.too_many_digits(text, display)]


def _parse_error(message: str, text: str, display: str) -> Diagnostic:
    lines = [line for line in message.splitlines() if line.strip()]
    problem = lines[-1].strip() if lines else message
    found = _PARSER_POSITION.search(message)
    line, column = (int(found.group(1)), int(found.group(2))) if found else (1, 1)
    where = SourceSpan(display, line, column)
    if "alias replay limit" in message:  # the scan before parsing should have found it first
        return limits.alias_limit(limits.first_alias(text, display) or where, nodes=True)
    if "recursion limit" in problem:
        return _too_deep(where)
    return _syntax_error(text, display) or Diagnostic(
        "yaml-syntax", f"invalid YAML: {problem}", where, hint=_syntax_hint(problem, "", _tab_at(text, where))
    )


#: Characters of a file, at most, composed again with PyYAML for its account of a syntax error or
#: of repeated keys (about 200 MB and a second a megabyte, for a flow list of one-letter items):
#: past this, the fast parser's account stands.
MAX_RECOMPOSED = 1024 * 1024


def _syntax_error(text: str, display: str) -> Diagnostic | None:
    """PyYAML's account of a syntax error, when it has one: it says what it was reading, and where."""
    from reconciler.loading import scan

    if len(text) > MAX_RECOMPOSED:
        return None
    try:
        scan.compose(text)
    except scan.ScanFailed as failure:
        context = f" ({failure.context})" if failure.context else ""
        where = SourceSpan(display, *failure.at)
        hint = _syntax_hint(failure.message, failure.context or "", _tab_at(text, where))
        return Diagnostic("yaml-syntax", f"invalid YAML: {failure.message}{context}", where, hint=hint)
    return None  # the two parsers disagree: the fast parser's account will do


def _tab_at(text: str, where: SourceSpan) -> bool:
    """Whether the error's line is indented with a tab up to where the error is: YAML says only
    that the tab 'cannot start any token'."""
    start = 0
    for _ in range(where.line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return False
    lead = text[start : start + max(where.column, 1)]
    return "\t" in lead and lead.strip(" \t") == ""


def _syntax_hint(message: str, context: str, tab: bool = False) -> str:
    """What to do about a syntax error: where a tab, an open quote or bracket is the cause, that."""
    if "tab" in message or tab:
        return "YAML indents with spaces only: replace the tab with spaces"
    opened = _OPENED.search(context)
    if opened is not None:
        what, line, column = opened.groups()
        opener, closer = _OPENERS[what]
        unless = "" if what == "quoted scalar" else f", or quote the value if the {opener} is part of it"
        return f"the {opener} opened at line {line}, column {column} is not closed: add {closer}{unless}"
    return "check the indentation, and the quotes and brackets, on this line and the lines before it"


def _too_deep(where: SourceSpan) -> Diagnostic:
    return Diagnostic(
        "yaml-limit",
        f"values are nested more than {MAX_DEPTH} levels deep",
        where,
        hint="desired state needs only a few levels: check the indentation and the brackets",
    )


def _control_character(text: str, offset: int, display: str) -> Diagnostic:
    line_start = text.rfind("\n", 0, offset) + 1
    return Diagnostic(
        "encoding",
        f"control character U+{ord(text[offset]):04X} is not allowed in YAML",
        SourceSpan(display, text.count("\n", 0, offset) + 1, offset - line_start + 1),
        hint="remove it (a file with a NUL byte also shows as binary in reviews)",
    )


def _encoding(raw: bytes, error: UnicodeDecodeError, display: str) -> Diagnostic:
    line_start = raw.rfind(b"\n", 0, error.start) + 1
    line = raw.count(b"\n", 0, error.start) + 1
    column = len(raw[line_start : error.start].decode("utf-8", errors="replace")) + 1
    utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
    return Diagnostic(
        "encoding",
        "the file is UTF-16, not UTF-8"
        if utf16
        else f"the file is not UTF-8: byte 0x{raw[error.start]:02x} cannot be decoded",
        SourceSpan(display, line, column),
        hint="save the file as UTF-8",
    )


def _duplicates(text: str, display: str, message: str) -> list[Diagnostic]:
    from reconciler.loading import scan

    try:
        found = scan.duplicate_keys(scan.compose(text)) if len(text) <= MAX_RECOMPOSED else []
    except scan.ScanFailed:
        found = []
    problems = [
        Diagnostic(
            "duplicate-key",
            f"key {dup.key!r} appears twice in the same mapping: here and at "
            f"{SourceSpan(display, *dup.first)}",
            SourceSpan(display, *dup.at),
            hint="keep one of them (the last one is the one that would count)",
        )
        for dup in found
    ]
    if not problems:  # the two parsers disagree on what is the same key: report what the parser said
        key = message.split(":", 1)[1].strip()
        where = SourceSpan(display, 1, 1)
        problems.append(Diagnostic("duplicate-key", f"key {key} appears twice in the same mapping", where))
    return problems


def _tags(text: str, display: str) -> list[Diagnostic]:
    from reconciler.loading import scan

    try:
        uses = scan.explicit_tags(text)
    except scan.ScanFailed as failure:
        where = SourceSpan(display, *failure.at)
        return [Diagnostic("yaml-syntax", f"invalid YAML: {failure.message}", where)]
    return [
        Diagnostic(
            "yaml-tag",
            f"explicit tag {use.tag} is not allowed: files are read as plain data",
            SourceSpan(display, *use.at),
            hint="remove the tag; quote the value if it must stay a string",
        )
        for use in uses
    ]


def _second_document(text: str, display: str) -> Diagnostic | None:
    from reconciler.loading import scan

    try:
        starts = scan.document_starts(text)
    except scan.ScanFailed:
        return None
    if len(starts) < 2:
        return None
    return Diagnostic(
        "yaml-syntax",
        "a second YAML document starts here: a file holds one document",
        SourceSpan(display, *starts[1]),
        hint="move each document to a file of its own, or remove the `---` line",
    )


def _shape(data: Any, text: str, display: str) -> Diagnostic | None:
    """Refuse nesting beyond the limit and keys that are not strings (data is JSON-like from here on)."""
    if _plain_shape(data):
        return None
    problem = _first_bad_node(data)
    if problem is None:
        return None
    path, bad_key = problem
    document = YamlDocument(display, data, text)
    if bad_key is _NO_KEY:
        return _too_deep(document.locate(path))
    # At the key itself; a key that is not a scalar (`? [a, b]`) at the mapping it is in.
    scalar = isinstance(bad_key, int | float | bool)
    where = document.locate((*path, bad_key), key=True) if scalar else document.locate(path)
    shown = "null" if bad_key is None else repr(bad_key)
    if bad_key is None:
        hint = "give the key a name"
    elif scalar:
        hint = f"quote it: '{bad_key}'"
    else:
        message = "a key that is a list or a mapping is not allowed: keys are strings"
        return Diagnostic("schema", message, where, hint="write the key as a plain string")
    return Diagnostic("schema", f"key {shown} is not a string", where, hint=hint)


def _plain_shape(data: Any) -> bool:
    """Whether every key is a string and no container is nested too deep: one pass, level by level."""
    level, depth = [data], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return False
        below = []
        for node in level:
            if type(node) is dict:
                for key, value in node.items():
                    if type(key) is not str:
                        return False
                    if type(value) is dict or type(value) is list:
                        below.append(value)
            elif type(node) is list:
                below += [value for value in node if type(value) is dict or type(value) is list]
        level = below
    return True


_NO_KEY: Any = object()


def _first_bad_node(data: Any) -> tuple[YamlPath, Any] | None:
    """(path, key) of a mapping with a key that is not a string, or (path, _NO_KEY) of a too-deep node."""
    stack: list[tuple[Any, YamlPath]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            return path, _NO_KEY
        if isinstance(node, dict):
            for key, value in node.items():
                if type(key) is not str:
                    return path, key
                if isinstance(value, dict | list):
                    stack.append((value, (*path, key)))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, dict | list):
                    stack.append((value, (*path, index)))
    return None
