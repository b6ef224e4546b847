"""`reconciler apply`: lock, re-plan, check the approval, execute, verify, record every step.

Each step that refuses raises `Refusal` before anything is written to the console; the run is
recorded in the state store whatever happens, and the lock is always given back.
"""

from __future__ import annotations

import importlib
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.applying.approval import (
    Refusal,
    ask,
    check_cancels_allowed,
    check_checksum,
    check_checksum_of_saved,
    check_not_blocked,
    check_saved_plan,
)
from reconciler.applying.attempts import ChangeRunner, PollPolicy, operation_timeout
from reconciler.applying.early import EarlyObservation, observe_early
from reconciler.applying.executor import ExecutionReport, execute
from reconciler.applying.inflight import InProgressWait
from reconciler.applying.outcomes import ChangeOutcome
from reconciler.applying.progress import progress_for
from reconciler.applying.resumption import nothing_left, resuming
from reconciler.applying.signals import StopSignals
from reconciler.applying.summary import counts, interrupted_message, render_summary
from reconciler.applying.verify import Verification, verify
from reconciler.errors import EXIT_OK, EXIT_WAITING, Interrupted, ReconcilerError
from reconciler.model import Console, DesiredState, Plan
from reconciler.options import DEFAULT_PATHS, GlobalOptions
from reconciler.pipeline import (
    Opened,
    PlanRun,
    ReadAhead,
    planning,
    provider_settings,
    public_provider,
    read_ahead,
    warm_positions,
)
from reconciler.planning import plan_changes
from reconciler.providers.base import Provider
from reconciler.providers.registry import ask_lock_name, open_provider
from reconciler.secrets import scrub
from reconciler.store import LockRecord, NewRun, RunOutcome, StateStore, format_time, open_store
from reconciler.store.identity import ci_commit, owner_of_this_process
from reconciler.store.locking import HeldLock, acquire, format_seconds, lock_ttl
from reconciler.terminal import color_enabled, info, plural

if TYPE_CHECKING:
    from reconciler.applying.runbook import RunbookSettings

ENV_ALLOW_CANCEL_OF = "RECONCILER_ALLOW_CANCEL_OF"
#: Work in progress is waited for this many times at most: more would mean someone else keeps
#: starting work on the console while apply holds its lock.
MAX_WAIT_ROUNDS = 3


def run(
    options: GlobalOptions,
    paths: tuple[str, ...],
    *,
    plan_file: str | None,
    checksum: str | None,
    allow_cancel: bool,
    parallelism: int,
    lock_timeout: float,
    auto_approve: bool,
    allow_cancel_of: tuple[str, ...] = (),
) -> int:
    # Read when a change waits for its console, and refused now: a bad value must not hide until
    # the day there is something to apply.
    operation_timeout()
    lock_ttl()
    saved = None
    if plan_file is not None:
        # Imported only for a saved plan: it loads the YAML parser, which is otherwise imported
        # while the console answers the first requests.
        from reconciler.planning.planfile import paths_in_working_tree, read_plan

        saved = read_plan(plan_file)
        if not paths and saved.paths:
            paths = paths_in_working_tree(plan_file, saved.paths)
    request = ApplyRequest(
        options=options,
        paths=paths or DEFAULT_PATHS,
        plan_file=plan_file,
        saved=saved,
        checksum=checksum,
        allow_cancel=allow_cancel,
        allow_cancel_of=cancels_allowed_by_name(allow_cancel_of),
        parallelism=parallelism,
        lock_timeout=lock_timeout,
        auto_approve=auto_approve,
    )
    if saved is not None and checksum is not None:
        check_checksum_of_saved(checksum, saved)  # before the lock: nothing to wait for
    store = open_store(options.state)
    try:
        with StopSignals() as signals:
            return Apply(request, store, signals).run()
    finally:
        store.close()


@dataclass(frozen=True)
class ApplyRequest:
    options: GlobalOptions
    paths: Sequence[str]
    plan_file: str | None
    saved: Plan | None
    checksum: str | None
    allow_cancel: bool
    allow_cancel_of: frozenset[str]
    parallelism: int
    lock_timeout: float
    auto_approve: bool


