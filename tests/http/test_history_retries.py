"""The journal tells the truth about retries: every write the http provider sends again is an
attempt of its change, so the attempts of a run are exactly the writes the console received."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.store import AttemptOutcome, open_store
from tests.conftest import RunCli
from tests.http.conftest import ServerFactory, http_env

POST = re.compile(
    r"^127\.0\.0\.1 POST (?P<path>/v1/\S+) (?P<status>\S+) \d+ms(?: \(injected: (?P<fault>[a-z-]+)\))?$"
)


@pytest.mark.parametrize("fault_seed", ["3", "11", "42"])
def test_every_write_the_console_received_is_an_attempt(
    estate: Path, serve: ServerFactory, run_cli: RunCli, fault_seed: str
) -> None:
    served = serve("--fail-rate", "0.4", "--seed-faults", fault_seed, env={"RECONCILER_SANDBOX_DELAY": "0"})
    result = run_cli("apply", "--auto-approve", env=http_env(served.url))
    assert result.returncode == 0, result.stderr
    served.stop()
    posts = [m for line in served.log.read_text().splitlines() if (m := POST.match(line))]
    faults = [m for m in posts if m["fault"]]
    store = open_store(f"sqlite:{estate / '.reconciler' / 'state.db'}")
    try:
        (run,) = store.runs(10)
        attempts = store.attempts(run.id)
    finally:
        store.close()
    assert len(attempts) == len(posts)
    assert faults, "the seed injects at least one fault into a write"
    failed = [a for a in attempts if a.outcome is AttemptOutcome.FAILED]
    assert len(failed) == len(faults)
    assert {a.error_code for a in failed} == {"unavailable"}
    for attempt in failed:
        assert attempt.error_message is not None
        assert attempt.error_message.endswith("; sent again with the same idempotency key")
    # Numbered in order within each change, the last one the success.
    by_change: dict[str, list[int]] = {}
    for attempt in attempts:
        by_change.setdefault(attempt.change_id, []).append(attempt.number)
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in by_change.values())
    assert sum(a.outcome is AttemptOutcome.SUCCEEDED for a in attempts) == len(by_change) == 4
