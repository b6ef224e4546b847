"""While apply waits for the console's identity, it prepares where each subscription was declared."""

from __future__ import annotations

from pathlib import Path

from reconciler.loading.desired import ItemOrigin
from reconciler.pipeline import ReadAhead, read_ahead, warm_positions


def estate(tmp_path: Path, count: int) -> Path:
    lines = ["version: 1", "subscriptions:"]
    for number in range(count):
        lines += [f"  - id: SUB-{number}", "    apps:", "      focus:", f"        site: site-{number}"]
    (tmp_path / "estate.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path


def prepared(ahead: ReadAhead) -> set[int]:
    assert not isinstance(ahead.outcome, Exception)
    origins = [s.origin for s in ahead.outcome.subscriptions.values()]
    first = origins[0]
    assert all(isinstance(origin, ItemOrigin) for origin in origins) and isinstance(first, ItemOrigin)
    locator = first.doc._locator
    return set() if locator is None else {index for _, index in locator._plain}


def test_it_stops_as_soon_as_the_answer_comes(tmp_path: Path) -> None:
    ahead = read_ahead([str(estate(tmp_path, 50))])
    asked = iter([False] * 7 + [True])
    warm_positions(ahead, lambda: next(asked))
    assert prepared(ahead) == set(range(7))


def test_prepared_positions_are_the_positions(tmp_path: Path) -> None:
    ahead = read_ahead([str(estate(tmp_path, 30))])
    warm_positions(ahead, lambda: False)
    assert prepared(ahead) == set(range(30))
    assert not isinstance(ahead.outcome, Exception)
    for number, subscription in enumerate(ahead.outcome.subscriptions.values()):
        span = subscription.apps[0].site_origin.span()
        assert (span.line, span.column) == (6 + 4 * number, 15)


def test_desired_state_that_failed_to_load_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("version: [\n")
    ahead = read_ahead([str(tmp_path)])
    assert isinstance(ahead.outcome, Exception)
    warm_positions(ahead, lambda: False)  # nothing to prepare, nothing raised
