"""Desired state: every YAML file under the given paths, checked and merged into one DesiredState.

`check_desired` never raises for a bad file: it returns every problem as a diagnostic (the
`validate` command prints them). `load_desired` is what plan and apply call: it raises
InvalidDesiredState, whose message is the diagnostics in text form, when anything is wrong that
the planner does not itself report as a blocked change (PLANNED_RULES).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from msgspec import Struct
from msgspec import field as msgspec_field

from reconciler.errors import ReconcilerError
from reconciler.loading.yamlfile import DiagnosticsError, YamlDocument, parse_yaml, read_bytes
from reconciler.model import (
    DesiredApp,
    DesiredSite,
    DesiredState,
    DesiredSubscription,
    Diagnostic,
    SourceSpan,
    Status,
)
from reconciler.userpaths import PATH_MAX, check_path, is_utf8, shown

if TYPE_CHECKING:
    from reconciler.validation.rules import CrossFileChecks

SCHEMA = "desired-state.schema.json"
YAML_SUFFIXES = (".yaml", ".yml")


class CheckResult(Struct, frozen=True):
    """Every problem of the files read, and the merged state when it was asked for and can be built."""

    diagnostics: tuple[Diagnostic, ...]  # sorted
    files: tuple[str, ...]  # display paths, in the order read
    digest: str = ""
    #: how many items the files declare under `sites` and `subscriptions`
    counts: Mapping[str, int] = msgspec_field(default_factory=dict)
    #: the merged desired state (check_desired with `build`); None when an error stops it
    state: DesiredState | None = None

    @property
    def valid(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def count(self, section: str) -> int:
        """How many items the files declare under `sites` or `subscriptions`."""
        return self.counts.get(section, 0)


class InvalidDesiredState(DiagnosticsError):
    """Desired state with errors: `diagnostics`, the `files` read, and a one-line `message`.

    The message is only the headline ("desired state is invalid: 2 errors in 1 file"): plan and
    apply print the diagnostics themselves (with colour on a terminal) before the CLI prints the
    error. `rendered` is their text form.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic], files: Sequence[str]) -> None:
        from reconciler.rendering.diagnostics import summary_line

        self.files = tuple(files)
        super().__init__(
            diagnostics,
            f"desired state is invalid: {summary_line(diagnostics, files)}",
            hint="fix the files; `reconciler validate` checks them without contacting the console",
            listed=False,
        )


#: Rules of the console's domain (SPEC §2) that validation also checks offline. A plan reports
#: them as blocked changes, with the rest of the plan, so plan and apply load past them.
PLANNED_RULES = frozenset({"site-name", "app-in-product"})


def load_desired(paths: Sequence[str], *, planned_rules: frozenset[str] = frozenset()) -> DesiredState:
    """The desired state of `paths`; raises InvalidDesiredState listing every error, unless each
    error breaks one of `planned_rules` (which the planner checks and reports as blocked)."""
    result = check_desired(paths, build=True, planned_rules=planned_rules)
    if result.state is None:
        raise InvalidDesiredState(result.diagnostics, result.files)
    return result.state


def check_desired(
    paths: Sequence[str], *, build: bool = False, planned_rules: frozenset[str] = frozenset()
) -> CheckResult:
    """Read, check and merge every desired-state file under `paths` (a missing path raises).

    One file at a time: each is parsed, checked, built into the model (with `build`) and its
    parsed data let go before the next is read, so a big estate's data (ten times its YAML) is
    never all in memory at once. The state is built when every error breaks one of `planned_rules`.
    """
    from reconciler.validation.capped import cap_per_file
    from reconciler.validation.rules import CrossFileChecks
    from reconciler.validation.schema import accepts

    # The schema is closed (tests/validation prove it): what it accepts has a plain shape.
    accepted = functools.partial(accepts, SCHEMA)
    files = desired_files(paths)
    digest = hashlib.sha256()
    across, builder = CrossFileChecks(), _Builder() if build else None
    counts = {"sites": 0, "subscriptions": 0}
    problems: list[Diagnostic] = []
    for path, display in files:
        raw, found = read_bytes(path, display)
        if raw is not None:
            digest.update(f"{display}\0{len(raw)}\0".encode())
            digest.update(raw)
            doc, found = parse_yaml(raw, display, accepts=accepted)
            if doc is not None:
                found += _take_in(doc, across, counts)
                if builder is not None and _only(found, planned_rules):
                    builder.add(doc)
                doc.forget_data()  # nothing reads it again: a located value is read from the text
        problems += found
    problems += across.finish()
    problems = cap_per_file(problems)
    state = None
    if builder is not None and _only(problems, planned_rules):
        state = builder.state(tuple(display for _, display in files), "sha256:" + digest.hexdigest())
    return CheckResult(
        diagnostics=tuple(sorted(problems, key=lambda d: d.sort_key)),
        files=tuple(display for _, display in files),
        digest="sha256:" + digest.hexdigest(),
        counts=counts,
        state=state,
    )


