"""JSON Schema validation of a parsed YAML file, each error placed at the offending key or value.

A valid file costs one call to jsonschema-rs (milliseconds for 10,000 subscriptions). Only an
invalid file pays for importing python-jsonschema, whose `iter_errors` lists every error with
its path, run on the failing items only; each error becomes one flat diagnostic, located through
the document's lazy locator.

A schema may name the rule id of its own errors with the keyword `x-rule` (e.g. `site-name` on
site names, `unknown-app` on the `apps` mapping); errors about a value's type or about a missing
key stay `schema` errors.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.loading.yamlfile import YamlDocument
from reconciler.model import Diagnostic
from reconciler.resources import schema_path
from reconciler.terminal import printable
from reconciler.validation.capped import MAX_DIAGNOSTICS, more_note

if TYPE_CHECKING:
    from reconciler.loading.locate import YamlPath

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "null": "null",
}
_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n", "true", "false"}
_NOUNS = {"unknown-app": "app"}


@functools.cache
def load_schema(schema_file: str) -> Mapping[str, Any]:
    """A schema of `schemas/`, parsed once per process."""
    loaded: Mapping[str, Any] = json.loads(schema_path(schema_file).read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _fast_validator(schema_file: str) -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(dict(load_schema(schema_file)))


def accepts(schema_file: str, data: Any) -> bool:
    """Whether `data` is valid against the schema; data jsonschema-rs cannot take (a key that is
    not a string) is not. For parse_yaml's `accepts`: a closed schema vouches for the shape."""
    try:
        return bool(_fast_validator(schema_file).is_valid(data))
    except ValueError:
        return False


def schema_diagnostics(doc: YamlDocument, schema_file: str) -> list[Diagnostic]:
    """Every way `doc` breaks the schema `schema_file` (a name under schemas/), sorted; [] when valid."""
    fast = _fast_validator(schema_file)
    if fast.is_valid(doc.data):
        return []
    subset, kept, left_out = _failing_items(fast, doc.data)
    found, more = _explain(schema_file, subset, kept, doc)
    if not found and kept:  # the two validators disagree on the subset: explain the whole document
        (found, more), left_out = _explain(schema_file, doc.data, {}, doc), False
    if not found:  # they disagree on the document: what the fast one refused is still refused
        found = _fast_errors(fast, doc)
        more = len(found) >= MAX_DIAGNOSTICS
    found = sorted(found, key=lambda d: d.sort_key)
    if more or left_out:
        # Counting the rest would cost as much as explaining them: the note says there are more.
        found.append(more_note(doc.display, None))
    return found


def _fast_errors(fast: Any, doc: YamlDocument) -> list[Diagnostic]:
    """jsonschema-rs's own account of the errors, for when python-jsonschema finds none.

    Disagreement never means valid: the document is refused, each error at its value.
    """
    found = []
    for error in itertools.islice(fast.iter_errors(doc.data), MAX_DIAGNOSTICS):
        path = tuple(error.instance_path)
        found.append(Diagnostic("schema", printable(error.message), doc.locate(path)))
    return found


def _failing_items(fast: Any, data: Any) -> tuple[Any, dict[str, list[int]], bool]:
    """The data with each top-level list cut down to the first items jsonschema-rs found errors in,
    and whether failing items were left out.

    Explaining errors with python-jsonschema costs ~3 s for 10,000 subscriptions; explaining the
    few failing items costs milliseconds, and no more than MAX_DIAGNOSTICS items are explained
    (a hostile file may fail in every item). `kept[key][i]` is the original index of item i.
    """
    if not isinstance(data, dict):
        return data, {}, False
    failing: dict[str, list[int]] = {}
    whole: set[object] = set()
    room, more = MAX_DIAGNOSTICS, False
    for key, value in data.items():
        if not isinstance(value, list):
            continue
        if room <= 0:
            more = more or not fast.is_valid(_alone(data, key, value))
            continue
        found, whole_list, more_here = _failing_in(fast, data, key, value, room)
        failing[key] = found
        room -= len(found)
        more = more or more_here
        if whole_list:
            whole.add(key)
    subset, kept = dict(data), {}
    for key, value in data.items():
        if isinstance(value, list) and key not in whole:
            kept[key] = failing.get(key, [])
            subset[key] = [value[index] for index in kept[key]]
    return subset, kept, more


