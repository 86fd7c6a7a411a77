"""uvicorn's h11 HTTP protocol with deadlines for a request's headers and for its body.

uvicorn closes idle keep-alive connections, but a client that sends its headers a byte at a
time (or never finishes them), or declares a body and then sends it a byte at a time (or never),
holds a connection, and a slot of ``limit_concurrency``, forever: a few dozen such clients take
the server down. ``deadline_protocol(header_s, body_s)`` gives a protocol class that closes a
connection whose request headers are not complete within ``header_s`` of it opening or of the
previous response, or whose body goes ``body_s`` without ``BODY_PROGRESS_BYTES`` more of it
arriving (a large upload on a slow link keeps going; a trickle does not). The deadlines are kept
whatever the order of events: a pipelined request, or a response sent before the body was read.
Long answers are not cut: only the wait for the client's request is timed.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


BODY_PROGRESS_BYTES = 64 * 1024  # body bytes that, arriving within the body deadline, restart it


class DeadlineProtocol(H11Protocol):
    """``H11Protocol`` closing connections that are slow to send their request headers or body."""

    header_timeout_s = 10.0
    body_timeout_s = 30.0
    _header_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _body_bytes = 0  # body bytes received since the body deadline was last set

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_deadline)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _disarm_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.info(
                "closing a connection from %s: no complete request headers in %.0f s",
                self.client,
                self.header_timeout_s,
            )
            self.transport.close()

    def _body_deadline(self) -> None:
        self._body_timer = None
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            log.info(
                "closing a connection from %s: its request body stalled for %.0f s", self.client, self.body_timeout_s
            )
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.SEND_BODY:
            self._body_bytes += len(data)
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        self._keep_deadlines()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request (through handle_events)
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()  # the next request's headers have their own deadline
        self._keep_deadlines()

    def _keep_deadlines(self) -> None:
        """A body deadline while a body is awaited (restarted by real progress), a header deadline while headers are,
        whatever led there."""
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if self._body_timer is None or self._body_bytes >= BODY_PROGRESS_BYTES:
                self._disarm_body_timer()
                self._body_bytes = 0
                self._body_timer = self.loop.call_later(self.body_timeout_s, self._body_deadline)
            return
        self._disarm_body_timer()
        self._body_bytes = 0
        if state is h11.IDLE and self._header_timer is None:
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        self._disarm_body_timer()
        super().connection_lost(exc)


def deadline_protocol(header_s: float, body_s: float) -> type[DeadlineProtocol]:
    """A ``DeadlineProtocol`` class with these deadlines (seconds)."""
    return type("DeadlineProtocol", (DeadlineProtocol,), {"header_timeout_s": header_s, "body_timeout_s": body_s})
