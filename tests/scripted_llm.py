"""A scripted OpenAI-compatible LLM server, run as its own process so that it can be killed with
SIGKILL in the middle of a streamed answer: ``python tests/scripted_llm.py PORT``.

It answers GET /v1/models, and POST /v1/chat/completions or /v1/completions (streamed or not) with
one short piece of text every 50 ms, 400 in all, over chunked HTTP as llama.cpp's server does, so a
death mid-stream is an incomplete chunked body for the client. It binds 127.0.0.1 and exits by
itself after ``LIFETIME_S``. Used by tests/test_faults.py and bench/fault_bench.py (the in-process endpoint
that answers whatever a test writes is ``llm_servers.scripted_endpoint``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIFETIME_S = 300
PIECES = 400


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "scripted", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        chat = self.path.endswith("/chat/completions")
        self.send_response(200)
        self.send_header("content-type", "text/event-stream" if request.get("stream") else "application/json")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        if not request.get("stream"):
            text = "Reward hacking is gaming the reward [1]."
            choice = {"index": 0, "finish_reason": "stop", "logprobs": None}
            choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
            kind = "chat.completion" if chat else "text_completion"
            self._chunk(
                json.dumps({"id": "x", "object": kind, "created": 0, "model": "scripted", "choices": [choice]}).encode()
            )
            self._chunk(b"")
            return
        for n in range(PIECES):
            piece = "Reward hacking is gaming the reward [1]. " if n % 8 == 7 else "token "
            choice = {"index": 0, "finish_reason": None, "logprobs": None}
            choice.update({"delta": {"content": piece}} if chat else {"text": piece})
            kind = "chat.completion.chunk" if chat else "text_completion"
            event = {"id": "x", "object": kind, "created": 0, "model": "scripted", "choices": [choice]}
            self._chunk(f"data: {json.dumps(event)}\n\n".encode())
            time.sleep(0.05)
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")


def main() -> None:
    threading.Timer(LIFETIME_S, os._exit, args=(0,)).start()
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