def _take_in(doc: YamlDocument, across: CrossFileChecks, counts: dict[str, int]) -> list[Diagnostic]:
    """The problems of one parsed file; a file whose data is usable also joins the checks across files."""
    usable, found = _check_file(doc)
    if usable:
        found += across.add(doc)
        for section in counts:
            declared = doc.data.get(section)
            counts[section] += len(declared) if isinstance(declared, list) else 0
    return found


def _only(problems: Sequence[Diagnostic], rules: frozenset[str]) -> bool:
    """Whether every error among `problems` breaks one of `rules` (the planner reports those)."""
    return all(d.rule in rules for d in problems if d.severity == "error")


def _check_file(doc: YamlDocument) -> tuple[bool, list[Diagnostic]]:
    """The file's own problems, and whether its data can take part in the checks across files."""
    from reconciler.validation.schema import schema_diagnostics

    data = doc.data
    if data is None:
        where = SourceSpan(doc.display, 1, 1)
        message = "empty file: expected `version: 1` and sites or subscriptions"
        return False, [Diagnostic("version", message, where, hint="add `version: 1`, or delete the file")]
    problems = [] if doc.accepted else schema_diagnostics(doc, SCHEMA)
    unsupported = [p for p in problems if p.rule == "version"]
    if unsupported and isinstance(data, dict) and "version" in data:
        # Another format's keys would only add noise: the version is the one thing to fix.
        return False, unsupported
    return isinstance(data, dict), problems


def desired_files(paths: Sequence[str]) -> list[tuple[Path, str]]:
    """(path, display path) of every file to read, in a stable order; each file once."""
    seen: set[Path] = set()
    files: list[tuple[Path, str]] = []
    for given in paths:
        check_path(given, "the desired-state path")
        for path in _files_of(given):
            display = path.as_posix()
            if not is_utf8(display):  # a pull request can name a file so: no output could quote it
                check_path(display, "the desired-state file")
            resolved = _resolved(path)
            if resolved not in seen:
                seen.add(resolved)
                files.append((path, display))
    return files


def _files_of(given: str) -> list[Path]:
    root = Path(given)
    try:
        is_dir, exists, is_link = root.is_dir(), root.exists(), root.is_symlink()
    except OSError as error:  # e.g. a path through a file that is not a directory
        raise ReconcilerError(
            f"cannot read {shown(given)}: {str(error.strerror or error).lower()}",
            hint="check that it exists and is readable",
        ) from None
    if is_dir:
        found = sorted(_yaml_beneath(root), key=lambda p: p.relative_to(root).as_posix())
        if not found:
            raise ReconcilerError(
                f"no *.yaml or *.yml file in {shown(given)}",
                hint="put desired-state files there, or pass the files or directories to read",
            )
        return found
    if exists:
        return [root]
    if is_link:
        raise ReconcilerError(
            f"{shown(given)} is a symbolic link that leads to no file",
            hint="replace the link with the file it should lead to",
        )
    raise ReconcilerError(
        f"{shown(given)} does not exist",
        hint="pass desired-state files or directories (by default, desired-state/ in the current directory)",
    )


def _yaml_beneath(root: Path) -> list[Path]:
    """Every YAML file beneath `root`, hidden ones (.git/) left out.

    A loop over a list of directories, not os.walk: Python 3.11's walk recurses, so a tree a
    pull request nests a thousand levels deep would end in a RecursionError.
    """
    found: list[Path] = []
    pending = [root.as_posix()]
    while pending:
        folder = pending.pop()
        for entry in _entries(folder):
            name = entry.name
            if name.startswith("."):
                continue
            if _is_directory(entry):
                pending.append(entry.path)
            elif name.endswith(YAML_SUFFIXES):
                found.append(Path(entry.path))
    _refuse_links_out_of(root, found)
    return found


