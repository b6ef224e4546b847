"""`reconciler import`: write desired state for everything live, so a team can adopt an existing estate.

The files describe the console exactly as it is, so `import` then `plan` shows no changes:
`sites.yaml` holds every live site with its org, and one file per billing account holds its
subscriptions (deleted ones are gone for good and skipped). Apps still showing "Site setup
required" are listed as comments, ready to be given a site.

Every name in the files comes from the console, which is untrusted: a value is written as a plain
scalar only when it is one harmless word, otherwise double-quoted with every character that could
start a line or that YAML forbids escaped; a comment gets the value through `printable`, so no
line break of any kind (LF, CR, NEL, U+2028, U+2029) can end the comment and start desired state.
A value holding a lone surrogate (U+D800 to U+DFFF: half of a UTF-16 pair, which a console's JSON
can send as `\\ud800`) is no character at all: no YAML scalar holds it, and an escape of it is
refused by every YAML reader. Import refuses such a console before writing anything.

What a file could carry but desired state cannot declare (a site name the schema refuses, an empty
id, an unknown product or app) is left out, with a comment in its place and a warning naming it
(reconciler/commands/importable.py). The files are written all or none, and only where no file is
(reconciler/commands/import_write.py), after the same checks as `reconciler validate`.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from reconciler.commands.import_write import WRITABLE_HINT, remove_leftovers, write_estate
from reconciler.commands.importable import (
    app_note,
    assertion_notes,
    declarable_id,
    site_note,
    subscription_note,
)
from reconciler.errors import EXIT_OK, ReconcilerError
from reconciler.model import PRODUCT_APPS, Console, Status, Subscription
from reconciler.options import GlobalOptions
from reconciler.pipeline import observe, public_provider
from reconciler.terminal import info, printable
from reconciler.userpaths import check_creatable, check_path, shown

SCHEMA_FILE = Path("schemas") / "desired-state.schema.json"
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._@/-]*")  # with fullmatch: `$` would pass a final newline
# Words some YAML readers take for booleans or null; quoted so every reader sees a string.
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})


@dataclass(frozen=True, slots=True)
class EstateFile:
    name: str
    text: str
    summary: str
    #: what the console holds that this file leaves out, and why (desired state cannot declare it)
    left_out: tuple[str, ...] = ()


def run(options: GlobalOptions, out_dir: str) -> int:
    if not out_dir:
        raise ReconcilerError("import --out was given an empty path", hint="give the directory to write to")
    check_path(out_dir, "the import directory")
    out = Path(out_dir)
    remove_leftovers(out)
    _refuse_existing(out, out_dir)
    check_creatable(out_dir, "the import directory", WRITABLE_HINT, directory=True)
    console = observe(options)
    provider = public_provider(options)
    refuse_uncarried(console)
    files = estate_files(console, provider, schema_comment_path(out))
    write_estate(out, out_dir, [(estate_file.name, estate_file.text) for estate_file in files])
    for estate_file in files:
        print(f"Wrote {printable((out / estate_file.name).as_posix())}: {estate_file.summary}")
    _warn_left_out(out, files)
    print(_closing_line(console, provider, out_dir))
    return EXIT_OK


def _warn_left_out(out: Path, files: list[EstateFile]) -> None:
    notes = [f"  {(out / f.name).as_posix()}: {note}" for f in files for note in f.left_out]
    if notes:
        info(
            f"warning: import left out {_count(len(notes), 'entry', 'entries')} that desired state cannot "
            "declare, so reconciler does not manage them (to manage one, correct it in the console "
            "and import again):\n" + "\n".join(notes)
        )


def _closing_line(console: Console, provider: str, out_dir: str) -> str:
    kept = [s for s in console.subscriptions.values() if s.status != Status.DELETED]
    skipped = len(console.subscriptions) - len(kept)
    gone = f" ({_count(skipped, 'deleted subscription')} skipped)" if skipped else ""
    sites = sum(site_note(name, site.org) is None for name, site in console.sites.items())
    subs = sum(subscription_note(sub) is None for sub in kept)
    return (
        f"Imported {_count(sites, 'site')} and {_count(subs, 'subscription')} "
        f"from {printable(provider)}{gone}. "
        f"`reconciler plan {printable(out_dir)}` should now show no changes."
    )


def _count(n: int, noun: str, nouns: str | None = None) -> str:
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def _refuse_existing(out: Path, out_dir: str) -> None:
    if out.exists() and not out.is_dir():
        raise ReconcilerError(f"{shown(out_dir)} is a file, not a directory", hint=WRITABLE_HINT)
    if not out.is_dir():
        return
    existing = sorted(
        path.relative_to(out).as_posix()
        for path in out.rglob("*")
        if path.suffix in (".yaml", ".yml")
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(out).parts)
    )
    if existing:
        held = ", ".join(shown(f"{out.as_posix()}/{name}") for name in existing[:5])
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise ReconcilerError(
            f"{shown(out_dir)} already holds YAML files ({held}{more}); "
            "import never overwrites desired state",
            hint=f"import into an empty directory, e.g. --out {_fresh_name(out)}, and compare",
        )


def _fresh_name(out: Path) -> str:
    """A directory beside `out` that does not exist yet, to suggest instead of the one given."""
    candidate, n = out.parent / "imported", 1
    while candidate.exists():
        n += 1
        candidate = out.parent / f"imported-{n}"
    return shown(candidate)


def schema_comment_path(out: Path) -> str:
    """Where the schema is from the files' directory, for the editor hint (schemas/ in the repository)."""
    return Path(os.path.relpath(Path.cwd() / SCHEMA_FILE, out.resolve())).as_posix()


