"""What apply says of an approved plan partly dropped by the files: ids shown printable, and short."""

from __future__ import annotations

import msgspec

from reconciler.applying.resumption import nothing_left, resuming
from reconciler.model import Action, Change, Plan


def provision(subscription: str) -> Change:
    return Change(
        f"provision:{subscription}:focus",
        Action.PROVISION,
        subscription,
        "focus",
        "acme",
        "acme-corp",
        (),
        "why",
        None,
    )


def plan(*changes: Change, digest: str = "sha256:d") -> Plan:
    return Plan(changes, (), (), (), (), digest, "sha256:o")


def test_a_dropped_change_whose_id_would_move_the_terminal_is_shown_escaped() -> None:
    hostile, kept = provision("SUB-1\x1b[2J"), provision("SUB-2")
    saved, now = plan(hostile, kept), plan(kept, digest="sha256:e")
    said = resuming(saved, now, "p.json", (hostile.id,))
    assert "\x1b" not in said
    assert "provision:SUB-1\\x1b[2J:focus" in said


def test_thousands_of_dropped_changes_are_not_all_listed() -> None:
    dropped = tuple(provision(f"SUB-{i:05d}") for i in range(5_000))
    saved = plan(*dropped)
    said = nothing_left(
        saved,
        msgspec.structs.replace(saved, changes=(), desired_digest="sha256:e"),
        "p.json",
        tuple(c.id for c in dropped),
    )
    assert len(said) < 3_000
    assert "more characters)" in said
