"""Server benchmark: cold start and answer latency through the HTTP API, over ../shared/corpus.

In one run on this machine, over an index of the corpus built first:
- cold start: from starting `alignment-qa serve` to the first answer of POST /api/ask, against
  the baseline of a one-shot `alignment-qa ask` process (start, load, answer, exit); median of 3;
- answer latency: POST /api/ask (evidence mode) over the dev questions, p50/p95, against
  ``Assistant.ask`` in-process on the same questions (the baseline: no HTTP, no JSON).

Usage: python bench/serve_bench.py [CORPUS] [--out FILE.json]   (needs the `ui` extra)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "eval" / "dev-questions.jsonl"
RUNS = 3
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ask_http(url: str, question: str, timeout: float = 120) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/api/ask",
        data=json.dumps({"question": question}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return dict(json.load(response))


def cold_start(data_dir: Path, question: str) -> tuple[float, subprocess.Popen[bytes], str]:
    """Seconds from spawning the server to its first answer; the server is left running."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "alignment_qa", "--data-dir", str(data_dir), "serve", "--port", str(port)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            ask_http(url, question, timeout=60)
            return time.perf_counter() - started, process, url
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the server exited") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("no answer within 300 s")


def one_shot(data_dir: Path, question: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "alignment_qa", "--data-dir", str(data_dir), "ask", question, "--json"],
        env=ENV,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(values, 50)), 1), "p95_ms": round(float(np.percentile(values, 95)), 1)}


def bench_args(description: str | None, result_file: str) -> tuple[Path, Path]:
    """CORPUS (default ../shared/corpus) and --out (default bench/results/RESULT_FILE) from the
    command line; exits with a message when the corpus is missing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / result_file)
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        sys.exit(f"corpus not found: {corpus}")
    return corpus, args.out


def dev_questions() -> list[str]:
    """The questions of eval/dev-questions.jsonl."""
    return [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]


def ingest_cli(data_dir: Path, corpus: Path) -> None:
    """Index ``corpus`` into ``data_dir`` with the real CLI."""
    subprocess.run(
        [sys.executable, "-m", "alignment_qa", "--data-dir", str(data_dir), "ingest", str(corpus)],
        env=ENV,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    corpus, out = bench_args(__doc__, "serve.json")
    os.environ.update(ENV)

    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.settings import load_settings

    questions = dev_questions()
    first = "Is RLHF an inner alignment fix?"
    result: dict[str, Any] = {"cores": os.cpu_count(), "questions": len(questions)}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        ingest_cli(data_dir, corpus)
        starts, shots = [], []
        server = url = None
        for run in range(RUNS):
            seconds, process, address = cold_start(data_dir, first)
            starts.append(seconds)
            if run < RUNS - 1:
                process.terminate()
                process.wait(timeout=30)
            else:
                server, url = process, address
            shots.append(one_shot(data_dir, first))
        result["cold_start_s"] = round(statistics.median(starts), 2)
        result["one_shot_ask_s"] = round(statistics.median(shots), 2)
        result["cold_start_ratio"] = round(result["cold_start_s"] / result["one_shot_ask_s"], 2)

        assert server is not None and url is not None
        try:
            http_times = []
            for question in questions:
                started = time.perf_counter()
                ask_http(url, question)
                http_times.append((time.perf_counter() - started) * 1000)
        finally:
            server.terminate()
            server.wait(timeout=30)
        assistant = Assistant.open(load_settings(None, {"store.data_dir": str(data_dir)}).settings)
        assistant.ask(first)
        local_times = []
        for question in questions:
            started = time.perf_counter()
            assistant.ask(question)
            local_times.append((time.perf_counter() - started) * 1000)
        result["api_ask"] = percentiles(http_times)
        result["in_process_ask"] = percentiles(local_times)
        result["api_p50_ratio"] = round(result["api_ask"]["p50_ms"] / result["in_process_ask"]["p50_ms"], 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
