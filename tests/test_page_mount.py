"""Mounting the chat page after start-up (``page_mount.mount_later``, what `serve` does): the API answers at
once, ``/`` says the page is starting until it is mounted, a page that fails to build leaves the API up, and
the mounted page's queue runs (an event answers through it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alignment_qa.app.page_mount import mount_later

gr = pytest.importorskip("gradio", reason="the ui extra is not installed")


def _api() -> FastAPI:
    api = FastAPI()

    @api.get("/api/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return api


def _page() -> Any:
    with gr.Blocks(analytics_enabled=False) as page:
        box = gr.Textbox()
        out = gr.Textbox()
        box.submit(lambda text: text.upper(), box, out, api_name="shout")
    return page


def _wait(predicate: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def test_the_api_answers_while_the_page_builds_then_the_page_and_its_queue_work() -> None:
    release = threading.Event()
    mounted: list[Any] = []

    def build() -> Any:
        assert release.wait(30), "the test never released the build"
        return _page()

    api = _api()
    mount_later(api, build, {"footer_links": []}, lambda ui, app: mounted.append(ui))
    with TestClient(api, base_url="http://127.0.0.1") as client:
        assert client.get("/api/ping").json() == {"pong": "yes"}
        starting = client.get("/")
        assert starting.status_code == 503 and starting.headers["retry-after"] == "1"
        assert "starting" in starting.text and 'http-equiv="refresh"' in starting.text
        release.set()
        _wait(lambda: client.get("/").status_code == 200)
        assert mounted and "gradio" in client.get("/").text.lower()
        ui = mounted[0]
        _wait(lambda: ui.is_running)  # Gradio's start-up ran: its queue takes events
        assert client.get("/api/ping").status_code == 200


def test_a_page_that_fails_to_build_leaves_the_api_up() -> None:
    def build() -> Any:
        raise RuntimeError("no theme today")

    api = _api()
    mount_later(api, build, {}, lambda ui, app: None)
    with TestClient(api, base_url="http://127.0.0.1") as client:
        _wait(lambda: client.get("/").status_code == 500)
        broken = client.get("/")
        assert "could not be built" in broken.text and "no theme today" in broken.text
        assert "refresh" not in broken.text
        assert client.get("/api/ping").json() == {"pong": "yes"}
