"""An apply that waits for the lock plans from the files as they are once it holds it."""

from __future__ import annotations

import selectors
from typing import IO

from reconciler.store.locking import acquire
from tests.apply.conftest import Estate

INVALID = "version: 1\nsubscriptions:\n  - id: 5\n"


def first_line(stream: IO[str] | None, timeout: float) -> str:
    assert stream is not None
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        assert selector.select(timeout), f"nothing written in {timeout}s"
    return stream.readline()


def test_files_changed_while_apply_waits_for_the_lock_are_read_once_it_holds_it(estate: Estate) -> None:
    store = estate.store()
    held = acquire(store, estate.console_name, "20261202-000000-abcdef", 0)
    try:
        waiting = estate.start("apply", "--auto-approve", "--lock-timeout", "60")
        notice = first_line(waiting.stderr, timeout=30)
        assert notice.startswith(f"waiting up to 60s for the lock on {estate.console_name}, held by ")
        (estate.root / "desired-state" / "bad.yaml").write_text(INVALID)
    finally:
        held.release()
        store.close()
    out, err = waiting.communicate(timeout=60)
    assert (waiting.returncode, out) == (1, "")
    assert err == (
        "desired-state/bad.yaml:3:9: error[schema]: expected a string, got the integer 5\n"
        "  hint: quote it to keep it a string, as written: '5'\n"
        "1 error in 1 file\n"
        "error: desired state is invalid: 1 error in 1 file\n"
        "hint: fix the files; `reconciler validate` checks them without contacting the console\n"
    )
    assert estate.writes() == 0