def _alone(data: dict[str, Any], key: str, items: list[Any]) -> dict[str, Any]:
    """`data` with `items` as its list `key` and its other lists empty."""
    return {k: [] if isinstance(v, list) else v for k, v in data.items()} | {key: items}


def _failing_in(
    fast: Any, data: dict[str, Any], key: str, items: list[Any], room: int
) -> tuple[list[int], bool, bool]:
    """The first `room` failing items of the list `key`, whether the list itself fails, whether more fail.

    jsonschema-rs builds all its errors before giving the first, ~25 µs each: 200,000 of them
    cost 5 s. So the list is checked a chunk at a time, and past `room` only whether more fail.
    """
    found: list[int] = []
    whole = False
    for start in range(0, len(items), _CHUNK):
        chunk = items[start : start + _CHUNK]
        if len(found) >= room:
            return found[:room], whole, not fast.is_valid(_alone(data, key, items[start:]))
        alone = _alone(data, key, chunk)
        if fast.is_valid(alone):
            continue
        failing: set[int] = set()
        for error in fast.iter_errors(alone):
            path = list(error.instance_path)
            if len(path) >= 2 and path[0] == key and isinstance(path[1], int):
                failing.add(start + path[1])
            elif path[:1] == [key]:
                whole = True  # an error about the list itself (its length, say): keep it all
        found += sorted(failing)
    return found[:room], whole, len(found) > room


_CHUNK = 1_000


def _explain(
    schema_file: str, data: Any, kept: dict[str, list[int]], doc: YamlDocument
) -> tuple[list[Diagnostic], bool]:
    """The diagnostics of `data`'s errors, at most MAX_DIAGNOSTICS, and whether it stopped there."""
    validator = _detailed_validator()(load_schema(schema_file))
    found: dict[tuple[object, ...], Diagnostic] = {}
    for error in validator.iter_errors(data):
        if len(found) >= MAX_DIAGNOSTICS:
            return list(found.values()), True
        headline = _headline(error)
        path = tuple(headline.absolute_path)
        if len(path) == 1 and path[0] in kept:
            # About a list that was cut down (its length, say): an artifact of the cut. A real
            # error about a list itself keeps that list whole, uncut.
            continue
        if len(path) >= 2 and path[0] in kept and isinstance(path[1], int):
            path = (path[0], kept[str(path[0])][path[1]], *path[2:])
        for diagnostic in _translate(headline, path, doc):
            found.setdefault((diagnostic.sort_key, diagnostic.hint), diagnostic)
    if len(found) > MAX_DIAGNOSTICS:  # one mapping of many unknown keys
        return list(found.values())[:MAX_DIAGNOSTICS], True
    return list(found.values()), False


