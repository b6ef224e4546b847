"""Generate a synthetic estate: a console seed and the desired state that describes it.

    python bench/generate.py --subscriptions N --out DIR [--files K] [--pending 0.03] [--seed S]

writes DIR/console.yaml (a console seed, SPEC section 4) and DIR/desired-state/*.yaml (split over K
files; by default one per ~100 subscriptions). The desired state matches the console except for a
share of pending changes: apps still "Site setup required" that the desired state assigns, and a
few jira-align sites to create. Nothing is blocked: the seed's first user (the actor) is a
billing admin of every account and an admin of every org, partners are members of the orgs
their accounts provision to, focus and talent go on Jira Premium or Enterprise sites, and each
org holds at most one instance of each app (the `one-per-org` rule), which is why there are
about as many orgs as subscriptions. Deterministic for a given seed.

Standard library only: the YAML is written as text, for speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

NOW = dt.date(2026, 11, 21)
ACTOR = "admin@estate.example"
OPS = "ops@estate.example"
PARTNERS = ("globex-partners", "initech-consulting", "hooli-solutions")
WORDS = (
    "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne",
    "soylent", "vandelay", "gringotts", "oscorp", "monarch", "aperture", "duff", "krusty", "nakatomi",
    "pied-piper", "massive", "octan", "vehement", "contoso", "fabrikam", "northwind", "tailspin",
)  # fmt: skip
COLLECTION_APPS = ("jira-align", "focus", "talent")


@dataclass
class Site:
    name: str
    org: str
    jira: str | None
    sandbox: bool = False
    live: bool = True  # False: a site the desired state creates


@dataclass
class Sub:
    id: str
    account: str
    product: str
    status: str  # console status
    start: dt.date
    term_end: dt.date
    live_apps: dict[str, str | None]
    desired_apps: dict[str, str]
    migration: bool = False


@dataclass
class Org:
    id: str
    name: str
    account: str
    partner_user: str | None
    sites: list[Site] = field(default_factory=list)
    subs: list[Sub] = field(default_factory=list)


@dataclass
class Account:
    id: str
    partner: str | None


def partner_user(partner: str) -> str:
    return f"billing@{partner}.example"


class Estate:
    def __init__(self, subscriptions: int, pending: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pending = pending
        self.accounts = self._accounts(max(2, subscriptions // 25))
        self.orgs: list[Org] = []
        self.count = 0
        while self.count < subscriptions:
            self._org(subscriptions - self.count)

    def _accounts(self, count: int) -> list[Account]:
        accounts = []
        for index in range(count):
            digits = f"{self.rng.randrange(10**12):012d}"
            partner = self.rng.choice(PARTNERS) if index % 10 < 3 else None
            accounts.append(Account(f"AC-{digits[:4]}-{digits[4:8]}-{digits[8:]}", partner))
        return accounts

    def _org(self, room: int) -> None:
        rng = self.rng
        number = len(self.orgs) + 1
        base = f"{WORDS[number % len(WORDS)]}-{number}"
        account = rng.choice(self.accounts)
        partner = partner_user(account.partner) if account.partner else None
        org = Org(f"{base}-org", f"{base.replace('-', ' ').title()}", account.id, partner)
        primary = Site(base, org.id, "premium" if rng.random() < 0.75 else "enterprise")
        org.sites.append(primary)
        if rng.random() < 0.3:
            org.sites.append(Site(f"{base}-dev", org.id, "standard"))
        if rng.random() < 0.2:
            org.sites.append(Site(f"{base}-sandbox", org.id, "premium", sandbox=True))
        align = primary
        if rng.random() < 0.4:
            align = Site(f"{base}-align", org.id, None)
            org.sites.append(align)
        if rng.random() < 0.7 or room < 3:
            products = ["strategy-collection"]
        else:
            products = rng.sample(COLLECTION_APPS, rng.randint(2, 3))
        for product in products[:room]:
            org.subs.append(self._subscription(org, product, primary, align))
        self.orgs.append(org)

    def _subscription(self, org: Org, product: str, primary: Site, align: Site) -> Sub:
        rng = self.rng
        self.count += 1
        apps = COLLECTION_APPS if product == "strategy-collection" else (product,)
        desired = {app: (align.name if app == "jira-align" else primary.name) for app in apps}
        start = NOW - dt.timedelta(days=rng.randint(30, 900))
        term_end = _next_term_end(start)
        roll = rng.random()
        live: dict[str, str | None] = dict(desired)
        status, migration = "active", False
        if roll < 0.03:
            status, start = "upcoming", NOW + dt.timedelta(days=rng.randint(5, 60))
            term_end, live = _next_term_end(start), dict.fromkeys(apps)
        elif roll < 0.06:
            status = "cancelled"
        elif roll < 0.06 + self.pending:
            live = dict.fromkeys(apps)
            if "jira-align" in apps and rng.random() < 0.15:
                created = Site(f"{primary.name}-strategy", org.id, None, live=False)
                org.sites.append(created)
                desired["jira-align"] = created.name
        elif roll < 0.08 + self.pending:
            migration = True
        sub_id = f"SUB-{100000 + self.count}"
        return Sub(sub_id, org.account, product, status, start, term_end, live, desired, migration)


def _next_term_end(start: dt.date) -> dt.date:
    """The end of the current yearly term: terms renew automatically until after the clock."""
    end, years = start, 0
    while end <= NOW:
        years += 1
        end = start.replace(year=start.year + years) - dt.timedelta(days=1)
    return end


def console_yaml(estate: Estate) -> str:
    out = [
        "# A generated console seed (bench/generate.py).",
        f"now: {NOW.isoformat()}",
        "provisioning_delay_seconds: 0",
        "users:",
        f"  - email: {ACTOR}",
        "    token: sandbox-token-admin",
        f"  - email: {OPS}",
        "    token: sandbox-token-ops",
    ]
    for partner in PARTNERS:
        out += [f"  - email: {partner_user(partner)}", f"    token: sandbox-token-{partner}"]
    out.append("billing_accounts:")
    for account in estate.accounts:
        out.append(f"  - id: {account.id}")
        if account.partner:
            admins = f"[{partner_user(account.partner)}, {ACTOR}]"
            out += [
                "    managed_by: partner",
                f"    partner: {account.partner}",
                f"    billing_admins: {admins}",
            ]
        else:
            out += ["    managed_by: direct", f"    billing_admins: [{ACTOR}]"]
    out.append("organizations:")
    for org in estate.orgs:
        members = ", ".join(m for m in (OPS, org.partner_user) if m)
        out += [
            f"  - id: {org.id}",
            f"    name: {org.name}",
            f"    admins: [{ACTOR}]",
            f"    members: [{members}]",
        ]
    out.append("sites:")
    for org in estate.orgs:
        for site in org.sites:
            if site.live:
                products = f"{{jira: {site.jira}}}" if site.jira else "{}"
                out += [f"  - name: {site.name}", f"    org: {site.org}", f"    products: {products}"]
                out += ["    sandbox: true"] if site.sandbox else []
    out.append("subscriptions:")
    for org in estate.orgs:
        for sub in org.subs:
            apps = ", ".join(f"{app}: {site or 'null'}" for app, site in sub.live_apps.items())
            out += [
                f"  - id: {sub.id}",
                f"    billing_account: {sub.account}",
                f"    product: {sub.product}",
                f"    status: {sub.status}",
                f"    start_date: {sub.start.isoformat()}",
                f"    term_end: {sub.term_end.isoformat()}",
                f"    apps: {{{apps}}}",
            ]
            out += ["    migration: true"] if sub.migration else []
    out.append(f"retired_site_names: [{', '.join(f'old-{o.sites[0].name}' for o in estate.orgs[:20])}]")
    return "\n".join(out) + "\n"


def desired_yaml(orgs: list[Org]) -> str:
    out = ["# yaml-language-server: $schema=../../schemas/desired-state.schema.json", "version: 1", "sites:"]
    for org in orgs:
        used = {site for sub in org.subs for site in sub.desired_apps.values()}
        for site in org.sites:
            if site.name in used:
                out += [f"  - name: {site.name}", f"    org: {site.org}"]
                out += [] if site.live else ["    create: true"]
    out.append("subscriptions:")
    for org in orgs:
        for sub in org.subs:
            out += [f"  - id: {sub.id}", f"    billing_account: {sub.account}", f"    product: {sub.product}"]
            out += ["    status: cancelled"] if sub.status == "cancelled" else []
            out.append("    apps:")
            out += [f"      {app}: {{site: {site}}}" for app, site in sub.desired_apps.items()]
    return "\n".join(out) + "\n"


def split(orgs: list[Org], files: int, total: int) -> list[list[Org]]:
    """Orgs in `files` groups of about the same number of subscriptions (an org stays in one file)."""
    groups: list[list[Org]] = [[] for _ in range(files)]
    seen = 0
    for org in orgs:
        groups[min(files - 1, seen * files // max(total, 1))].append(org)
        seen += len(org.subs)
    return [group for group in groups if group]


def write(estate: Estate, out: Path, files: int) -> list[Path]:
    target = out / "desired-state"
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.yaml"):
        old.unlink()
    (out / "console.yaml").write_text(console_yaml(estate), encoding="utf-8")
    written = []
    groups = split(estate.orgs, files, estate.count)
    width = len(str(len(groups)))
    for number, group in enumerate(groups, 1):
        path = target / f"estate-{number:0{width}d}.yaml"
        path.write_text(desired_yaml(group), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, required=True, metavar="N")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--files", type=int, default=None, metavar="K", help="default: one per ~100")
    parser.add_argument("--pending", type=float, default=0.03, help="share of subscriptions to provision")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.subscriptions < 1 or not 0 <= args.pending <= 0.9:
        parser.error("--subscriptions must be at least 1 and --pending between 0 and 0.9")
    files = args.files or max(1, round(args.subscriptions / 100))
    estate = Estate(args.subscriptions, args.pending, args.seed)
    written = write(estate, args.out, max(1, files))
    size = sum(p.stat().st_size for p in written)
    sites = sum(len(o.sites) for o in estate.orgs)
    print(
        f"{args.out}: {estate.count} subscriptions, {sites} sites, {len(estate.orgs)} orgs, "
        f"{len(written)} desired-state files ({size / 1e6:.1f} MB)"
    )


if __name__ == "__main__":
    main()
