"""When a served console checkpoints its write-ahead log: once its writes pause, and only then."""

from __future__ import annotations

from pathlib import Path

from reconciler.sandbox.checkpoints import IdleCheckpoints


def test_a_log_is_checkpointed_once_it_stays_still_and_again_after_each_new_write(tmp_path: Path) -> None:
    log = tmp_path / "console.db-wal"
    made: list[int] = []

    def checkpoint() -> bool:
        made.append(log.stat().st_size)
        return True

    checkpoints = IdleCheckpoints(tmp_path / "console.db", checkpoint)
    checkpoints.tick()
    assert made == []  # no log, nothing to copy
    for size in (1, 2, 3):  # a write between every two ticks: never still
        log.write_bytes(b"x" * size)
        checkpoints.tick()
    assert made == []
    checkpoints.tick()
    checkpoints.tick()
    assert made == [3]  # still since the last tick: once, not at every tick after
    log.write_bytes(b"y" * 5)
    checkpoints.tick()
    checkpoints.tick()
    assert made == [3, 5]


def test_a_checkpoint_that_could_not_copy_everything_is_tried_again(tmp_path: Path) -> None:
    log = tmp_path / "console.db-wal"
    log.write_bytes(b"x")
    answers = [False, True]
    checkpoints = IdleCheckpoints(tmp_path / "console.db", lambda: answers.pop(0))
    for _ in range(4):
        checkpoints.tick()
    assert answers == []
