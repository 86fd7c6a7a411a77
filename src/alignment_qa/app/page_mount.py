"""Mount the Gradio chat page on the API app: at once, or in the background once the server answers.

``mount_now`` builds the page and mounts it at ``/`` before anything is served (tests, embedding the app).
``mount_later`` is for ``serve``: importing Gradio and building the page take seconds, so the server starts
answering the API without it; after start-up a worker thread builds the page and the event loop mounts it,
then runs Gradio's start-up (its queue) the way ``gr.mount_gradio_app``'s own lifespan would. Until then ``/``
is a small page that says the chat is starting and reloads itself (503, ``Retry-After``); if building fails,
it says so and the API keeps answering. What the page holds is left to ``web``.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI

log = logging.getLogger(__name__)

Build = Callable[[], "gr.Blocks"]
OnMounted = Callable[["gr.Blocks", "FastAPI"], None]  # told the page and the app once it is mounted


def _note(message: str, reload: bool) -> str:
    refresh = '<meta http-equiv="refresh" content="1">' if reload else ""
    return (
        f'<!doctype html><html><head><meta charset="utf-8">{refresh}<title>alignment-qa</title></head>'
        f"<body><p>{html.escape(message)}</p></body></html>"
    )


def mount_now(api: FastAPI, build: Build, options: dict[str, Any], on_mounted: OnMounted) -> None:
    """Build the page and mount it at ``/`` (``options`` go to ``gr.mount_gradio_app``)."""
    import gradio as gr

    ui = build()
    gr.mount_gradio_app(api, ui, path="/", **options)
    on_mounted(ui, api)


def mount_later(api: FastAPI, build: Build, options: dict[str, Any], on_mounted: OnMounted) -> None:
    """Mount the page in the background once ``api`` is served; ``/`` says it is starting until then."""
    later = _Later(api, build, options, on_mounted)
    api.router.routes.append(later.placeholder)
    outer = api.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with outer(app) as state:
            stop = asyncio.Event()
            task = asyncio.create_task(later.run(stop))
            try:
                yield state
            finally:
                stop.set()
                if not later.ready:  # still building: do not hold the shutdown for it
                    task.cancel()
                with suppress(asyncio.CancelledError):
                    try:
                        await task
                    except Exception as exc:  # the page's own shutdown failed: the server still stops cleanly
                        log.warning("stopping the chat page failed: %s", exc)

    api.router.lifespan_context = lifespan


class _Later:
    """The page built after start-up, and the placeholder route answering ``/`` until then."""

    def __init__(self, api: FastAPI, build: Build, options: dict[str, Any], on_mounted: OnMounted) -> None:
        self.api, self.build, self.options, self.on_mounted = api, build, options, on_mounted
        self.ready = False
        self.failure = ""
        self.placeholder = Route("/", self.starting_page, methods=["GET", "HEAD"])

    async def starting_page(self, request: Request) -> HTMLResponse:
        if self.failure:
            message = f"The chat page could not be built ({self.failure}); the HTTP API still answers at /api/ask."
            return HTMLResponse(_note(message, reload=False), 500)
        message = "alignment-qa is starting: the chat page is ready in a few seconds (the API already answers)."
        return HTMLResponse(_note(message, reload=True), 503, headers={"Retry-After": "1"})

    async def run(self, stop: asyncio.Event) -> None:
        routes = self.api.router.routes
        try:
            ui = await asyncio.to_thread(self.build)  # imports Gradio: seconds, off the event loop
            import gradio as gr

            ours = self.api.router.lifespan_context
            gr.mount_gradio_app(self.api, ui, path="/", **self.options)
            self.api.router.lifespan_context = ours  # its wrapper would mount the page again on another start
            mounted: Any = next(route.app for route in reversed(routes) if isinstance(route, Mount))
            self.on_mounted(ui, self.api)
        except Exception as exc:  # a broken page must not take the API down with it
            self._failed(exc)
            return
        routes.remove(self.placeholder)  # on the loop: no request sees half a swap
        try:
            async with mounted.router.lifespan_context(mounted):
                ui.run_startup_events()
                await ui.run_extra_startup_events()
                self.ready = True
                await stop.wait()
        except Exception as exc:  # its queue did not start: say so at / rather than serve a page that hangs
            routes.remove(next(route for route in routes if isinstance(route, Mount) and route.app is mounted))
            routes.insert(0, self.placeholder)
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        log.error("the chat page could not be built: %s", exc, exc_info=True)
        self.failure = f"{type(exc).__name__}: {exc}"