def scalar(value: str) -> str:
    """A YAML scalar that every YAML reader reads back as this very string, on the line it is on."""
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return '"' + "".join(_quoted_char(char) for char in value) + '"'


_QUOTED_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _quoted_char(char: str) -> str:
    """One character inside double quotes: visible ASCII as it is, everything else as an escape.

    Escaping all of non-ASCII keeps NEL, U+2028 and U+2029 (line breaks to a YAML 1.1 reader such
    as the locator's) and the characters YAML forbids out of the file; `\\U` (not a surrogate pair,
    as JSON would write) spells a character beyond U+FFFF.
    """
    if char in _QUOTED_ESCAPES:
        return _QUOTED_ESCAPES[char]
    code = ord(char)
    if 0x20 <= code < 0x7F:
        return char
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


# --- what YAML cannot carry -------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_uncarried(console: Console) -> None:
    """Refuse, naming each, the console values no desired-state file could hold: nothing is written."""
    found = [
        f"  {where}: {printable(value)}"
        for where, value in _scalar_values(console)
        if _SURROGATE.search(value)
    ]
    if found:
        raise ReconcilerError(
            f"the console holds {_count(len(found), 'value')} that desired-state YAML cannot carry "
            "(a lone surrogate, U+D800 to U+DFFF, is half of a UTF-16 pair, not a character); "
            "nothing was written:\n" + "\n".join(found),
            hint="correct the value in the console (it is often a character cut in half), then import again",
        )


def _scalar_values(console: Console) -> list[tuple[str, str]]:
    """Every console value import writes as a YAML scalar, with where it is in the console."""
    values: list[tuple[str, str]] = []
    for name in sorted(console.sites):
        values += [("site name", name), (f"org of site {printable(name)}", console.sites[name].org)]
    for sub in sorted(console.subscriptions.values(), key=lambda s: s.id):
        if sub.status == Status.DELETED:
            continue
        of = f"of subscription {printable(sub.id)}"
        values += [("subscription id", sub.id), (f"billing account {of}", sub.billing_account)]
        values.append((f"product {of}", sub.product))
        for app, site in _apps(sub)[0]:
            values += [(f"app name {of}", app), (f"site of app {printable(app)} {of}", site)]
    return values


# --- the files -------------------------------------------------------------------------------------


def estate_files(console: Console, provider: str, schema: str) -> list[EstateFile]:
    header = f"# yaml-language-server: $schema={printable(schema)}\n"
    origin = f"# Imported from {printable(provider)} (console date {console.now}).\n"
    files = [_sites_file(console, header, origin)]
    by_account: dict[str, list[Subscription]] = defaultdict(list)
    for sub in console.subscriptions.values():
        if sub.status != Status.DELETED:
            by_account[sub.billing_account].append(sub)
    taken = {"sites.yaml"}
    for account in sorted(by_account):
        subs = sorted(by_account[account], key=lambda s: s.id)
        name = account_file_name(account, taken)
        taken.add(name.lower())
        files.append(_account_file(console, account, name, subs, header, origin))
    return files