@functools.cache
def _detailed_validator() -> Any:
    """python-jsonschema's Draft 2020-12 validator, with patterns matched as the schema means them.

    JSON Schema patterns are ECMA-262 regular expressions, in which `$` matches only at the end
    of the string (jsonschema-rs agrees). Python's `$` also matches before a final newline, so
    python-jsonschema alone would accept the site name "old-acme\\n".
    """
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, expected: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not ecma_regex(expected).search(instance):
            yield ValidationError(f"{instance!r} does not match {expected!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})


#: ECMA-262's white space and line terminators, what `\s` matches in a schema pattern. Python's
#: `\s` differs: it takes U+001C to U+001F and NEL (U+0085) too, and not U+FEFF.
ECMA_SPACE = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_SPACE_CLASS = "".join(re.escape(char) for char in ECMA_SPACE)


@functools.cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """A schema pattern as a Python regex with ECMA-262's meanings: `$` is the very end (`\\Z`),
    `\\s` and `\\S` are ECMA_SPACE and the rest. jsonschema-rs agrees with ECMA-262, so both
    validators accept the same ids (`SUB-1\\ufeff` is refused by both)."""
    out: list[str] = []
    in_class, index = False, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if escaped == "s":
                out.append(_SPACE_CLASS if in_class else f"[{_SPACE_CLASS}]")
            elif escaped == "S" and not in_class:
                out.append(f"[^{_SPACE_CLASS}]")
            else:
                out.append(char + escaped)
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
        index += 1
    return re.compile("".join(out))


def _headline(error: Any) -> Any:
    """Inside anyOf/oneOf, the error that best explains the failure (python-jsonschema's best_match)."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        return _headline(best_match(error.context))
    return error


def _translate(error: Any, path: YamlPath, doc: YamlDocument) -> list[Diagnostic]:
    keyword: str = error.validator
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if keyword == "additionalProperties":
        return _unknown_keys(error.instance, schema, path, doc)
    if keyword == "required":
        return _missing_keys(error.instance, error.validator_value, path, doc)
    rule = "version" if path == ("version",) else "schema"
    if keyword != "type":
        rule = str(schema.get("x-rule", rule))
    message, hint = _describe_failure(keyword, error.validator_value, error.instance, schema, path, doc)
    return [Diagnostic(rule, message, doc.locate(path), hint=hint)]


def _unknown_keys(
    instance: Any, schema: Mapping[str, Any], path: YamlPath, doc: YamlDocument
) -> list[Diagnostic]:
    if not isinstance(instance, dict):
        return []
    allowed = list(schema.get("properties", {}))
    patterns = [ecma_regex(p) for p in schema.get("patternProperties", {})]
    rule = str(schema.get("x-rule", "unknown-key"))
    noun = _NOUNS.get(rule, "key")
    diagnostics: list[Diagnostic] = []
    for key in instance:
        if len(diagnostics) > MAX_DIAGNOSTICS:  # enough to say there are more
            break
        if key in allowed or any(p.search(key) for p in patterns):
            continue
        if key == "<<":  # YAML 1.1's merge key: YAML 1.2 reads it as a plain key, merging nothing
            where = doc.locate((*path, key), key=True)
            hint = "write the keys out in this mapping (an alias can stand for a whole value)"
            diagnostics.append(Diagnostic(rule, "merge keys (`<<`) are not supported", where, hint=hint))
            continue
        known = f"{noun}s here are {_listing(allowed)}" if allowed else f"no {noun} is allowed here"
        close = _did_you_mean(key, allowed)
        hint = f"did you mean '{close}'? {known}" if close else known
        where = doc.locate((*path, key), key=True)
        diagnostics.append(Diagnostic(rule, f"unknown {noun} {quoted(key)}", where, hint=hint))
    return diagnostics


def _missing_keys(
    instance: Any, required: Sequence[str], path: YamlPath, doc: YamlDocument
) -> list[Diagnostic]:
    if not isinstance(instance, dict):
        return []
    diagnostics = []
    for key in required:
        if key in instance:
            continue
        if path == () and key == "version":
            diagnostics.append(
                Diagnostic(
                    "version",
                    "missing `version`: every file declares its format version",
                    doc.locate(path),
                    hint="add `version: 1` as the first line",
                )
            )
        else:
            diagnostics.append(Diagnostic("schema", f"missing required key '{key}'", doc.locate(path)))
    return diagnostics


def _describe_failure(
    keyword: str, expected: Any, value: Any, schema: Mapping[str, Any], path: YamlPath, doc: YamlDocument
) -> tuple[str, str | None]:
    """The message and hint for an error about one value."""
    if keyword == "type":
        return _type_failure(expected, value, schema, path, doc)
    if keyword == "const":
        if path == ("version",):
            quoted = " (a number, not a string)" if isinstance(value, str) else ""
            return (
                f"unsupported version {json.dumps(value)}: this reconciler reads format version {expected}",
                f"write `version: {expected}`{quoted}",
            )
        return f"expected {_show(expected)}, got {_show(value)}", None
    if keyword == "enum":
        options = [str(option) for option in expected]
        close = _did_you_mean(str(value), options) if isinstance(value, str) else None
        return (
            f"expected one of {_listing(options)}, got {_show(value)}",
            f"did you mean '{close}'?" if close else None,
        )
    if schema.get("x-rule") == "site-name" and isinstance(value, str):
        return _site_name_failure(value)
    if schema.get("x-rule") == "id" and isinstance(value, str):
        return _id_failure(keyword, expected, value)
    if keyword == "minItems":
        return f"expected at least {expected} item{'' if expected == 1 else 's'}, got {len(value)}", None
    if keyword == "minLength" and expected == 1:
        return "expected a non-empty string", None
    if keyword in ("minLength", "maxLength"):
        bound = "at least" if keyword == "minLength" else "at most"
        return f"{_show(value)} is {len(value)} characters long: expected {bound} {expected}", None
    if keyword == "pattern":
        return f"{_show(value)} does not match the pattern {expected}", None
    return f"{_show(value)} is not allowed here ({keyword}: {_show(expected)})", None


def _type_failure(
    expected: Any, value: Any, schema: Mapping[str, Any], path: YamlPath, doc: YamlDocument
) -> tuple[str, str | None]:
    names = [expected] if isinstance(expected, str) else list(expected)
    message = f"expected {' or '.join(_TYPE_NAMES.get(n, n) for n in names)}, got {_show(value)}"
    hint = None
    if "string" in names and isinstance(value, bool | int | float):
        # `id: 017` reads as the number 17: the hint shows the value as it was written.
        written = doc.scalar_text(path) or str(value).lower()
        hint = f"quote it to keep it a string, as written: '{printable(written)}'"
    elif "boolean" in names and isinstance(value, str) and value.lower() in _YAML11_BOOLEANS:
        hint = "use true or false (in YAML 1.2, yes, no, on and off are strings)"
    elif path == () and "version" in schema.get("properties", {}):
        hint = "a desired-state file is a mapping that starts with `version: 1`"
    elif (
        "object" in names
        and path
        and not isinstance(value, dict | list)
        and len(schema.get("required", ())) == 1
    ):
        name = f"{path[-1]}: " if path and isinstance(path[-1], str) else ""
        shown = "NAME" if value is None else value
        hint = f"write `{name}{{{schema['required'][0]}: {shown}}}`"
    elif "array" in names and isinstance(value, dict):
        hint = "write each item on its own line, starting with `- `"
    elif "array" in names and value is None:
        hint = "list the items below it, each starting with `- `, or write `[]` for none"
    return message, hint


def _site_name_failure(value: str) -> tuple[str, str | None]:
    hint = "use lowercase letters, digits and hyphens, starting and ending with a letter or digit"
    if len(value) > 63:
        return (
            f"site name {quoted(value)} is {len(value)} characters long: at most 63 are allowed",
            "pick a shorter name",
        )
    if len(value) < 2 and re.fullmatch(r"[a-z0-9]?", value):  # the characters are right, not the length
        length = "empty" if not value else "1 character long"
        return (
            f"site name {quoted(value)} is {length}: a site name has at least 2 characters",
            "use the site's whole name (the <name> of <name>.atlassian.net)",
        )
    suggestion = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    if len(suggestion) >= 3 and suggestion != value:  # never suggest a name that breaks the rule too
        hint += f" (e.g. '{suggestion}')"
    return f"invalid site name {quoted(value)}", hint


def _id_failure(keyword: str, expected: Any, value: str) -> tuple[str, str | None]:
    as_shown = "write the id as the console shows it, e.g. SUB-1001"
    if keyword == "maxLength":
        return f"id {quoted(value)} is {len(value)} characters long: at most {expected} are allowed", as_shown
    trimmed = value.strip(ECMA_SPACE)
    if not trimmed:
        return f"the id {quoted(value)} is empty", as_shown
    hint = (
        f"write it without the spaces and line breaks around it: {quoted(trimmed)}"
        if ecma_regex(r"^\S+$").search(trimmed)
        else as_shown
    )
    return f"invalid id {quoted(value)}: an id has no spaces or line breaks", hint


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {quoted(shown)}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def quoted(text: str) -> str:
    """'text' in single quotes; with escapes when it holds characters a terminal would act on."""
    return f"'{text}'" if text.isprintable() else repr(text)


def _listing(names: Sequence[str]) -> str:
    return ", ".join(names)


def _did_you_mean(word: str, options: Sequence[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close and word.lower() in options:
        return word.lower()
    return close[0] if close else None
