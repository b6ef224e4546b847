"""Ending the process without freeing, object by object, what it built.

A plan of a big estate holds a million small objects; freeing them one by one when the command
returns, and again when the interpreter tears its modules down, takes as long as a stage of the
plan itself (a tenth of a second at 100,000 subscriptions), for memory the operating system takes
back at once anyway. So the CLI keeps its large values alive until the end and leaves with
`os._exit` once the output is flushed and nothing else runs (nor a profiler that reports at
exit). Where `logging` was imported (the HTTP client's thread pool imports it), its handlers are
flushed and closed first, as its own exit hook would. A caller that embeds the package (tests, a
library user) never gets here: only `reconciler.cli.main` calls `exit_now`.
"""

from __future__ import annotations

import os
import sys
import threading

_kept: list[object] = []


def keep_until_exit(value: object) -> None:
    """Let `value` live until the process ends instead of being freed when its last user returns."""
    _kept.append(value)


def exit_now(code: int) -> None:
    """Exit with `code`; skip the teardown when it is safe to: only this thread runs, output is out."""
    # A profiler or a tracer (pyinstrument, cProfile, coverage) reports at the interpreter's exit.
    observed = sys.getprofile() is not None or sys.gettrace() is not None
    if threading.active_count() == 1 and not observed:
        try:
            if "logging" in sys.modules:
                sys.modules["logging"].shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream: the interpreter's own exit reports it as it always does
        else:
            os._exit(code)
    _kept.clear()
    sys.exit(code)
