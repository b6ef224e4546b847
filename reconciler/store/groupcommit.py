"""Group commit: rows that must be on disk before their writer goes on, synced together.

An fsync takes about a millisecond, during which the connection is busy. When apply's threads
each record an attempt at once, one of them (the leader) writes every row waiting at that moment
in one transaction with one fsync; the others wait for it, and each returns only once the commit
that holds its own row is on disk. A lone writer is its own leader: one row, one fsync, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

import msgspec

Row = TypeVar("Row")
Key = TypeVar("Key")


class _Slot(msgspec.Struct, Generic[Row, Key]):
    row: Row
    key: Key | None = None
    error: BaseException | None = None
    done: bool = False


class GroupCommit(msgspec.Struct, Generic[Row, Key]):
    #: writes the rows in one durable transaction, returning each row's key in order (or raising)
    write: Callable[[Sequence[Row]], Sequence[Key]]
    _waiting: list[_Slot[Row, Key]] = msgspec.field(default_factory=list)
    _leading: bool = False
    _changed: threading.Condition = msgspec.field(default_factory=threading.Condition)

    def submit(self, row: Row) -> Key:
        """The row's key, once the row is durable; the batch's failure if writing it failed."""
        (key,) = self.submit_all([row])
        return key

    def submit_all(self, rows: Sequence[Row]) -> list[Key]:
        """Each row's key, in order, once every one is durable (in one batch unless one was being
        written meanwhile); the first failure of a batch that held one of them."""
        slots: list[_Slot[Row, Key]] = [_Slot(row) for row in rows]
        with self._changed:
            self._waiting.extend(slots)
            while not all(slot.done for slot in slots):
                if self._leading:
                    self._changed.wait()
                else:
                    self._lead()
        keys: list[Key] = []
        for slot in slots:
            if slot.error is not None:
                raise slot.error
            assert slot.key is not None
            keys.append(slot.key)
        return keys

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


class Rider(msgspec.Struct, Generic[Row]):
    row: Row
    #: committed, by its own writer or by the transaction that carried it
    done: bool = False


class Riders(msgspec.Struct, Generic[Row]):
    """Rows that need no fsync of their own but must be committed before their writer goes on
    (an attempt's outcome): each writer queues its row, then waits for the connection; whoever
    holds it next, a group commit already under way or one of the waiting writers, writes every
    row queued by then in its transaction. While an fsync holds the connection, the outcomes that
    wait for it are then written in one transaction instead of one each."""

    _queued: list[Rider[Row]] = msgspec.field(default_factory=list)
    _lock: threading.Lock = msgspec.field(default_factory=threading.Lock)

    def join(self, row: Row) -> Rider[Row]:
        rider = Rider(row)
        with self._lock:
            self._queued.append(rider)
        return rider

    def waiting(self) -> int:
        """Rows queued for the next transaction."""
        with self._lock:
            return len(self._queued)

    def queued(self) -> list[Row]:
        """The rows queued for the next transaction, in order."""
        with self._lock:
            return [rider.row for rider in self._queued]

    @contextmanager
    def carried(self, mine: Rider[Row] | None = None) -> Iterator[list[Row]]:
        """The rows queued now, for the caller's transaction (called with the connection held).
        They count as committed when the block ends normally; if it raises, they are queued again
        for their own writers to write, except `mine`, whose writer gets the error."""
        with self._lock:
            taken, self._queued = self._queued, []
        try:
            yield [rider.row for rider in taken]
        except BaseException:
            with self._lock:
                self._queued[:0] = [rider for rider in taken if rider is not mine]
            raise
        for rider in taken:
            rider.done = True
