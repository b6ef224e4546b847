"""One of two processes writing the same sandbox database at once (run by test_concurrency.py).

Usage: python race_worker.py DATABASE WORKER GO_FILE COUNT
Waits for GO_FILE to appear so both workers start together, races the other worker for one
site and one org slot, then makes 2 x COUNT distinct writes. Prints what happened as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from reconciler.errors import ProviderError
from reconciler.model import Operation
from reconciler.sandbox import SandboxConsole

ACTOR = "alice@acme.example"


def outcome(write: Callable[[], Operation]) -> str:
    try:
        write()
    except ProviderError as refused:
        return refused.code
    return "ok"


def main(database: str, worker: str, go_file: str, count: int) -> None:
    console = SandboxConsole(Path(database))
    while not Path(go_file).exists():
        time.sleep(0.001)
    site = outcome(lambda: console.create_site(ACTOR, "acme-corp", "contested", f"{worker}-site"))
    slot = outcome(lambda: console.provision(ACTOR, f"SUB-RACE-{worker}", "focus", "acme", f"{worker}-slot"))
    distinct: list[str] = []
    for i in range(count):
        name, sub = f"{worker}-site-{i}", f"SUB-{worker}-{i}"
        distinct.append(outcome(partial(console.create_site, ACTOR, "acme-corp", name, f"{worker}-c{i}")))
        distinct.append(outcome(partial(console.cancel, ACTOR, sub, f"{worker}-x{i}")))
    console.close()
    print(json.dumps({"contested-site": site, "contested-slot": slot, "distinct": distinct}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
