"""Limits on what one YAML file may make the reader do: expand aliases, and hold numbers.

Every file the product reads (desired state, seeds, facts) is untrusted: a pull request, a
download. These checks run on the text before the fast parser copies aliases out, and on the
data after, so a hostile file costs a bounded amount of time and memory and ends in a located
`yaml-limit` error, never in an exhausted machine or a traceback.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import yaml_rs

from reconciler.model import Diagnostic, SourceSpan
from reconciler.terminal import visible

if TYPE_CHECKING:
    from reconciler.loading.locate import YamlPath

#: Nodes an alias may replay in total: a real estate replays a few thousand, a "billion laughs"
#: file billions. Reaching the limit takes a few hundredths of a second.
MAX_ALIAS_EVENTS = 250_000
#: Characters of scalars aliases may replay in total: a count of nodes alone lets a 1 MB string
#: aliased 2,000 times expand to gigabytes. Counted before the fast parser expands anything,
#: since it copies every alias out in full.
MAX_ALIAS_EXPANSION = 4_000_000
#: Integers fit in 64 bits: no value of any format needs more, and SQLite stores no more.
MAX_INTEGER = 2**63 - 1

_ALIAS = re.compile(r"(?:^|[\s\[\{,])(\*)[^\s,\]\}]", re.MULTILINE)
#: What a number out of range needs in its text: 16 hex or decimal digits in a row, an infinity
#: or NaN, or a three-digit exponent. Without one, the data is not walked at all.
#: (An exponent follows a digit or a point, as in 1e400 or 1.e400: `wayne-100`, a site name, is no number.)
_MAYBE_HUGE = re.compile(r"[0-9A-Fa-f]{16}|\.(?:inf|Inf|INF|nan|NaN|NAN)|[0-9.][eE][-+]?[0-9]{3}")
#: A run of decimal digits longer than Python converts to an int (sys.get_int_max_str_digits).
_TOO_MANY_DIGITS = re.compile(r"[-+]?[0-9]{4301,}")


def offset_position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of a character offset of `text`."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def first_alias(text: str, display: str) -> SourceSpan | None:
    found = _ALIAS.search(text)
    return None if found is None else SourceSpan(display, *offset_position(text, found.start(1)))


def alias_limit(where: SourceSpan, *, nodes: bool) -> Diagnostic:
    limit = f"{MAX_ALIAS_EVENTS} nodes" if nodes else f"{MAX_ALIAS_EXPANSION} characters"
    return Diagnostic(
        "yaml-limit",
        f"aliases expand to more than {limit}: refusing to expand them",
        where,
        hint="write the values out instead of repeating a large anchor through aliases",
    )


def alias_overflow(text: str, display: str) -> Diagnostic | None:
    """A `yaml-limit` error at the alias past an expansion limit, if the aliases go past one."""
    if "*" not in text or first_alias(text, display) is None:
        return None
    from reconciler.loading import scan

    try:
        overflow = scan.alias_overflow(text, MAX_ALIAS_EVENTS, MAX_ALIAS_EXPANSION)
    except scan.ScanFailed as failure:
        if not _replays_aliases(text):
            return None  # nothing to expand: the fast parser's account of the file will do
        # Aliases that cannot be measured are not expanded: the fast parser would copy them blind.
        return Diagnostic(
            "yaml-limit",
            f"aliases cannot be measured against the expansion limits: {failure.message}",
            SourceSpan(display, *failure.at),
            hint="write the values out instead of using aliases",
        )
    if overflow is None:
        return None
    return alias_limit(SourceSpan(display, *overflow.at), nodes=overflow.nodes)


def _replays_aliases(text: str) -> bool:
    """Whether the fast parser would replay an alias of `text` (it stops at the first one)."""
    no_replay = yaml_rs.AliasLimits(max_total_replayed_events=0)
    try:
        yaml_rs.loads(text, parse_datetime=False, alias_limits=no_replay)
    except yaml_rs.YAMLDecodeError as error:
        return "alias replay limit" in str(error)
    except ValueError:  # a number too long to convert: reported by the parse that follows
        return False
    return False


# --- numbers -----------------------------------------------------------------------------------------


def too_many_digits(text: str, display: str) -> Diagnostic:
    """The parser could not convert a number: point at the first run of digits that long."""
    found = _TOO_MANY_DIGITS.search(text)
    where = SourceSpan(display, *offset_position(text, found.start())) if found else SourceSpan(display, 1, 1)
    digits = len(found.group().lstrip("+-")) if found else 4301
    return _number_limit(f"a number of {digits} digits", where)


def huge_numbers(data: Any, text: str, most: int) -> list[tuple[YamlPath, int | float, bool]]:
    """(path, value, is_key) of each number out of range, in the file's order, `most` of them at
    most: every one is reported at once, not one a run."""
    if not _may_be_huge(text):
        return []
    found: list[tuple[YamlPath, int | float, bool]] = []
    stack: list[tuple[Any, YamlPath, bool]] = [(data, (), False)]
    while stack and len(found) < most:
        node, path, is_key = stack.pop()
        if isinstance(node, dict):
            for key, value in reversed(node.items()):  # popped in the file's order
                stack.append((value, (*path, key), False))
                stack.append((key, (*path, key), True))
        elif isinstance(node, list):
            stack.extend((value, (*path, index), False) for index, value in reversed(list(enumerate(node))))
        elif _out_of_range(node):
            found.append((path, node, is_key))
    return found


#: Bytes mapped to classes, so that what a huge number needs is found by a plain substring search
#: (bytes.translate and `in` run at memory speed; the equivalent regex is tried at every character,
#: ~40 ms over a 10,000-subscription estate): hex digits -> x; digits and the point -> d, e and
#: E -> e, signs -> s.
_HEX_CLASSES = bytes(ord("x") if chr(i) in "0123456789abcdefABCDEF" else ord(".") for i in range(256))
_EXPONENT_CLASSES = bytes(
    ord("d") if chr(i) in "0123456789." else ord("e") if chr(i) in "eE" else ord("s") if chr(i) in "+-"
    else ord(".")
    for i in range(256)
)  # fmt: skip


def _may_be_huge(text: str) -> bool:
    """What _MAYBE_HUGE finds (and a little more), by substring searches."""
    raw = text.encode("utf-8", "surrogatepass")
    if b"x" * 16 in raw.translate(_HEX_CLASSES) or _SPECIAL_FLOATS.search(raw):
        return True
    classes = raw.translate(_EXPONENT_CLASSES)
    return b"deddd" in classes or b"desddd" in classes


_SPECIAL_FLOATS = re.compile(rb"\.(?:inf|Inf|INF|nan|NaN|NAN)")  # a literal first: found by a fast scan


def describe_number(value: int | float, written: str | None) -> str:
    """A number out of range as a message names it: a float as the file writes it (`1e999`,
    `.inf`, clipped as values are), not as the parser read it (`inf`); an integer by its digits."""
    if isinstance(value, float) and written:
        return f"the number {visible(written)}"
    return _describe(value)


def number_limit(what: str, where: SourceSpan) -> Diagnostic:
    return _number_limit(what, where)


def _number_limit(what: str, where: SourceSpan) -> Diagnostic:
    return Diagnostic(
        "yaml-limit",
        f"{what} is out of range: numbers here are finite and fit in 64 bits",
        where,
        hint="quote it if it is meant as text",
    )


def _out_of_range(value: Any) -> bool:
    if type(value) is int:
        return not -MAX_INTEGER - 1 <= value <= MAX_INTEGER
    return type(value) is float and not math.isfinite(value)


def _describe(value: int | float) -> str:
    if isinstance(value, float):
        return f"the number {value}"
    # Never str() a huge int: past 4,300 digits Python refuses, and the message would be a wall.
    # Its digits are counted from its bits instead, the estimate corrected by one comparison.
    magnitude = abs(value)
    digits = int((magnitude.bit_length() - 1) * math.log10(2)) + 1
    if magnitude >= 10**digits:
        digits += 1
    return f"a number of {digits} digits"
