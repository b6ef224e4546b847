"""The pipeline plan and apply share: load desired state, observe the console, plan.

Desired state is loaded first, so invalid files fail before any provider is contacted; a
sandbox console that exists already (a local file) is read meanwhile, in a child process or on a
thread, and what that read gives or raises is used only once the files are loaded. The provider
is closed whatever happens.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from msgspec import Struct

from reconciler.errors import Interrupted, ReconcilerError
from reconciler.gc_pause import cycle_collector_paused
from reconciler.interrupts import end_child, ends_with_this_process
from reconciler.lifetime import keep_until_exit
from reconciler.model import Console, DesiredState, Plan
from reconciler.options import GlobalOptions
from reconciler.planning import plan_changes
from reconciler.providers.base import Provider, ProviderSettings
from reconciler.secrets import scrub, without_credentials
from reconciler.terminal import color_enabled


class PlanRun(Struct, frozen=True):
    plan: Plan
    desired: DesiredState
    console: Console


def make_plan(options: GlobalOptions, paths: Sequence[str], *, fingerprint: bool = True) -> PlanRun:
    with planning(options, paths, fingerprint=fingerprint) as (planned, _):
        return planned


class Opened(Struct, frozen=True):
    """A provider opened earlier, and the console it observed then (or what observing it raised)
    if that still stands."""

    provider: Provider
    observed: Console | Exception | None


@contextmanager
def planning(
    options: GlobalOptions,
    paths: Sequence[str],
    *,
    fingerprint: bool = True,
    ahead: ReadAhead | None = None,
    opened: Opened | None = None,
) -> Iterator[tuple[PlanRun, Provider]]:
    """Load, observe and plan, and keep the provider open for the caller until the block ends.

    apply executes and verifies through the provider it planned with, instead of opening another.
    With fingerprint=False the plan's observed_fingerprint is "": for a caller that neither shows
    nor saves it (hashing the whole console is a third of planning). With `ahead`, the desired
    state read earlier is used (or what reading it raised is raised) where it would be loaded.
    With `opened`, its provider is used (and closed when the block ends, whatever happens) and
    what it observed, when there is that, instead of observing again.
    """
    from reconciler.providers import open_provider

    with cycle_collector_paused(freeze=True):
        reading = (
            LocalRead.start(provider_settings(options, paths)) if opened is None and ahead is None else None
        )
        try:
            desired = load(paths, ahead)
        except BaseException as error:
            if opened is not None:
                opened.provider.close()
            if reading is not None:
                reading.abandon(waited=not isinstance(error, (KeyboardInterrupt, Interrupted)))
            raise
        if reading is not None:
            opened = reading.opened()
        provider = open_provider(provider_settings(options, paths)) if opened is None else opened.provider
        try:
            console = observed(provider, opened)
            plan = plan_changes(
                desired, console, paths=paths, provider=public_provider(options), fingerprint=fingerprint
            )
        except BaseException:
            provider.close()
            raise
    run = PlanRun(plan, desired, console)
    keep_until_exit(run)  # freed with the process, not object by object (reconciler/lifetime.py)
    try:
        yield run, provider
    finally:
        provider.close()


class LocalRead:
    """A sandbox console's whole read, on a thread while the desired state is loaded (where a
    `ForkedRead` cannot be: this process has other threads, or no fork).

    Both are CPU work in one interpreter, but SQLite lets go of the interpreter while it steps
    through rows, so the two overlap by about half the read (~0.1 s of a 10,000-subscription plan).
    Only for a console whose database exists already: creating one prints that it did, and would
    do so before the files' diagnostics. Nothing of the thread's is ever printed; what opening or
    reading raised is raised where planning opens or observes, after the files are loaded.
    """

    def __init__(self, settings: ProviderSettings) -> None:
        self._settings = settings
        self._provider: Provider | None = None
        self._outcome: Console | Exception | None = None
        self._thread = threading.Thread(target=self._read, name="console-read", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, settings: ProviderSettings) -> LocalRead | ForkedRead | None:
        """The read under way, in a child process where this process has one thread, else on a
        thread; None when the console is read only after the files."""
        if settings.url.partition(":")[0].lower() != "sandbox":
            return None  # another provider: its modules are not imported here
        from reconciler.sandbox.database import database_exists
        from reconciler.sandbox.location import sandbox_path

        try:
            if not database_exists(sandbox_path(settings.url)):
                return None  # made from the example when opened, which says so
        except (ReconcilerError, OSError, ValueError):  # refused by opening, in its own words
            return None
        forked = ForkedRead.start(settings) if _can_fork() else None
        return forked or cls(settings)

    def _read(self) -> None:
        from reconciler.providers import open_provider

        try:
            self._provider = open_provider(self._settings)
            self._outcome = self._provider.observe()
        except Exception as error:
            self._outcome = error
        except BaseException:  # never printed: planning opens and observes again
            self._outcome = None

    def opened(self) -> Opened | None:
        """The provider and what it observed (or raised); None when opening it raised: planning
        opens it again and reports that as before."""
        self._thread.join()
        if self._provider is None:
            return None
        return Opened(self._provider, self._outcome)

    def abandon(self, *, waited: bool) -> None:
        """Close what the thread opened once it is done; after a signal, leave it to its daemon
        thread instead of waiting for the read."""
        if waited:
            self._thread.join()
            if self._provider is not None:
                self._provider.close()


class ForkedRead:
    """The sandbox console's read in a child process, on the other core, while this one loads the
    desired state: the read costs this process only the loading of what the child sends (about a
    third of the read itself), where a thread shares one interpreter with the loading.

    The child is a copy of this process: it reads, sends the console through a pipe only the two
    hold, and ends without running anything of this process's exit. Whatever goes wrong in it
    (a damaged file, a signal, a full pipe's reader gone) is not reported by it: this process then
    opens and reads the console itself, and reports that in its own words. Used only while this
    process has a single thread: a fork copies another thread's locks, held, and not the thread.
    The child never outlives the command: when this process stops early (a signal, an error) it
    ends the child (it only reads, and SQLite survives a reader or a writer killed mid-way).
    """

    def __init__(self, settings: ProviderSettings, pid: int, pipe: int) -> None:
        self._settings = settings
        self._pid = pid
        self._pipe = pipe

    @classmethod
    def start(cls, settings: ProviderSettings) -> ForkedRead | None:
        """The child under way; None when no child could be made (no process or pipe to spare)."""
        try:
            readable, writable = os.pipe()
        except OSError:
            return None
        pid = 0
        # Held across the fork: a Ctrl-C in between would run this process's handler in the
        # child too (its KeyboardInterrupt, its "interrupted" line on the terminal).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
            pid = os.fork()
            if pid == 0:
                _read_in_child(settings, readable, writable, mask)
            ends_with_this_process(pid)  # a signal that ends this process at once ends it too
        except OSError:  # EAGAIN (a process limit), ENOMEM: no child, and nothing is lost
            os.close(readable)
            return None
        except BaseException:
            os.close(readable)
            if pid:
                end_child(pid)
            raise
        finally:
            os.close(writable)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return cls(settings, pid, readable)

    def _received(self) -> Console | None:
        import pickle

        try:
            with open(self._pipe, "rb", closefd=True) as pipe:
                try:
                    # From this process's own copy, through a pipe no other process holds: not
                    # outside input. Loaded as it comes, never held whole (20 MB at 100,000).
                    console: Console | None = pickle.load(pipe)
                except Exception:  # the child ended before it sent it all
                    console = None
        except BaseException:  # a signal while the child reads or sends: it ends with this process
            end_child(self._pid)
            raise
        # A console that loaded whole is the child's whole read, whatever its end says (a SIGCHLD
        # ignored by whoever started this process reaps the child before it can be waited for).
        return console if _exited_cleanly(self._pid) or console is not None else None

    def opened(self) -> Opened | None:
        """As `LocalRead.opened`: the provider, opened here, and what the child observed; when the
        child read nothing, planning observes through that provider and reports what it raises."""
        from reconciler.providers import open_provider

        console = self._received()
        try:
            provider = open_provider(self._settings)
        except Exception:
            return None
        return Opened(provider, console)

    def abandon(self, *, waited: bool) -> None:
        """Nothing of the read is wanted (the files are invalid, or a signal came): the child is
        ended at once rather than waited for, so the files' diagnostics come without its delay."""
        os.close(self._pipe)
        end_child(self._pid)


_STOPPING = (signal.SIGINT, signal.SIGTERM)


def _can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def _exited_cleanly(pid: int) -> bool:
    """Wait for the child; whether it ended with exit 0."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped already: SIGCHLD is ignored in this process
        ends_with_this_process(pid, ended=True)
        return False
    except BaseException:
        end_child(pid)
        raise
    ends_with_this_process(pid, ended=True)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _read_in_child(settings: ProviderSettings, readable: int, writable: int, mask: Iterable[int]) -> NoReturn:
    code = 1
    try:
        import pickle

        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)  # Ctrl-C reaches the whole group: end with it
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(readable)
        quiet = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):  # never hold the command's output open, never write to it
            os.dup2(quiet, stream)
        from reconciler.providers import open_provider

        provider = open_provider(settings)
        try:
            console = provider.observe()
        finally:
            provider.close()
        # Made whole before any of it is sent: made piece by piece into the pipe, it would be made
        # only as fast as this process loads it, after the files, instead of while they load.
        data = memoryview(pickle.dumps(console, protocol=pickle.HIGHEST_PROTOCOL))
        while data:
            data = data[os.write(writable, data) :]
        code = 0
    finally:
        os._exit(code)


def observed(provider: Provider, opened: Opened | None) -> Console:
    if opened is None or opened.observed is None:
        return provider.observe()
    if isinstance(opened.observed, Exception):
        raise opened.observed
    return opened.observed


def provider_settings(options: GlobalOptions, paths: Sequence[str]) -> ProviderSettings:
    """The provider's settings; the billing facts default to billing/ beside the desired state."""
    settings = options.provider_settings()
    if settings.facts is None:
        from reconciler.loading.facts import default_facts_path

        settings = dataclasses.replace(settings, facts=default_facts_path(paths))
    return settings


@dataclasses.dataclass(frozen=True)
class ReadAhead:
    """Desired state read before it is needed, or what reading it raised: held, unreported, until
    `load` reports it where it would have read the files."""

    outcome: DesiredState | Exception


def read_ahead(paths: Sequence[str]) -> ReadAhead:
    """Read and check the desired state now, printing nothing and raising nothing but a signal's stop."""
    from reconciler.loading.desired import PLANNED_RULES, load_desired

    try:
        with cycle_collector_paused(freeze=True):
            return ReadAhead(load_desired(paths, planned_rules=PLANNED_RULES))
    except Interrupted:
        raise
    except Exception as error:
        return ReadAhead(error)


def warm_positions(ahead: ReadAhead, answered: Callable[[], bool]) -> None:
    """While a console's answer is awaited: prepare where each subscription was declared, in order,
    until `answered()`. A plan then places each change's lines in microseconds instead of tens."""
    from reconciler.loading.desired import ItemOrigin

    desired = ahead.outcome
    if isinstance(desired, Exception):
        return
    for subscription in desired.subscriptions.values():
        if answered():
            return
        origin = subscription.origin
        if isinstance(origin, ItemOrigin):
            origin.doc.warm(origin.section, origin.index)


def load(paths: Sequence[str], ahead: ReadAhead | None = None) -> DesiredState:
    """Desired state; when invalid, every diagnostic goes to stderr before the error propagates.

    A file that breaks only rules the planner reports (a new site's name, an app outside its
    product) loads: the plan shows those as blocked, in every format, and exits 1 for them.
    """
    from reconciler.loading.desired import PLANNED_RULES, InvalidDesiredState, load_desired

    try:
        if ahead is None:
            return load_desired(paths, planned_rules=PLANNED_RULES)
        if isinstance(ahead.outcome, Exception):
            raise ahead.outcome
        return ahead.outcome
    except InvalidDesiredState as exc:
        from reconciler.rendering.diagnostics import render_diagnostics

        color = color_enabled(sys.stderr)
        sys.stderr.write(render_diagnostics(exc.diagnostics, "text", exc.files, color=color))
        raise


def observe(options: GlobalOptions) -> Console:
    """One consistent read of the console through the configured provider."""
    from reconciler.providers import open_provider

    provider = open_provider(options.provider_settings())
    try:
        return provider.observe()
    finally:
        provider.close()


def public_provider(options: GlobalOptions) -> str:
    """The provider URL as it may be shown and saved: no userinfo, query or fragment, never the token."""
    return scrub(without_credentials(options.provider), options.token)
