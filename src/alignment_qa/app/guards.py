"""Request guards for the web server, as plain ASGI middleware and small helpers.

``HostGuard`` answers 421 for a ``Host`` header outside the allowlist (DNS rebinding);
``OriginGuard`` refuses state-changing requests from a foreign ``Origin`` and strips any CORS
grant from responses to one; ``BodyLimit`` answers 413 once a body passes its limit, with or
without ``Content-Length``; ``LoginThrottle`` delays and then locks out a client after failed
logins (``ThrottledLogin`` applies it to a form login route); ``RateLimit`` counts requests per
client in a sliding minute. Memory is bounded: the per-client tables forget their oldest
clients. Which routes need a login, and the checking of passwords, are left to ``api``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})
MAX_CLIENTS = 4096  # per-client tables forget the oldest client past this
SAFE_METHODS = frozenset({"GET", "HEAD"})


_UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")


def excerpt(text: str, limit: int = 60) -> str:
    """At most ``limit`` characters of ``text``, for quoting user input back in a message; an unpaired surrogate,
    which JSON encoding would fail on, is shown as U+FFFD."""
    text = _UNPAIRED_SURROGATE.sub("\ufffd", str(text))
    return text if len(text) <= limit else text[:limit] + "…"


def client_of(scope: Scope) -> str:
    """The client's address (the peer of the connection; behind a proxy, the proxy)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def split_host(host: str) -> tuple[str, int | None]:
    """``(name, port)`` of a Host header value: ``[::1]:7860`` -> ``("::1", 7860)``."""
    host = host.strip().lower()
    port: int | None = None
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        elif rest:  # "[::1]evil.example": not an address and a port, so no allowed name
            return host, None
        return name, port
    name, sep, tail = host.rpartition(":")
    if sep and tail.isdigit() and ":" not in name:
        return name.rstrip("."), int(tail)
    return host.rstrip("."), None


def allowed_host_names(bound_host: str, extra: Iterable[str]) -> frozenset[str]:
    """The loopback names, the bound address unless it is 0.0.0.0 or ::, and ``extra``."""
    names = set(LOOPBACK_NAMES)
    if bound_host.strip().lower() not in ANY_ADDRESS:
        names.add(split_host(bound_host)[0])
    names.update(split_host(name)[0] for name in extra if name.strip())
    return frozenset(names)


OPENAI_PREFIX = "/v1/"  # OpenAI clients read refusals from {"error": {"message", "type", ...}}


