"""The fast paths written for speed say exactly what the plain code they replace says."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml_rs

from reconciler.loading import scan
from reconciler.loading.blockitem import plain_position
from reconciler.loading.locate import Locator, Position, YamlPath, _descend
from reconciler.loading.yamlfile import parse_yaml
from reconciler.model import BillingAccount, Console, Organization, Site, Subscription
from reconciler.planning.fingerprint import _dumps, canonical_console, canonical_text, observed_fingerprint
from reconciler.rendering.text import DETAIL, WIDTH, _wrapped
from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.seedfile import example_seed
from reconciler.terminal import visible

REPO = Path(__file__).resolve().parents[2]


def _odd_console() -> Console:
    """Strings JSON must escape, text it must not, every optional field both ways."""
    odd = 'quote " back \\ tab \t nl \n bell \x07 é ü 日本 \u2028 \U0001f600'
    day = dt.date(2026, 1, 2)
    return Console(
        now=dt.date(2026, 11, 21),
        actor=odd,
        users=frozenset({odd, "b@x.example", "a@x.example"}),
        billing_accounts={
            "AC-2": BillingAccount("AC-2", "partner", odd, frozenset({odd, "a@x.example"})),
            "AC-1": BillingAccount("AC-1", "direct", None, frozenset()),
        },
        organizations={
            odd: Organization(odd, odd, frozenset({odd, "z@x.example"}), frozenset()),
            "org-a": Organization("org-a", "Org A", frozenset(), frozenset({"m@x.example", odd})),
        },
        sites={
            odd: Site(odd, odd, None, True),
            "site-a": Site("site-a", "org-a", "premium"),
        },
        subscriptions={
            "SUB-2": Subscription(
                "SUB-2", "AC-2", "strategy-collection", "cancelled", day, None,
                {"talent": None, "focus": odd, "jira-align": "site-a"}, True, day, {"talent": odd},
            ),
            odd: Subscription(odd, odd, odd, odd, None, day, {}, False, None, {}),
        },
        retired_site_names=frozenset({odd, "old"}),
    )  # fmt: skip


def _example_console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    path = tmp_path_factory.mktemp("example") / "sandbox.db"
    with SandboxConsole.create(path, example_seed()) as console:
        return console.observe(console.default_actor())


def test_canonical_text_is_json_of_the_canonical_form(tmp_path_factory: pytest.TempPathFactory) -> None:
    for console in (_odd_console(), _example_console(tmp_path_factory)):
        assert canonical_text(console) == _dumps(canonical_console(console))


def test_a_value_of_an_undeclared_type_takes_the_general_path() -> None:
    console = _odd_console()
    sites = dict(console.sites)
    sites["site-a"] = Site("site-a", "org-a", 3, 1)  # type: ignore[arg-type]
    changed = Console(**{**{f: getattr(console, f) for f in console.__slots__}, "sites": sites})
    assert canonical_text(changed) == _dumps(canonical_console(changed))
    assert observed_fingerprint(changed) != observed_fingerprint(console)


# --- positions read from plain lines (blockitem) equal PyYAML's ----------------------------------


def _paths(data: object, prefix: YamlPath = ()) -> Iterator[YamlPath]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _mismatches(text: str) -> list[tuple[YamlPath, bool, Position, Position]]:
    """Every key and value whose position the locator gives otherwise than composing the file."""
    doc, _ = parse_yaml(text.encode(), "f.yaml")
    if doc is None:
        return []
    try:
        full = scan.compose(text)
    except scan.ScanFailed:
        return []
    assert full is not None
    locator = Locator(text, doc.data)
    # One that let go of the data, as a plan's documents do: each item it locates is read again.
    forgetful = Locator(text, doc.data)
    forgetful.forget_data()
    found = []
    for path in _paths(doc.data):
        for key in (False, True):
            want = _descend(full, path, key, 0)
            for got in (locator.position(path, key=key), forgetful.position(path, key=key)):
                if got != want:
                    found.append((path, key, got, want))
    return found


def test_generated_and_example_estates_are_located_as_pyyaml_does(tmp_path: Path) -> None:
    generate = REPO / "bench" / "generate.py"
    subprocess.run(
        [sys.executable, str(generate), "--subscriptions", "300", "--out", str(tmp_path), "--files", "2"],
        check=True,
        capture_output=True,
    )
    files = [
        *sorted((tmp_path / "desired-state").glob("*.yaml")),
        *sorted((REPO / "desired-state").glob("*")),
    ]
    for path in files:
        assert _mismatches(path.read_text(encoding="utf-8")) == [], path


PLAIN_ITEMS = [
    "  - id: SUB-1\n    apps:\n      focus: {site: acme}\n      talent: {site: acme, x: y}\n",
    "- id: SUB-1\n  status: cancelled\n  billing_account: AC-1\n",
    "  - name: acme-align\n    org: acme corp\n    create: true\n",
    "  - name: x\n    create: false\n\n",
    "  - id: SUB-1  # why\n    # a note\n    apps: # below\n      focus: {site: a} # there\n# out\n",
    "  - id: SUB-1\n    apps:\n        focus: { site:  acme ,b: c }\n        talent: {site: b}\n"
    "    product: focus\n",
]
ODD_ITEMS = [
    "  - id: 'SUB-1'\n    apps: {focus: {site: a}}\n",
    "  - id: SUB-1 # why\n    status: active\n",
    "  - id: SUB-1\n    apps:\n      focus: {site: a}\n     talent: {site: b}\n",
    "  - id: SUB-1\n    status:\n    product: focus\n",
    "  - id: SUB-1\n    product: strategy\n      collection\n",
    "  - id: 1\n    create: True\n    other: null\n    n: 1.5\n",
    "  - id: SUB-1\n    apps:\n      focus:\n        site: a\n      talent: {site: b}\n",
    "  -   id: SUB-1\n      status: active\n",
    "  - id: SUB-1\r\n    status: active\r\n",
    "  - id: SUB-1\n    list:\n      - a\n      - b\n",
    "  - id: SUB-1\n    apps: {focus: {site: a},\n      talent: {site: b}}\n",
]


@pytest.mark.parametrize("item", PLAIN_ITEMS + ODD_ITEMS)
def test_an_item_is_located_as_pyyaml_does(item: str) -> None:
    text = f"version: 1\nsubscriptions:\n{item}{item.replace('SUB-1', 'SUB-2')}"
    assert _mismatches(text) == []


def test_an_item_that_needs_another_to_be_read_is_located_as_pyyaml_does() -> None:
    # SUB-2's apps are an alias of SUB-1's: read alone, its lines mean nothing; the text is read again.
    text = (
        "version: 1\nsubscriptions:\n  - id: SUB-1\n    apps: &apps\n      focus: {site: a}\n"
        "  - id: SUB-2\n    apps: *apps\n"
    )
    assert _mismatches(text) == []


@pytest.mark.parametrize("item", PLAIN_ITEMS)
def test_a_plain_item_is_read_without_composing(item: str) -> None:
    data: Any = yaml_rs.loads(item, parse_datetime=False)
    data = data[0]
    path = ("id",) if "id" in data else ("name",)
    assert plain_position(item, 0, path, False, data) is not None
    assert plain_position(item, 0, path, True, data) == (1, item.index("-") + 3)


def test_random_items_are_located_as_pyyaml_does() -> None:
    rng = random.Random(7)
    keys = ["id", "status", "apps", "name", "org", "create", "focus", "'k'", "1", "product"]
    values = ["SUB-1", "acme", "acme corp", "true", "True", "1", "null", "", "x.y", "{site: a}",
              "{site: a, b: c}", "[a, b]", "'q'", "a #c", "a#c", "a:b", "2026-01-01",
              "{site: a} # c"]  # fmt: skip

    def item(depth: int, indent: int, first: bool) -> list[str]:
        lines = []
        for i in range(rng.randint(1, 4)):
            lead = " " * (indent - 2) + "- " if first and i == 0 else " " * indent
            name = rng.choice(keys)
            if depth < 2 and rng.random() < 0.3:
                lines.append(f"{lead}{name}:")
                lines += item(depth + 1, indent + rng.choice([2, 2, 4, 1]), False)
            else:
                lines.append(f"{lead}{name}:{rng.choice([' ', ' ', '  '])}{rng.choice(values)}")
            if rng.random() < 0.1:
                lines.append(
                    rng.choice(["", "# note", " " * indent + "# note", " " * (indent + 3) + "# k: v"])
                )
        return lines

    for _ in range(400):
        body = [line for _ in range(rng.randint(1, 3)) for line in item(0, 4, True)]
        text = "version: 1\nsubscriptions:\n" + "\n".join(body) + "\n"
        assert _mismatches(text) == [], text


# --- a reason that fits on one line skips textwrap, with the same lines --------------------------


def test_reasons_are_wrapped_as_textwrap_does() -> None:
    def wrapped(text: str) -> list[str]:
        lines = textwrap.wrap(
            text, WIDTH, initial_indent=DETAIL, subsequent_indent=DETAIL, break_on_hyphens=False
        )
        return lines or [DETAIL]

    rng = random.Random(3)
    # Short and long texts, words of every length up to past a line (a long word goes textwrap's way;
    # one past 200 characters is clipped first, as every value shown is).
    spaced = ("ab -x.,", "ab -\t\n\xa0é", "a b\x0b\x0c\r\x1c\x1f", "abcdefgh -   ", "abcdefghijklmnopq ")
    for alphabet in (*spaced, "a" * 60 + " ", "a" * 150 + " "):
        for _ in range(3000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
            assert _wrapped(text) == wrapped(visible(text)), repr(text)


# --- the huge-number prefilter finds whatever its regex finds -----------------------------------------


def test_the_huge_number_prefilter_finds_what_its_pattern_finds() -> None:
    from reconciler.loading.limits import _MAYBE_HUGE, _may_be_huge

    rng = random.Random(3)
    alphabet = "0123456789abcdefABCDEFeE.+-xyz :\n.infNaN"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        if _MAYBE_HUGE.search(text):
            assert _may_be_huge(text), text
    for text in ("1e400", "1.e-308", "x: .inf", "-.NaN", "0x" + "f" * 16, "9" * 19, "é 1E+999"):
        assert _may_be_huge(text), text
    assert not _may_be_huge("wayne-100: {site: acme-1234}\nid: SUB-100001\n")


# --- a value many rows repeat is one string ---------------------------------------------------------


def test_values_many_subscriptions_repeat_are_one_string_each(tmp_path: Path) -> None:
    """An estate's products, statuses, billing accounts, apps and Jira plans take a handful of
    values: observed and desired, each value is one object, however many rows repeat it."""
    from reconciler.loading.desired import load_desired
    from reconciler.sandbox.seedfile import load_seed

    generate = REPO / "bench" / "generate.py"
    subprocess.run(
        [sys.executable, str(generate), "--subscriptions", "300", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    estate = tmp_path
    made = SandboxConsole.create(tmp_path / "console.db", load_seed(tmp_path / "console.yaml"))
    console = made.observe(None)
    subs = list(console.subscriptions.values())
    for field in ("product", "status", "billing_account"):
        values = [getattr(sub, field) for sub in subs]
        assert len({id(v) for v in values}) == len(set(values)) < len(values), field
    apps = [app for sub in subs for app in sub.apps]
    plans = [site.jira for site in console.sites.values() if site.jira is not None]
    for values in (apps, plans):
        assert len({id(v) for v in values}) == len(set(values)) < len(values)

    desired = load_desired([str(estate / "desired-state")])
    declared = list(desired.subscriptions.values())
    for values in (
        [app.app for sub in declared for app in sub.apps],
        [sub.status for sub in declared],
        [sub.product for sub in declared if sub.product is not None],
    ):
        assert len({id(v) for v in values}) == len(set(values)) < len(values)
