"""Per-user cooldown and the global limit on answers worked on at once.

``Cooldown`` remembers when each user last asked (with an injectable clock for tests, and
bounded memory). ``AnswerSlots`` is an asyncio semaphore with a wait limit: a question that
cannot get a slot in time is turned away rather than queued forever. Neither knows Discord.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

MAX_TRACKED_USERS = 10_000


class Busy(Exception):
    """Every answer slot stayed taken for the whole wait."""


class Cooldown:
    """At most one question per ``seconds`` per user."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def try_start(self, user_id: int) -> float:
        """0 when ``user_id`` may ask now (and the cooldown starts), else the seconds left."""
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        if len(self._last) >= MAX_TRACKED_USERS:  # forget users whose cooldown is over
            self._last = {user: at for user, at in self._last.items() if now - at < self.seconds}
        self._last[user_id] = now
        return 0.0


class AnswerSlots:
    """At most ``limit`` answers at once; a wait longer than ``timeout_s`` raises ``Busy``."""

    def __init__(self, limit: int, timeout_s: float) -> None:
        self.limit = limit
        self.timeout_s = timeout_s
        self._semaphore = asyncio.Semaphore(limit)
        self.in_use = 0
        self.most_in_use = 0  # the high-water mark, for tests and logs

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.timeout_s)
        except TimeoutError as exc:
            raise Busy from exc
        self.in_use += 1
        self.most_in_use = max(self.most_in_use, self.in_use)
        try:
            yield
        finally:
            self.in_use -= 1
            self._semaphore.release()