def _entries(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            return list(listing)
    except OSError as error:
        _unreadable_directory(error)


def _is_directory(entry: os.DirEntry[str]) -> bool:
    """Whether `entry` is a directory to read; a link to one is refused, as os.walk would skip it."""
    try:
        directory = entry.is_dir()
    except OSError:  # a loop of links, say: read (and refused) as a file, as os.walk would
        return False
    if directory and entry.is_symlink():
        raise ReconcilerError(
            f"{shown(entry.path)} is a link to a directory: refused",
            hint="put the directory itself there, or pass the directory it leads to as a path",
        )
    return directory


def _unreadable_directory(error: OSError) -> NoReturn:
    """A directory that cannot be listed would silently leave its files out of desired state."""
    where = shown(error.filename) if isinstance(error.filename, str) else "a directory"
    if error.errno == errno.ENAMETOOLONG:  # nested past what the system can open by path
        raise ReconcilerError(
            f"cannot read the directory {where}: its path is over the {PATH_MAX:,} bytes a path may have",
            hint="nest the desired-state files less deeply",
        )
    reason = str(error.strerror or error).lower()
    raise ReconcilerError(
        f"cannot read the directory {where}: {reason}",
        hint="make it readable, or move it out of the desired-state paths",
    )


def _refuse_links_out_of(root: Path, found: list[Path]) -> None:
    """Desired state comes from pull requests, and git stores symlinks: one must not reach out of
    the directory and have a file elsewhere on the CI machine read (and quoted in annotations)."""
    inside = _resolved(root)
    for path in found:
        if path.is_symlink() and not (target := _resolved(path)).is_relative_to(inside):
            raise ReconcilerError(
                f"{shown(path)} is a link to {shown(target)}, outside {shown(root)}: refused",
                hint="put the file itself in the directory, or pass its path explicitly",
            )


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # RuntimeError: a loop of symlinks
        raise ReconcilerError(
            f"{shown(path)} cannot be followed: {str(getattr(exc, 'strerror', None) or exc).lower()}",
            hint="replace the symbolic link with the file it should lead to",
        ) from None


class _Builder:
    """The desired state, merged one valid document at a time; every origin resolves lazily."""

    def __init__(self) -> None:
        self._sites: dict[str, DesiredSite] = {}
        self._subscriptions: dict[str, DesiredSubscription] = {}
        #: one string object per distinct app, status, product and billing account of the files
        self._shared: dict[str, str] = {}

    def add(self, doc: YamlDocument) -> None:
        sites, subscriptions = self._sites, self._subscriptions
        for index, site in enumerate(doc.data.get("sites") or ()):
            sites[site["name"]] = DesiredSite(
                site["name"],
                site["org"],
                site.get("create", False),
                ItemOrigin(doc, "sites", index, "name"),
                ItemOrigin(doc, "sites", index, "org"),
            )
        for index, item in enumerate(doc.data.get("subscriptions") or ()):
            subscriptions[item["id"]] = _subscription(doc, index, item, self._shared)

    def state(self, files: tuple[str, ...], digest: str) -> DesiredState:
        return DesiredState(sites=self._sites, subscriptions=self._subscriptions, files=files, digest=digest)


class ItemOrigin(Struct, frozen=True, gc=False):
    """Where `field` of item `index` of a top-level list was declared (a model.Origin).

    One small object built in C per value a plan may point at, its path spelled out only when
    located: a big estate has several per subscription, most never asked for.
    """

    doc: YamlDocument
    section: str
    index: int
    field: str

    def span(self) -> SourceSpan:
        return self.doc.locate((self.section, self.index, self.field))


class AppOrigin(Struct, frozen=True, gc=False):
    """Where a subscription declared one of its apps: the app's key, or with `site` its site value."""

    doc: YamlDocument
    index: int
    app: str
    site: bool

    def span(self) -> SourceSpan:
        if self.site:
            return self.doc.locate(("subscriptions", self.index, "apps", self.app, "site"))
        return self.doc.locate(("subscriptions", self.index, "apps", self.app), key=True)


_ACTIVE = Status.ACTIVE.value


def _subscription(
    doc: YamlDocument, index: int, item: dict[str, Any], shared: dict[str, str]
) -> DesiredSubscription:
    # Called once per subscription of a big estate: every origin is one Struct built in C, and
    # a value most subscriptions repeat (an app, a status) is one string, not one per subscription.
    # Arguments by position: a constructor in C parses keywords by name, which costs more.
    get, one = item.get, shared.setdefault
    origin = ItemOrigin(doc, "subscriptions", index, "id")
    status, account, product = get("status", _ACTIVE), get("billing_account"), get("product")
    apps = get("apps") or {}
    return DesiredSubscription(
        item["id"],
        one(status, status),
        tuple(
            [
                DesiredApp(
                    one(app, app),
                    target["site"],
                    AppOrigin(doc, index, app, False),
                    AppOrigin(doc, index, app, True),
                )
                for app, target in apps.items()
            ]
        ),
        account and one(account, account),
        product and one(product, product),
        origin,
        ItemOrigin(doc, "subscriptions", index, "status") if "status" in item else origin,
        ItemOrigin(doc, "subscriptions", index, "billing_account") if "billing_account" in item else None,
        ItemOrigin(doc, "subscriptions", index, "product") if "product" in item else None,
    )
