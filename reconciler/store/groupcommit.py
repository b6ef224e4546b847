"""Group commit: rows that must be on disk before their writer goes on, synced together.

An fsync takes about a millisecond, during which the connection is busy. When apply's threads
each record an attempt at once, one of them (the leader) writes every row waiting at that moment
in one transaction with one fsync; the others wait for it, and each returns only once the commit
that holds its own row is on disk. A lone writer is its own leader: one row, one fsync, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Row = TypeVar("Row")
Key = TypeVar("Key")


@dataclass
class _Slot(Generic[Row, Key]):
    row: Row
    key: Key | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class GroupCommit(Generic[Row, Key]):
    #: writes the rows in one durable transaction, returning each row's key in order (or raising)
    write: Callable[[Sequence[Row]], Sequence[Key]]
    _waiting: list[_Slot[Row, Key]] = field(default_factory=list)
    _leading: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def submit(self, row: Row) -> Key:
        """The row's key, once the row is durable; the batch's failure if writing it failed."""
        slot: _Slot[Row, Key] = _Slot(row)
        with self._changed:
            self._waiting.append(slot)
            while not slot.done:
                if self._leading:
                    self._changed.wait()
                else:
                    self._lead()
        if slot.error is not None:
            raise slot.error
        assert slot.key is not None
        return slot.key

    def waiting(self) -> int:
        """Rows queued behind the batch being written."""
        with self._changed:
            return len(self._waiting)

    def _lead(self) -> None:
        """Write everything queued now (called, and returning, with the condition held)."""
        batch, self._waiting = self._waiting, []
        self._leading = True
        self._changed.release()
        try:
            keys = self.write([slot.row for slot in batch])
            for slot, key in zip(batch, keys, strict=True):
                slot.key = key
        except BaseException as error:
            for slot in batch:
                slot.error = error
        finally:
            self._changed.acquire()
            self._leading = False
            for slot in batch:
                slot.done = True
            self._changed.notify_all()
