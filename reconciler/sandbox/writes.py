"""What each write does to the console, once its rules pass. Runs inside the write's transaction.

Creating a site and provisioning an app are asynchronous, as in the real console: the request
leaves a `pending` operation that completes `delay` seconds later (lazily, on the next read or
write of the database). Cancel and reactivate take effect at once.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

from msgspec import Struct

from reconciler.model import Operation, OperationStatus, Status
from reconciler.sandbox import rules
from reconciler.sandbox.damage import stored_values
from reconciler.sandbox.lifecycle import add_years, renew_until


class Clock(Struct, frozen=True):
    """The two times a write needs: wall time (operation delays) and the console's date (terms)."""

    wall: float
    today: dt.date
    delay: float


#: What an operation is about: (subscription, app, site, org), None where it does not apply.
Subject = tuple[str | None, str | None, str | None, str | None]


def subject(
    subscription: str | None = None, app: str | None = None, site: str | None = None, org: str | None = None
) -> Subject:
    return (subscription, app, site, org)


class Outcome(Struct, frozen=True):
    """The operation that answers a request, and whether the request changed anything."""

    operation: str
    effect: bool
    #: the operation as the request made it, when it made one now: the answer without reading it back
    made: Operation | None = None


def _insert_operation(
    db: sqlite3.Connection,
    kind: str,
    actor: str | None,
    clock: Clock,
    *,
    status: OperationStatus,
    about: Subject,
    error: tuple[str | None, str | None] = (None, None),
) -> str:
    op_id = f"op-{uuid.uuid4().hex}"
    db.execute(
        "INSERT INTO operations (id, kind, actor, subscription, app, site, org, status, due, created,"
        " error_code, error_detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (op_id, kind, actor, *about, str(status), clock.wall + clock.delay, clock.wall, *error),
    )
    return op_id


def _done(db: sqlite3.Connection, kind: str, actor: str | None, clock: Clock, about: Subject) -> str:
    """An operation that completed within its request (cancel, reactivate, or nothing to do)."""
    return _insert_operation(db, kind, actor, clock, status=OperationStatus.SUCCEEDED, about=about)


def _start(db: sqlite3.Connection, kind: str, actor: str | None, clock: Clock, about: Subject) -> Outcome:
    if clock.delay > 0:
        pending = OperationStatus.PENDING
        op_id = _insert_operation(db, kind, actor, clock, status=pending, about=about)
        return Outcome(op_id, True, Operation(op_id, pending))
    # No delay: done inside this transaction, so the caller learns the outcome at once. Stored done
    # from the start, the operation never enters (and leaves) the pending indexes.
    # The request's rules read the subscription in this transaction: it is there, and active.
    error = _take_effect(db, kind, about, checked=True)
    status = OperationStatus.SUCCEEDED if error[0] is None else OperationStatus.FAILED
    op_id = _insert_operation(db, kind, actor, clock, status=status, about=about, error=error)
    return Outcome(op_id, True, Operation(op_id, status, *error))


# --- completing asynchronous operations ------------------------------------------------------------


def _finish(db: sqlite3.Connection, op_id: str, code: str | None = None, detail: str | None = None) -> None:
    status = OperationStatus.SUCCEEDED if code is None else OperationStatus.FAILED
    db.execute(
        "UPDATE operations SET status = ?, error_code = ?, error_detail = ? WHERE id = ?",
        (str(status), code, detail, op_id),
    )


def complete(db: sqlite3.Connection, op_id: str, kind: str, about: Subject) -> None:
    _finish(db, op_id, *_take_effect(db, kind, about))


def _take_effect(
    db: sqlite3.Connection, kind: str, about: Subject, *, checked: bool = False
) -> tuple[str | None, str | None]:
    """What a finished operation does to the console; the error (code, detail) if it failed.
    `checked`: the subscription was read live in this transaction (a provision done at once)."""
    subscription, app, site, org = about
    if kind == "create-site":
        db.execute("INSERT INTO sites (name, org, jira, sandbox) VALUES (?, ?, NULL, 0)", (site, org))
        return None, None
    if not checked:  # completed later: the subscription may have been deleted meanwhile
        row = db.execute("SELECT status FROM subscriptions WHERE id = ?", (subscription,)).fetchone()
        if row is None or row[0] == Status.DELETED:
            return "retention", f"{subscription} was deleted before its {app} was provisioned"
    db.execute(
        "INSERT INTO subscription_apps (subscription, app, site) VALUES (?, ?, ?)"
        " ON CONFLICT (subscription, app) DO UPDATE SET site = excluded.site",
        (subscription, app, site),
    )
    return None, None


def complete_due(db: sqlite3.Connection, wall: float) -> int:
    """Complete every pending operation whose time has come, oldest first. Returns how many."""
    due = db.execute(
        "SELECT id, kind, subscription, app, site, org FROM operations"
        " WHERE status = 'pending' AND due <= ? ORDER BY due, id",
        (wall,),
    ).fetchall()
    for op_id, kind, subscription, app, site, org in due:
        complete(db, op_id, kind, subject(subscription, app, site, org))
    return len(due)