def _sites_file(console: Console, header: str, origin: str) -> EstateFile:
    notes = {name: site_note(name, site.org) for name, site in console.sites.items()}
    declared = sum(note is None for note in notes.values())
    lines = [
        header + origin + "# Every live site and its org.",
        "version: 1",
        "sites:" if declared else "sites: []",
    ]
    for name in sorted(console.sites):
        site, left_out = console.sites[name], notes[name]
        if left_out is not None:
            lines.append(f"  # Left out: {left_out}")
            continue
        jira = f"Jira {printable(site.jira.capitalize())}" if site.jira else "no Jira"
        hosts = f"{jira}, sandbox site" if site.sandbox else jira
        lines += [f"  - name: {scalar(name)}  # {hosts}", f"    org: {scalar(site.org)}"]
    left = tuple(note for name in sorted(notes) if (note := notes[name]) is not None)
    return EstateFile("sites.yaml", "\n".join(lines) + "\n", _count(declared, "site"), left)


def account_file_name(account: str, taken: set[str]) -> str:
    """`AC-1111-2222-3333.yaml`: the account id made safe for any file system, never a name taken."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", account).lstrip(".") or "account"
    name, n = f"{stem}.yaml", 1
    while name.lower() in taken:  # case-insensitive file systems would merge the two
        n += 1
        name = f"{stem}-{n}.yaml"
    return name


def _account_file(
    console: Console, account: str, name: str, subs: list[Subscription], header: str, origin: str
) -> EstateFile:
    billing = console.billing_accounts.get(account)
    managed = f", managed by {printable(billing.partner)}" if billing and billing.partner else ""
    declared = sum(subscription_note(sub) is None for sub in subs)
    lines = [
        header + origin + f"# Billing account {printable(account)}{managed}.",
        "version: 1",
        "subscriptions:" if declared else "subscriptions: []",
    ]
    left_out: list[str] = []
    for sub in subs:
        lines += _subscription_lines(sub, left_out)
    return EstateFile(name, "\n".join(lines) + "\n", _count(declared, "subscription"), tuple(left_out))


def _subscription_lines(sub: Subscription, left_out: list[str]) -> list[str]:
    """The subscription's lines; what of it desired state cannot declare is a comment, added to `left_out`."""
    if (whole := subscription_note(sub)) is not None:
        left_out.append(whole)
        return [f"  # Left out: {whole}"]
    notes = assertion_notes(sub)
    lines = [f"  - id: {scalar(sub.id)}{_status_note(sub)}"]
    if declarable_id(sub.billing_account):
        lines.append(f"    billing_account: {scalar(sub.billing_account)}")
    if sub.product in PRODUCT_APPS:
        lines.append(f"    product: {scalar(sub.product)}")
    if sub.status in (Status.CANCELLED, Status.DEACTIVATED):
        lines.append("    status: cancelled")
    placed, waiting = _apps(sub)
    notes += [note for app, site in placed if (note := app_note(sub, app, site)) is not None]
    placed = [(app, site) for app, site in placed if app_note(sub, app, site) is None]
    if placed:
        lines.append("    apps:")
        lines += [f"      {scalar(app)}: {{site: {scalar(site)}}}" for app, site in placed]
    lines += [f"    # Left out: {note}" for note in notes]
    left_out += notes
    waiting = [app for app in waiting if app in PRODUCT_APPS.get(sub.product, ())]
    if waiting and sub.status in (Status.UPCOMING, Status.ACTIVE):
        apps = printable(", ".join(waiting))
        lines.append(f"    # Site setup required: {apps} (declare a site under apps to provision)")
    return lines


def _status_note(sub: Subscription) -> str:
    if sub.status == Status.UPCOMING:
        return f"  # upcoming: starts on {sub.start_date}"
    if sub.status == Status.CANCELLED:
        return f"  # cancelled: deactivates on {sub.deactivation_date or 'an unknown date'}"
    if sub.status == Status.DEACTIVATED:
        return f"  # deactivated: data deleted on {sub.deletion_date or 'an unknown date'}"
    if sub.migration:
        return "  # migration: Atlassian provisions its apps"
    return ""


def _apps(sub: Subscription) -> tuple[list[tuple[str, str]], list[str]]:
    """(app, site) for every app on a site or on its way there, and the apps still without one."""
    order = {app: i for i, app in enumerate(PRODUCT_APPS.get(sub.product, ()))}
    placed, waiting = [], []
    for app in sorted(set(sub.apps) | set(sub.pending), key=lambda a: (order.get(a, 9), a)):
        site = sub.apps.get(app) or sub.pending.get(app)
        if site is None:
            waiting.append(app)
        else:
            placed.append((app, site))
    return placed, waiting
