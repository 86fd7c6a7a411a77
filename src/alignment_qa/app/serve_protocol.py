"""uvicorn's h11 HTTP protocol with a deadline for request headers.

uvicorn closes idle keep-alive connections, but a client that sends its headers a byte at a
time (or never finishes them) holds a connection, and a slot of ``limit_concurrency``, forever.
``header_timeout_protocol(seconds)`` gives a protocol class that closes a connection whose
request headers are not complete within ``seconds`` of it opening or of the previous response.
Slow bodies and long answers are not cut: only the wait for headers is timed.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class HeaderTimeoutProtocol(H11Protocol):
    """``H11Protocol`` closing connections that are slow to send their request headers."""

    header_timeout_s = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_deadline)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.info(
                "closing a connection from %s: no complete request headers in %.0f s",
                self.client,
                self.header_timeout_s,
            )
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutProtocol]:
    """A ``HeaderTimeoutProtocol`` class with a deadline of ``seconds``."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": seconds})