def cancels_allowed_by_name(flags: tuple[str, ...]) -> frozenset[str]:
    """--allow-cancel-of (repeatable) and RECONCILER_ALLOW_CANCEL_OF (comma-separated), together."""
    named = [*flags, *os.environ.get(ENV_ALLOW_CANCEL_OF, "").split(",")]
    return frozenset(name.strip() for name in named if name.strip())


def new_run_id() -> str:
    """Sortable by time, unique across hosts: `20261121-120003-a1b2c3`."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


class Apply:
    def __init__(self, request: ApplyRequest, store: StateStore, signals: StopSignals) -> None:
        self.request = request
        self.store = store
        self.signals = signals
        self.run_id = new_run_id()
        # Approved changes no longer planned and not done on the console (set by the approval check).
        self.dropped: tuple[str, ...] = ()
        # One lock per console, named the way plans name it: without any credential.
        self.provider_name = public_provider(request.options)
        # ...and taken on the console however it is reached: by the identity it states, else by its URL.
        answer = ask_lock_name(request.options.provider_settings(), self.provider_name)
        # Meanwhile the console is observed, kept only if no other run can have come between
        # (reconciler/applying/early.py), and the desired state is read and checked. Nothing of it
        # is shown or sent before the lock is held: planning reports it then, as if read then.
        self.early = None if answer.answered() else self._observe_early()
        self.ahead: ReadAhead | None = read_ahead(request.paths)
        early = self.early
        if early is not None:
            # A remote console's answers take a round trip: the plan's renderer is imported
            # meanwhile, not between planning and executing, where it would hold up every change.
            importlib.import_module("reconciler.rendering.text")
        warm_positions(self.ahead, lambda: answer.answered() and (early is None or early.done()))
        self.lock_name = answer.wait()

    def _observe_early(self) -> EarlyObservation | None:
        try:
            provider = open_provider(provider_settings(self.request.options, self.request.paths))
        except Exception:  # opened again for planning, which reports what is wrong
            return None
        if not provider.capabilities.remote:
            provider.close()
            return None
        return observe_early(provider, self.store)

    def run(self) -> int:
        try:
            return self._run()
        finally:
            if self.early is not None:  # planning never took it over
                # An observation still under way is left to its daemon thread, never waited for.
                self.early.provider.close()

    def _run(self) -> int:
        held = self._lock()
        held.start_heartbeat(on_lost=self.signals.stop.set)
        try:
            outcome, message = self._apply(held)
        except Refusal as refusal:
            self._finish(RunOutcome.REFUSED, refusal.message.splitlines()[0])
            raise
        except Interrupted as interrupted:
            self._finish(RunOutcome.INTERRUPTED, interrupted.message)
            raise
        except ReconcilerError as error:
            self._finish(RunOutcome.FAILED, error.message.splitlines()[0])
            raise
        except BaseException as error:
            self._finish(RunOutcome.FAILED, f"internal error: {type(error).__name__}")
            raise
        finally:
            held.release()
        self._finish(outcome, message)
        if outcome is RunOutcome.CONVERGED:
            return EXIT_OK
        if outcome is RunOutcome.WAITING:
            return EXIT_WAITING
        if outcome is RunOutcome.INTERRUPTED:
            raise Interrupted(message or "interrupted")
        raise ReconcilerError(
            message or "the apply failed",
            hint=f"'reconciler history --run {self.run_id}' shows every attempt; fix the cause and apply "
            "again: what succeeded is not repeated",
        )

    def _new_run(self) -> NewRun:
        return NewRun(
            id=self.run_id,
            started=time.time(),
            actor=self.request.options.actor,
            user=owner_of_this_process(),
            provider=self.provider_name,
            lock_name=self.lock_name,
            commit=ci_commit(checkout=self.request.paths[0] if self.request.paths else None),
            paths=tuple(self.request.paths),
        )

    def _lock(self) -> HeldLock:
        timeout = self.request.lock_timeout

        def waiting(holder: LockRecord) -> None:
            # The files and the console may change while apply waits: both are read once it holds the lock.
            self.ahead = None
            info(
                f"waiting up to {format_seconds(timeout)} for the lock on {holder.name}, held by "
                f"{holder.owner} (run {holder.run_id}) since {format_time(holder.acquired)}"
            )

        try:
            held = acquire(
                self.store, self.lock_name, self.run_id, timeout, stop=self.signals.stop, on_wait=waiting
            )
        except ReconcilerError as error:
            self.store.start_run(self._new_run())
            outcome = RunOutcome.INTERRUPTED if isinstance(error, Interrupted) else RunOutcome.REFUSED
            self._finish(outcome, error.message)
            raise
        if self.early is not None and self.ahead is not None:  # taken at once, without waiting
            self.early.confirm(self.store, self.lock_name)
        self.store.start_run(self._new_run())
        return held

    def _finish(self, outcome: RunOutcome, message: str | None) -> None:
        if message is not None:
            message = scrub(message, self.request.options.token)
        try:
            self.store.finish_run(self.run_id, outcome, time.time(), message)
        except ReconcilerError as error:
            # The run's own error matters more; once its lock is gone, history shows it abandoned.
            info(f"warning: run {self.run_id} could not be recorded as {outcome}: {error.message}")

    def _apply(self, held: HeldLock) -> tuple[RunOutcome, str | None]:
        request = self.request
        # One provider for planning, executing and verifying: opened once, its connections warm.
        # apply compares checksums and changes, never the observed fingerprint: it is not computed.
        opened, self.early = self._opened_early(), None  # planning closes it from here on
        with planning(request.options, request.paths, fingerprint=False, ahead=self.ahead, opened=opened) as (
            planned,
            provider,
        ):
            plan = planned.plan
            runbook = (
                None if provider.capabilities.writes else runbook_settings(request.options, request.paths)
            )
            self.store.record_plan(self.run_id, plan.checksum, plan.actor)
            self._check(plan, planned.console)
            plan = self._after_work_in_progress(plan, planned.desired, provider)
            if not plan.changes:
                sys.stdout.write(self._nothing_to_do(plan))
                return RunOutcome.CONVERGED, "no changes"
            from reconciler.rendering.text import render_text

            rendered = render_text(plan, color=color_enabled(sys.stdout))
            if request.auto_approve or request.saved is not None or request.checksum is not None:
                # Approved already: still show what is about to happen, so a CI log says it.
                sys.stdout.write(self._resuming(plan) + rendered + "\n")
            else:
                ask(plan, lambda _: rendered)
            if runbook is not None:
                return self._by_runbook(plan, planned, provider, runbook)
            report = self._execute(plan, provider)
            if report.stopped:
                sys.stdout.write(render_summary(report, None, self.run_id))
                if held.lost.is_set():
                    return RunOutcome.FAILED, (
                        f"the lock on {self.lock_name} was released by someone else ('reconciler unlock') "
                        f"during the run: stopped starting changes; {counts(report)}"
                    )
                return RunOutcome.INTERRUPTED, interrupted_message(report, self.signals.received)
            # Re-observe and plan the same desired state again: whatever is still planned did not
            # converge. Only the changes are compared, so the fingerprint is not computed.
            after = plan_changes(
                planned.desired,
                provider.observe(),
                paths=plan.paths,
                provider=plan.provider,
                fingerprint=False,
            )
        verification = verify(report, after)
        sys.stdout.write(render_summary(report, verification, self.run_id))
        return _outcome(report, verification)

    def _opened_early(self) -> Opened | None:
        if self.early is None:
            return None
        return Opened(self.early.provider, self.early.outcome())

    def _check(self, plan: Plan, console: Console) -> None:
        request = self.request
        # Blocked first: a change that became blocked since the review is reported with its rule,
        # not as an approved change "no longer needed".
        check_not_blocked(plan)
        if request.saved is not None and request.plan_file is not None:
            if request.saved.provider and request.saved.provider != plan.provider:
                made_for = request.saved.provider
                info(f"warning: the saved plan was made for {made_for}; applying to {plan.provider}")
            self.dropped = check_saved_plan(plan, request.saved, request.plan_file, console)
        elif request.checksum is not None:
            check_checksum(plan, request.checksum)
        check_cancels_allowed(plan, request.allow_cancel, request.allow_cancel_of)
        for name in sorted(request.allow_cancel_of - {c.subscription for c in plan.destructive}):
            info(f"warning: --allow-cancel-of {name}: the plan does not cancel {name}")

    def _after_work_in_progress(self, plan: Plan, desired: DesiredState, provider: Provider) -> Plan:
        """Wait for what the console already has under way, then plan (and check) again.

        Asking again for a site being created would fail once it exists; waiting and re-planning
        turns finished work into no change and failed work into a change made now.
        """
        rounds = 0
        while plan.in_progress and rounds < MAX_WAIT_ROUNDS:
            rounds += 1
            waiting = InProgressWait(
                provider,
                self.store,
                self.run_id,
                PollPolicy(timeout=operation_timeout()),
                self.signals.stop,
                info,
            )
            waiting.wait(plan.in_progress)
            console = provider.observe()
            plan = plan_changes(desired, console, paths=plan.paths, provider=plan.provider, fingerprint=False)
            self.store.record_plan(self.run_id, plan.checksum, plan.actor)
            self._check(plan, console)
        return plan

    def _nothing_to_do(self, plan: Plan) -> str:
        saved = self.request.saved
        if saved is not None and saved.changes:
            return nothing_left(saved, plan, self.request.plan_file or "", self.dropped)
        return "No changes: the console already matches desired state; nothing was applied.\n"

    def _resuming(self, plan: Plan) -> str:
        saved = self.request.saved
        if saved is None:
            return ""
        return resuming(saved, plan, self.request.plan_file or "", self.dropped)

    def _by_runbook(
        self, plan: Plan, planned: PlanRun, provider: Provider, settings: RunbookSettings
    ) -> tuple[RunOutcome, str]:
        from reconciler.applying.runbook import RunbookApply

        with self.signals.deferred() as stop:
            return RunbookApply(
                plan=plan,
                desired=planned.desired,
                console=planned.console,
                provider=provider,
                store=self.store,
                run_id=self.run_id,
                stop=stop,
                confirmer=self.request.options.actor or owner_of_this_process(),
                settings=settings,
            ).run()

    def _execute(self, plan: Plan, provider: Provider) -> ExecutionReport:
        with self.signals.deferred() as stop:
            runner = ChangeRunner(
                provider=provider,
                store=self.store,
                run_id=self.run_id,
                plan_checksum=plan.checksum,
                stop=stop,
                progress=progress_for(sys.stderr),
                poll=PollPolicy(timeout=operation_timeout()),
                secret=self.request.options.token,
            )
            return execute(plan.changes, runner, self.request.parallelism)


def _outcome(report: ExecutionReport, verification: Verification) -> tuple[RunOutcome, str | None]:
    if report.all_succeeded and verification.converged:
        return RunOutcome.CONVERGED, None
    problems = len(report.results) - report.count(ChangeOutcome.SUCCEEDED)
    not_converged = len(verification.not_converged)
    parts = []
    if problems:
        parts.append(f"{problems} of {plural(len(report.results), 'change')} did not succeed")
    if not_converged:
        parts.append(f"{not_converged} did not converge")
    return RunOutcome.FAILED, "; ".join(parts)


def runbook_settings(options: GlobalOptions, paths: Sequence[str]) -> RunbookSettings:
    """Where a runbook goes and how its steps are waited on, for a provider that cannot write."""
    from reconciler.applying.runbook import RunbookSettings
    from reconciler.commands.plan import read_paths

    return RunbookSettings.from_env(read=tuple(read_paths(options, paths)))
