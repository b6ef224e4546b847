"""Renderer details the golden plans do not reach: the comment size cap, colour, dates, escaping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from reconciler.model import Plan
from reconciler.planning import plan_changes
from reconciler.rendering.markdown import LIMIT, checksums, render_markdown
from reconciler.rendering.text import render_text, starts_in
from tests.planning.builders import console, desired
from tests.planning.conftest import sub


def big_plan(seed: dict[str, Any], count: int, *, blocked: int = 0, cancelled: int = 0) -> Plan:
    """`count` provisions over as many orgs, `blocked` of them on a Standard site, some cancels."""
    subs = []
    for n in range(count):
        org, site = f"org-{n:05d}", f"site-{n:05d}"
        seed["organizations"].append({"id": org, "admins": ["alice@acme.example"]})
        seed["sites"].append(
            {"name": site, "org": org, "products": {"jira": "standard" if n < blocked else "premium"}}
        )
        seed["subscriptions"].append(sub(f"SUB-{n:05d}", "focus"))
        subs.append({"id": f"SUB-{n:05d}", "apps": {"focus": {"site": site}}})
    for n in range(cancelled):
        seed["subscriptions"].append(sub(f"SUB-C{n:04d}", apps={"jira-align": "acme", "focus": "acme"}))
        subs.append({"id": f"SUB-C{n:04d}", "status": "cancelled"})
    return plan_changes(desired(None, subs), console(seed), paths=["desired-state"], provider="sandbox:x")


def test_a_plan_too_long_for_a_comment_lists_what_fits_loud_parts_first(seed: dict[str, Any]) -> None:
    plan = big_plan(seed, 700, blocked=3, cancelled=2)
    assert len(plan.changes) == 699 and len(plan.blocked) == 3
    text = render_markdown(plan)
    assert len(text) <= LIMIT and text.startswith("<!-- reconciler-plan -->\n")
    assert "| ⛔ blocked | 3 |" in text and "| 📦 apps to provision | 697 |" in text
    assert text.count("| `premium-site` |") == 3  # every blocked entry first
    assert "cancel `SUB-C0001`" in text  # then every cancellation
    shown = text.count("- 📦 provision `focus`")
    assert 100 < shown < 697  # then as many provisions as fit, in org order
    assert f"provision `focus` of `SUB-{shown + 2:05d}`" in text
    assert f"provision `focus` of `SUB-{shown + 3:05d}`" not in text
    assert f"**…and {697 - shown} more changes in the JSON plan.**" in text
    assert text.endswith(f"Checksum: `{plan.checksum}`\n\n{checksums(plan).split(chr(10))[-1]}\n")


@pytest.mark.parametrize("limit", [3_000, 3_001, 3_002, 3_050, 4_444, 6_789])
def test_the_limit_holds_to_the_character_and_the_counts_add_up(seed: dict[str, Any], limit: int) -> None:
    plan = big_plan(seed, 40, blocked=40)
    assert len(render_markdown(plan)) > limit
    text = render_markdown(plan, limit=limit)
    assert len(text) <= limit
    shown = text.count("| `premium-site` |")
    assert f"**…and {40 - shown} more blocked entries in the JSON plan.**" in text
    # As many as fit: one more entry would have gone over.
    row = next(line for line in text.splitlines() if line.startswith("| `premium-site` |"))
    assert len(text) + len(row) + 1 > limit
    assert render_markdown(plan, limit=limit) == text  # deterministic


def test_a_plan_within_the_limit_is_rendered_whole(seed: dict[str, Any]) -> None:
    plan = big_plan(seed, 5)
    text = render_markdown(plan)
    assert "The whole plan is" not in text
    assert text.count("📦 provision `focus`") == 5


def test_text_colour_is_the_callers_choice(seed: dict[str, Any]) -> None:
    plan = big_plan(seed, 2, blocked=1)
    plain, coloured = render_text(plan), render_text(plan, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[32m+\x1b[0m provision" in coloured and "\x1b[31mx\x1b[0m" in coloured
    # Everything fits in 100 columns but the summary line, whose wording CI logs are grepped for.
    assert [line for line in plain.splitlines() if len(line) > 100] == [
        "Plan: 0 sites to create, 1 app to provision, 0 to reactivate, 0 to cancel; "
        "1 blocked, 0 deferred, 0 unmanaged."
    ]


def test_an_unmanaged_collection_on_long_site_names_wraps_under_its_subscription(
    seed: dict[str, Any],
) -> None:
    long_name = "-production-site-of-the-northern-region"
    names = {app: f"{app}{long_name}" for app in ("jira-align", "focus", "talent")}
    seed["subscriptions"].append(sub("SUB-9001", apps=names))
    text = render_text(plan_changes(desired(None, []), console(seed), paths=["desired-state"]))
    section = text[text.index("Unmanaged:") :].split("\n\n")[0].splitlines()
    assert all(len(line) <= 100 for line in section), section
    assert section[1].startswith("  SUB-9001 strategy-collection, active: ")
    assert all(line.startswith("      ") for line in section[2:]) and len(section) > 2
    assert " ".join(line.strip() for line in section[1:]).count(long_name) == 3


@pytest.mark.parametrize(
    ("start", "today", "shown"),
    [
        (dt.date(2026, 12, 15), dt.date(2026, 11, 21), "starts on 2026-12-15 (in 24 days)"),
        (dt.date(2026, 11, 22), dt.date(2026, 11, 21), "starts on 2026-11-22 (in 1 day)"),
        (dt.date(2026, 11, 21), dt.date(2026, 11, 21), "starts on 2026-11-21 (today)"),
        (dt.date(2026, 11, 20), dt.date(2026, 11, 21), "start date 2026-11-20 has passed"),
        (dt.date(2026, 12, 15), None, "starts on 2026-12-15"),
        (None, dt.date(2026, 11, 21), "start date unknown"),
    ],
)
def test_starts_in(start: dt.date | None, today: dt.date | None, shown: str) -> None:
    assert starts_in(start, today) == shown


def test_a_long_reason_wraps_between_names_never_inside_one(seed: dict[str, Any]) -> None:
    org = "org-with-a-long-hyphenated-name-that-reaches-the-end-of-the-line"
    seed["organizations"].append({"id": org, "admins": ["alice@acme.example"]})
    seed["sites"].append({"name": "far-site", "org": org, "products": {"jira": "premium"}})
    seed["subscriptions"].append(sub("SUB-1", "focus"))
    wanted = desired(None, [{"id": "SUB-1", "apps": {"focus": {"site": "far-site"}}}])
    plan = plan_changes(wanted, console(seed), paths=["desired-state"], provider="sandbox:x")
    assert org in plan.changes[0].reason
    lines = render_text(plan, color=False).splitlines()
    # The reason is too long for one line: it breaks before the name, not at one of its hyphens.
    assert f"({org})" in [line.strip() for line in lines], "\n".join(lines)
