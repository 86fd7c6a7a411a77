"""Helpers for tests that run a real `alignment-qa serve` process on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from llm_servers import free_port

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}


def start_serve(work: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`alignment-qa serve` in ``work`` on a free port; returns the process and its URL once its page is up."""
    port = free_port()
    log_path = work / f"serve-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "alignment_qa", "serve", "--port", str(port)],
        cwd=work,
        env=env or ENV,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/", timeout=2):  # the page is built after the API answers
                return process, url
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                return process, url  # up, but asking for a login
            if exc.code != 503:  # 500: the chat page could not be built
                process.kill()
                raise RuntimeError(f"GET / gave {exc.code}: {log_path.read_text()}") from None
            time.sleep(0.2)  # the API answers; the chat page is still being built
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(log_path.read_text()) from None
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the server did not start in 120 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)