def any_due(db: sqlite3.Connection, wall: float) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM operations WHERE status = 'pending' AND due <= ? LIMIT 1", (wall,)
        ).fetchone()
        is not None
    )


# --- the writes ------------------------------------------------------------------------------------


def create_site(db: sqlite3.Connection, actor: str | None, org: str, name: str, clock: Clock) -> Outcome:
    rules.require_org(db, org)
    rules.require_org_admin(db, actor, org)
    pending = rules.pending_site_creation(db, name)
    if pending is not None:
        if pending[1] == org:
            # A re-run after a crash converges on the creation already under way, whatever its key.
            return Outcome(pending[0], effect=False)
        raise rules.refuse("site-name", f"site {name} is being created in org {pending[1]}")
    live = rules.site(db, name)
    if live is not None and live.org == org:
        # Its creation finished between the caller's plan and this request: done, not a conflict.
        return Outcome(_done(db, "create-site", actor, clock, subject(site=name, org=org)), effect=False)
    rules.require_new_site_name(db, name)
    return _start(db, "create-site", actor, clock, subject(site=name, org=org))


def provision(
    db: sqlite3.Connection, actor: str | None, sub_id: str, app: str, site: str, clock: Clock
) -> Outcome:
    rules.known_app(app)
    sub = rules.subscription(db, sub_id)
    rules.require_billing_admin(db, actor, sub)
    rules.require_app_in_product(sub, app)
    rules.require_not_migration(sub)
    rules.require_provisionable_status(sub)
    target = rules.require_live_site(db, site)
    # Before org-admin: an actor who is both billing admin and org admin would always satisfy it.
    rules.require_partner_in_org(db, sub.billing_account, target.org)
    rules.require_org_admin(db, actor, target.org)
    already = _already_there(db, actor, sub_id, app, site, clock)
    if already is not None:
        return already
    rules.require_premium_site(target, app)
    rules.require_one_per_org(db, target, app, sub_id)
    return _start(db, "provision", actor, clock, subject(sub_id, app, site, target.org))


def _already_there(
    db: sqlite3.Connection, actor: str | None, sub_id: str, app: str, site: str, clock: Clock
) -> Outcome | None:
    """The app is already on (or on its way to) a site: the same one is a no-op, another a move."""
    pending = rules.pending_provision(db, sub_id, app)
    row = db.execute(
        "SELECT site FROM subscription_apps WHERE subscription = ? AND app = ?", (sub_id, app)
    ).fetchone()
    current = pending[1] if pending is not None else (row[0] if row is not None else None)
    if current is None:
        return None
    if current != site:
        verb = "is being provisioned" if pending is not None else "is provisioned"
        raise rules.refuse(
            "no-move",
            f"{app} of {sub_id} {verb} to {current}; moving it to {site} is a support case, not self-service",
        )
    if pending is not None:
        return Outcome(pending[0], effect=False)
    return Outcome(_done(db, "provision", actor, clock, subject(sub_id, app, site)), effect=False)


def cancel(db: sqlite3.Connection, actor: str | None, sub_id: str, clock: Clock) -> Outcome:
    sub = rules.subscription(db, sub_id)
    rules.require_billing_admin(db, actor, sub)
    if sub.status == Status.DELETED:
        raise rules.refuse("retention", f"{sub_id} was deleted: there is nothing left to cancel")
    if sub.status in (Status.CANCELLED, Status.DEACTIVATED):
        return Outcome(_done(db, "cancel", actor, clock, subject(sub_id)), effect=False)
    db.execute("UPDATE subscriptions SET status = 'cancelled' WHERE id = ?", (sub_id,))
    return Outcome(_done(db, "cancel", actor, clock, subject(sub_id)), effect=True)


def reactivate(db: sqlite3.Connection, actor: str | None, sub_id: str, clock: Clock) -> Outcome:
    sub = rules.subscription(db, sub_id)
    rules.require_billing_admin(db, actor, sub)
    if sub.status == Status.DELETED:
        raise rules.refuse(
            "retention",
            f"{sub_id} was deleted: reactivation is only possible before the data is deleted",
        )
    if sub.status in (Status.ACTIVE, Status.UPCOMING):
        return Outcome(_done(db, "reactivate", actor, clock, subject(sub_id)), effect=False)
    if sub.status == Status.CANCELLED:
        # Undoing a cancellation keeps the term; one that already ended renews, as it would have.
        term_end = renew_until(_date(sub.term_end), clock.today)
    else:
        term_end = add_years(clock.today)
    db.execute(
        "UPDATE subscriptions SET status = 'active', deactivated_on = NULL, term_end = ? WHERE id = ?",
        (None if term_end is None else term_end.isoformat(), sub_id),
    )
    return Outcome(_done(db, "reactivate", actor, clock, subject(sub_id)), effect=True)


def _date(text: str | None) -> dt.date | None:
    with stored_values():
        return None if text is None else dt.date.fromisoformat(text)
