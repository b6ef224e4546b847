"""Reading a console seed file (SPEC §4): the schema first, then every cross-reference.

Like desired state, a seed's problems are reported all at once, each at its `file:line:column`:
an unknown user, billing account, org or site referenced; an app outside its product; two
instances of an app in one org; a duplicate id; an invalid or retired site name; a bad date.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from reconciler.loading.yamlfile import DiagnosticsError, YamlDocument, read_yaml
from reconciler.model import (
    DATA_RETENTION,
    DEACTIVATION_GRACE,
    PRODUCT_APPS,
    BillingAccount,
    Diagnostic,
    Organization,
    Site,
    Status,
    Subscription,
)
from reconciler.resources import package_file
from reconciler.sandbox import seedrules
from reconciler.sandbox.lifecycle import add_years
from reconciler.sandbox.rules import SITE_NAME_RULE, valid_site_name
from reconciler.sandbox.seed import (
    DEFAULT_PROVISIONING_DELAY,
    EXAMPLE_SEED,
    MAX_PROVISIONING_DELAY,
    Seed,
    SeedUser,
)
from reconciler.wire import BEARER_TOKEN

SCHEMA = "console-seed.schema.json"
EXAMPLE_DISPLAY = "example-console.yaml (built in)"

YamlPath = tuple[str | int, ...]

#: An unknown reference lists what is declared, when that list is short enough to read.
MAX_LISTED = 8

#: The dates a seed may use. The clock, terms and renewals are computed from them, and a century
#: of `sandbox advance` must still fit before the last day a console's clock may show.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9897, 12, 31)


def load_seed(path: Path, display: str | None = None) -> Seed:
    """Read and check a seed file; raise DiagnosticsError listing every problem."""
    from reconciler.validation.schema import schema_diagnostics

    doc = read_yaml(path, display)
    problems = schema_diagnostics(doc, SCHEMA)
    seed = None
    if not problems:
        seed, problems = SeedReader(doc).read()
    if problems or seed is None:
        raise DiagnosticsError(
            problems,
            f"{doc.display} is not a valid console seed",
            hint="fix the seed and run 'reconciler sandbox init --from FILE' again",
        )
    return seed


def example_seed() -> Seed:
    """The example console shipped in the package: the estate desired-state/ describes."""
    return load_seed(package_file(EXAMPLE_SEED), EXAMPLE_DISPLAY)


def _default_status(item: dict[str, Any], now: dt.date) -> str:
    """Without a status, a subscription whose start date is still ahead is upcoming, else active."""
    try:
        start = dt.date.fromisoformat(item["start_date"])
    except (KeyError, TypeError, ValueError):  # a bad date is reported where dates are read
        return Status.ACTIVE
    return Status.UPCOMING if start > now else Status.ACTIVE


def _items(data: dict[str, Any], name: str) -> list[tuple[int, dict[str, Any]]]:
    return list(enumerate(data.get(name) or []))


class SeedReader:
    """Builds a Seed from a schema-valid document, collecting every cross-reference problem."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.problems: list[Diagnostic] = []
        self._clock_known = True
        #: where each subscription kept was declared: its index under `subscriptions`
        self._declared_at: dict[str, int] = {}

    def read(self) -> tuple[Seed | None, list[Diagnostic]]:
        now = self._date(self.data.get("now"), ("now",))
        # A clock given but unreadable is reported once; checks against it are skipped.
        self._clock_known = now is not None or "now" not in self.data
        now = now or dt.date.today()
        users = self._users()
        accounts = self._billing_accounts()
        orgs = self._organizations()
        users += self._implicit_users(users, accounts, orgs)
        retired = frozenset(self.data.get("retired_site_names") or [])
        sites = self._sites(orgs, retired)
        self._case_duplicates(users)
        subscriptions = self._subscriptions(now, accounts, sites)
        live = list(seedrules.live_apps(subscriptions, sites, self._declared_at))
        for breach in seedrules.breaches(live, accounts, orgs, self.doc.locate):
            self._error(breach.rule, breach.message, breach.path)
        self._snapshot_keys(users)
        delay = self._delay()
        if self.problems:
            return None, self.problems
        seed = Seed(
            now=now,
            users=tuple(users),
            billing_accounts=tuple(accounts.values()),
            organizations=tuple(orgs.values()),
            sites=tuple(sites.values()),
            subscriptions=tuple(subscriptions),
            retired_site_names=retired,
            provisioning_delay=float(delay),
        )
        return seed, []

    # --- reporting -------------------------------------------------------------------------------

    def _error(self, rule: str, message: str, path: YamlPath, *, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(rule, message, self.doc.locate(path), hint))

    def _unique(self, seen: dict[str, YamlPath], value: str, path: YamlPath, what: str) -> bool:
        """Record `value` as declared at `path`; a second declaration is an error naming the first."""
        if value in seen:
            first = self.doc.locate(seen[value])
            self._error("duplicate", f"{what} {value} is declared twice: here and at {first}", path)
            return False
        seen[value] = path
        return True

    def _known(self, value: str, known: set[str] | dict[str, Any], what: str, path: YamlPath) -> bool:
        if value in known:
            return True
        message = f"{what} {value} is not declared in this seed"
        if len(known) <= MAX_LISTED:
            message += f" (declared: {', '.join(sorted(known)) or 'none'})"
        self._error("unknown-reference", message, path)
        return False

    def _date(self, value: str | None, path: YamlPath) -> dt.date | None:
        if value is None:
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            self._error("date", f"{value} is not a calendar date", path, hint="write dates as YYYY-MM-DD")
            return None
        if not FIRST_DAY <= day <= LAST_DAY:
            message = f"{value} is outside the dates a console keeps ({FIRST_DAY} to {LAST_DAY})"
            self._error("date", message, path)
            return None
        return day

    def _delay(self) -> float:
        delay = self.data.get("provisioning_delay_seconds", DEFAULT_PROVISIONING_DELAY)
        if not math.isfinite(delay) or not 0 <= delay <= MAX_PROVISIONING_DELAY:
            message = (
                f"provisioning_delay_seconds is {delay}: it must be from 0 to {MAX_PROVISIONING_DELAY:g}"
            )
            self._error("schema", message, ("provisioning_delay_seconds",))
            return DEFAULT_PROVISIONING_DELAY
        return float(delay)

    # --- people and places -----------------------------------------------------------------------

    def _users(self) -> list[SeedUser]:
        users: list[SeedUser] = []
        seen: dict[str, YamlPath] = {}
        tokens: dict[str, YamlPath] = {}
        for i, item in _items(self.data, "users"):
            email, token = item["email"], item.get("token")
            if self._unique(seen, email, ("users", i, "email"), "user"):
                users.append(SeedUser(email, token))
            if token is not None and not BEARER_TOKEN.fullmatch(token):
                message = f"the token of user {email} holds characters a bearer token cannot carry"
                hint = "a token is visible ASCII only: no space, control character or line break"
                self._error("token", message, ("users", i, "token"), hint=hint)
            if token is not None and token in tokens:
                first = self.doc.locate(tokens[token])
                message = f"user {email} has the same token as the user at {first}"
                self._error("duplicate", message, ("users", i, "token"))
            elif token is not None:
                tokens[token] = ("users", i, "token")
        return users

    def _case_duplicates(self, users: list[SeedUser]) -> None:
        """Emails are compared without case by mail systems and people: two that differ only in
        case are one person to them, and two users to the console. Refused where the second is named."""
        first: dict[str, tuple[str, YamlPath]] = {}
        for email, path in self._named_emails():
            folded = email.casefold()
            seen = first.setdefault(folded, (email, path))
            if seen[0] != email:
                message = (
                    f"user {email} differs only in case from {seen[0]} (at {self.doc.locate(seen[1])}): "
                    "write one person's email the same way everywhere"
                )
                self._error("duplicate", message, path)
                first[folded] = (email, path)

    def _named_emails(self) -> list[tuple[str, YamlPath]]:
        """Every email the seed names, where it names it, in the order users are created."""
        named: list[tuple[str, YamlPath]] = [
            (item["email"], ("users", i, "email")) for i, item in _items(self.data, "users")
        ]
        for name, keys in (
            ("billing_accounts", ("billing_admins",)),
            ("organizations", ("admins", "members")),
        ):
            for i, item in _items(self.data, name):
                for key in keys:
                    named += [(email, (name, i, key, j)) for j, email in enumerate(item.get(key) or [])]
        return named

    @staticmethod
    def _implicit_users(
        users: list[SeedUser], accounts: dict[str, BillingAccount], orgs: dict[str, Organization]
    ) -> list[SeedUser]:
        """A user is an email: one named as an admin or member needs no `users:` entry (only a token does)."""
        declared = {user.email for user in users}
        named = [email for account in accounts.values() for email in sorted(account.billing_admins)]
        named += [email for org in orgs.values() for email in sorted(org.admins | org.members)]
        implicit = [email for email in dict.fromkeys(named) if email not in declared]
        return [SeedUser(email, None) for email in implicit]

    def _billing_accounts(self) -> dict[str, BillingAccount]:
        accounts: dict[str, BillingAccount] = {}
        seen: dict[str, YamlPath] = {}
        for i, item in _items(self.data, "billing_accounts"):
            base: YamlPath = ("billing_accounts", i)
            managed_by, partner = item.get("managed_by", "direct"), item.get("partner")
            if managed_by == "partner" and partner is None:
                self._error(
                    "partner", f"{item['id']} is partner-managed: name its partner", (*base, "managed_by")
                )
            if managed_by == "direct" and partner is not None:
                self._error(
                    "partner", f"{item['id']} is managed directly: it has no partner", (*base, "partner")
                )
            admins = frozenset(item.get("billing_admins") or [])
            if self._unique(seen, item["id"], (*base, "id"), "billing account"):
                accounts[item["id"]] = BillingAccount(item["id"], managed_by, partner, admins)
        return accounts

    def _organizations(self) -> dict[str, Organization]:
        orgs: dict[str, Organization] = {}
        seen: dict[str, YamlPath] = {}
        for i, item in _items(self.data, "organizations"):
            base: YamlPath = ("organizations", i)
            admins = frozenset(item.get("admins") or [])
            members = frozenset(item.get("members") or []) - admins
            if self._unique(seen, item["id"], (*base, "id"), "organization"):
                orgs[item["id"]] = Organization(item["id"], item.get("name", item["id"]), admins, members)
        return orgs

    def _sites(self, orgs: dict[str, Organization], retired: frozenset[str]) -> dict[str, Site]:
        sites: dict[str, Site] = {}
        seen: dict[str, YamlPath] = {}
        for i, item in _items(self.data, "sites"):
            base: YamlPath = ("sites", i)
            name = item["name"]
            if not valid_site_name(name):
                self._error("site-name", f"site name {name!r} is invalid: {SITE_NAME_RULE}", (*base, "name"))
            elif name in retired:
                self._error("site-name", f"site name {name} is retired: it cannot be live", (*base, "name"))
            self._known(item["org"], orgs, "organization", (*base, "org"))
            jira = (item.get("products") or {}).get("jira")
            if self._unique(seen, name, (*base, "name"), "site"):
                sites[name] = Site(name, item["org"], jira, bool(item.get("sandbox", False)))
        return sites

    # --- subscriptions -----------------------------------------------------------------------------

    def _subscriptions(
        self, now: dt.date, accounts: dict[str, BillingAccount], sites: dict[str, Site]
    ) -> list[Subscription]:
        subscriptions: list[Subscription] = []
        seen: dict[str, YamlPath] = {}
        for i, item in _items(self.data, "subscriptions"):
            base: YamlPath = ("subscriptions", i)
            self._known(item["billing_account"], accounts, "billing account", (*base, "billing_account"))
            subscription = self._subscription(item, base, now, sites)
            if self._unique(seen, item["id"], (*base, "id"), "subscription") and subscription is not None:
                subscriptions.append(subscription)
                self._declared_at[subscription.id] = i
        return subscriptions

    def _subscription(
        self, item: dict[str, Any], base: YamlPath, now: dt.date, sites: dict[str, Site]
    ) -> Subscription | None:
        status = item.get("status") or _default_status(item, now)
        dates = self._lifecycle_dates(item, base, now, status)
        apps = self._apps(item, base, sites, status)
        if dates is None:
            return None
        start, term_end, deactivated_on = dates
        return Subscription(
            id=item["id"],
            billing_account=item["billing_account"],
            product=item["product"],
            status=status,
            start_date=start,
            term_end=term_end,
            apps=apps,
            migration=bool(item.get("migration", False)),
            deactivated_on=deactivated_on,
        )

    def _lifecycle_dates(
        self, item: dict[str, Any], base: YamlPath, now: dt.date, status: str
    ) -> tuple[dt.date, dt.date, dt.date | None] | None:
        count = len(self.problems)
        start = self._date(item.get("start_date"), (*base, "start_date"))
        term_end = self._date(item.get("term_end"), (*base, "term_end"))
        deactivated_on = self._date(item.get("deactivated_on"), (*base, "deactivated_on"))
        if len(self.problems) > count:
            return None
        if start is None:
            # A term is a year: without a start date, it started a year before the term end.
            start = now if term_end is None else add_years(term_end, -1) + dt.timedelta(days=1)
        term_end = term_end or add_years(start) - dt.timedelta(days=1)
        sub = item["id"]
        if term_end < start:
            self._error(
                "date", f"{sub}'s term ends ({term_end}) before it starts ({start})", (*base, "term_end")
            )
        if self._clock_known:
            self._start_against_clock(item, base, now, status, start)
        if status in (Status.DEACTIVATED, Status.DELETED):
            deactivated_on = deactivated_on or term_end + DEACTIVATION_GRACE
            self._deactivation_dates(item, base, now, status, term_end, deactivated_on)
        elif deactivated_on is not None:
            message = f"{sub} is {status}: only a deactivated or deleted subscription has deactivated_on"
            self._error("status", message, (*base, "deactivated_on"))
        return start, term_end, deactivated_on

    def _start_against_clock(
        self, item: dict[str, Any], base: YamlPath, now: dt.date, status: str, start: dt.date
    ) -> None:
        """Only an upcoming subscription starts after the clock, and an upcoming one always does."""
        where = (*base, "start_date") if "start_date" in item else (*base, "status")
        sub = item["id"]
        if status == Status.UPCOMING and start <= now:
            self._error(
                "date", f"{sub} is upcoming but starts on {start}, not after the clock ({now})", where
            )
        elif status != Status.UPCOMING and start > now:
            message = (
                f"{sub} is {status} but starts on {start}, after the clock ({now}): it would be upcoming"
            )
            self._error("date", message, where)

    def _deactivation_dates(
        self,
        item: dict[str, Any],
        base: YamlPath,
        now: dt.date,
        status: str,
        term_end: dt.date,
        deactivated_on: dt.date,
    ) -> None:
        """A subscription is deactivated after its term ends, and the seed's clock has seen it happen."""
        where = (*base, "deactivated_on") if "deactivated_on" in item else (*base, "term_end")
        sub = item["id"]
        if deactivated_on < term_end:
            message = f"{sub} is deactivated on {deactivated_on}, before its term ends ({term_end})"
            self._error("date", message, where)
        elif deactivated_on > now and self._clock_known:
            message = (
                f"{sub} is {status}, but its deactivation date ({deactivated_on}) is after the clock ({now})"
            )
            self._error("date", message, where)
        elif status == Status.DELETED and deactivated_on + DATA_RETENTION > now and self._clock_known:
            deleted = deactivated_on + DATA_RETENTION
            message = f"{sub} is deleted but its data is deleted on {deleted}, after the clock ({now})"
            self._error("date", message, where)

    def _apps(
        self, item: dict[str, Any], base: YamlPath, sites: dict[str, Site], status: str
    ) -> dict[str, str | None]:
        product_apps = PRODUCT_APPS[item["product"]]
        apps: dict[str, str | None] = dict.fromkeys(product_apps)
        for app, site in (item.get("apps") or {}).items():
            path: YamlPath = (*base, "apps", app)
            if app not in product_apps:
                listed = ", ".join(product_apps)
                message = f"{app} is not an app of {item['id']} (product {item['product']} has: {listed})"
                self._error("app-in-product", message, path)
                continue
            if site is not None and status == Status.DELETED:
                self._error("status", f"{item['id']} is deleted: its apps are on no site", path)
            elif site is not None:
                self._known(site, sites, "site", path)
            apps[app] = site
        return apps

    def _snapshot_keys(self, users: list[SeedUser]) -> None:
        """What only a snapshot (`sandbox show --format json`) has: it must describe a seed.

        A seed starts with no operation in progress, and its default actor is its first user.
        """
        hint = "take the snapshot again once they complete (within provisioning_delay_seconds)"
        for i, item in _items(self.data, "pending_sites"):
            message = f"site {item['name']} was still being created in org {item['org']} in this snapshot"
            self._error("pending", message, ("pending_sites", i), hint=hint)
        for i, item in _items(self.data, "subscriptions"):
            for app, site in (item.get("pending") or {}).items():
                message = f"{app} of {item['id']} was still being provisioned to {site} in this snapshot"
                self._error("pending", message, ("subscriptions", i, "pending", app), hint=hint)
        actor = self.data.get("default_actor")
        if actor is not None and (not users or users[0].email != actor):
            first = users[0].email if users else "none"
            message = f"default_actor {actor} is not the first user (the first user is {first})"
            self._error("default-actor", message, ("default_actor",), hint="list the default actor first")
