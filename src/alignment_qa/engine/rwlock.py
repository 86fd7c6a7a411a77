"""A readers-writer lock: many threads search the store at once, and reopening it waits for them.

A waiting writer goes first: new readers wait behind it, so a steady stream of searches cannot
starve a reopen. Neither side is reentrant (a reader must not ask for the writer lock); nothing
here times out, since both sides hold it only for one search or one reopen.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadersWriterLock:
    """``reading()`` for store searches, ``writing()`` for closing and reopening the store."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._changed:
            while self._writer:
                self._changed.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._changed:
                self._readers -= 1
                if not self._readers:
                    self._changed.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._changed:
            while self._writer:
                self._changed.wait()
            self._writer = True  # from now on new readers wait
            while self._readers:
                self._changed.wait()
        try:
            yield
        finally:
            with self._changed:
                self._writer = False
                self._changed.notify_all()