def openai_error(message: str, status: int, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """OpenAI's error object: ``{"error": {"message", "type", "param", "code"}}``."""
    kind = "authentication_error" if status == 401 else "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def refusal_body(path: str, status: int, detail: str) -> dict[str, Any]:
    """``{"detail": ...}``, or OpenAI's error object on the OpenAI-compatible routes."""
    return openai_error(detail, status) if path.startswith(OPENAI_PREFIX) else {"detail": detail}


async def _json_response(
    scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(refusal_body(str(scope.get("path", "")), status, detail)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(key.lower().encode(), value.encode()) for key, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
    else:
        await _json_response(scope, send, status, detail, headers)


class HostGuard:
    """Answer 421 to a request whose ``Host`` is not one of ``names`` (any port); ``*`` allows all."""

    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self.names = frozenset(names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "*" not in self.names:
            host = _header(scope, b"host") or ""
            if split_host(host)[0] not in self.names:
                detail = (
                    f"this server does not answer for host '{excerpt(host, 80)}'; "
                    "add the name to serve.allowed_hosts to allow it"
                )
                await _refuse(scope, send, 421, detail)
                return
        await self.app(scope, receive, send)


def _origin_key(origin: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(origin)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    return (parts.hostname or "", port) if parts.hostname else None


class OriginGuard:
    """No cross-origin use by a browser: a request whose ``Origin`` is neither this server (the
    ``Host`` it asked for) nor one of ``trusted`` names is refused (403) unless it is a GET/HEAD,
    and ``access-control-allow-*`` headers are removed from the answer to it."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str] = ()) -> None:
        self.app = app
        self.trusted = frozenset(split_host(name)[0] for name in trusted)

    def _foreign(self, scope: Scope, origin: str) -> bool:
        key = _origin_key(origin)
        if key is None:  # "null" (sandboxed frames, file://) or garbage
            return True
        if key[0] in self.trusted:
            return False
        name, port = split_host(_header(scope, b"host") or "")
        secure = scope.get("scheme") in ("https", "wss")
        return key != (name, port or (443 if secure else 80))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = _header(scope, b"origin") if scope["type"] in ("http", "websocket") else None
        if origin is None or not self._foreign(scope, origin):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket" or scope.get("method", "GET") not in SAFE_METHODS:
            await _refuse(scope, send, 403, "cross-origin requests are refused")
            return

        async def without_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (key, value)
                    for key, value in message.get("headers", [])
                    if not bytes(key).lower().startswith(b"access-control-")
                ]
            await send(message)

        await self.app(scope, receive, without_cors)


class BodyLimit:
    """Answer 413 to a request body over ``max_bytes`` (``limits`` maps path prefixes to their own
    limit, e.g. the upload route). A declared ``Content-Length`` is refused before reading; a
    chunked body is counted as it arrives and cut off, the app seeing a disconnect."""

    def __init__(self, app: ASGIApp, max_bytes: int, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = sorted((limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        detail = f"the request body is larger than {limit} bytes (serve.max_body_bytes)"
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _json_response(scope, send, 413, detail, {"connection": "close"})
            return
        state = {"read": 0, "over": False, "started": False}

        async def counted() -> Message:
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"]:
                return  # our 413 answers instead
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, counted, guarded_send)
        if state["over"] and not state["started"]:
            await _json_response(scope, send, 413, detail, {"connection": "close"})


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class LoginThrottle:
    """Failed logins per client: after ``n`` failures the next attempt waits ``base_delay_s * 2**(n-1)``
    seconds (at most ``max_delay_s``); at ``lockout_after`` failures the client is refused for
    ``lockout_s`` seconds, logged. A success clears the client. Bounded to ``max_clients`` entries."""

    def __init__(
        self,
        base_delay_s: float,
        lockout_after: int,
        lockout_s: float,
        max_delay_s: float = 8.0,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_delay_s, self.lockout_after, self.lockout_s = base_delay_s, lockout_after, lockout_s
        self.max_delay_s, self.max_clients, self.clock = max_delay_s, max_clients, clock
        self._clients: OrderedDict[str, _Failures] = OrderedDict()

    def locked_for(self, client: str) -> float:
        """Seconds ``client`` is still locked out (0 when it may try)."""
        entry = self._clients.get(client)
        if entry is None:
            return 0.0
        left = entry.locked_until - self.clock()
        if entry.locked_until and left <= 0:  # the lockout is over: start afresh
            self._clients.pop(client, None)
            return 0.0
        return max(left, 0.0)

    def delay_for(self, client: str) -> float:
        """Seconds to wait before checking ``client``'s next attempt."""
        entry = self._clients.get(client)
        if entry is None or entry.count == 0:
            return 0.0
        return float(min(self.base_delay_s * 2 ** (entry.count - 1), self.max_delay_s))

    def failed(self, client: str) -> None:
        now = self.clock()
        entry = self._clients.pop(client, None) or _Failures()
        entry.count += 1
        entry.last = now
        if entry.count >= self.lockout_after and not entry.locked_until:
            entry.locked_until = now + self.lockout_s
            log.warning("login: %d failed attempts from %s; refused for %.0f s", entry.count, client, self.lockout_s)
        self._clients[client] = entry
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)

    async def before_attempt(self, client: str) -> float:
        """Wait this client's delay; returns the seconds it is locked out for (0: go ahead)."""
        locked = self.locked_for(client)
        if locked:
            return locked
        delay = self.delay_for(client)
        if delay:
            await asyncio.sleep(delay)
        return self.locked_for(client)


def lockout_message(seconds: float) -> str:
    return f"too many failed logins from your address; try again in {int(seconds) + 1} s"


class ThrottledLogin:
    """``LoginThrottle`` on a form login route (POST to one of ``paths``): a locked-out client gets
    429; a 2xx answer counts as a success, any other as a failure. Each attempt counts as a failure
    before the form is checked (a success then clears it), so attempts sent at once cannot all
    pass the lockout check while the route is still reading their forms."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle, paths: Iterable[str]) -> None:
        self.app = app
        self.throttle = throttle
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        client = client_of(scope)
        locked = await self.throttle.before_attempt(client)
        if locked:
            await _json_response(scope, send, 429, lockout_message(locked), {"retry-after": str(int(locked) + 1)})
            return
        self.throttle.failed(client)  # until the route says otherwise
        status: list[int] = []

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, receive, watched)
        if status and 200 <= status[0] < 300:
            self.throttle.succeeded(client)


class RateLimit:
    """At most ``per_minute`` events per client in any sliding minute; bounded to ``max_clients``."""

    def __init__(
        self, per_minute: int, max_clients: int = MAX_CLIENTS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute, self.max_clients, self.clock = per_minute, max_clients, clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, client: str) -> bool:
        """Count one event for ``client``; ``False`` (not counted) when it is over the limit."""
        now = self.clock()
        events = self._events.pop(client, None) or deque()
        while events and events[0] <= now - 60:
            events.popleft()
        allowed = len(events) < self.per_minute
        if allowed:
            events.append(now)
        self._events[client] = events
        while len(self._events) > self.max_clients:
            self._events.popitem(last=False)
        return allowed
