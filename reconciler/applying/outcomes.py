"""What executing a change came to, and how a change is named in logs and the journal."""

from __future__ import annotations

import hashlib
from enum import StrEnum

import msgspec

from reconciler.model import Action, Change


class ChangeOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # a change it depends on did not succeed
    INTERRUPTED = "interrupted"
    NOT_STARTED = "not started"  # the run stopped before its turn


class ChangeResult(msgspec.Struct, frozen=True):
    change: Change
    outcome: ChangeOutcome
    attempts: int
    seconds: float
    error_code: str | None = None
    error_message: str | None = None
    operation_id: str | None = None

    @property
    def error(self) -> str | None:
        if self.error_code is None:
            return None
        return f"[{self.error_code}] {self.error_message}" if self.error_message else f"[{self.error_code}]"


def idempotency_key(run_id: str, plan_checksum: str, change_id: str) -> str:
    """The same key for every try of one change in one run, and never again.

    A key the console has seen returns the operation it made then. So a later run that makes the
    same change again (a reactivated subscription cancelled once more) needs a key of its own;
    a re-run after a crash is kept safe by re-planning, not by reusing keys.
    """
    return hashlib.sha256(f"{run_id}\n{plan_checksum}\n{change_id}".encode()).hexdigest()


def subject(change: Change) -> str:
    """What a change acts on, for people: `SUB-1001 focus -> acme`, `acme-align (acme-corp)`."""
    if change.action is Action.CREATE_SITE:
        return f"{change.site} ({change.org})"
    if change.action is Action.PROVISION:
        return f"{change.subscription} {change.app} -> {change.site}"
    return str(change.subscription)


def describe(change: Change) -> str:
    return f"{change.action} {subject(change)}"
