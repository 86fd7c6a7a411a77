"""Fault benchmark: what a real `alignment-qa serve` does when a process it depends on, or the server
itself, dies. Each scenario runs real processes on 127.0.0.1 and reports what it saw:

- ``feedback-kill``: concurrent POST /api/feedback on answers the server gave, then kill -9 of the
  server mid-writes; the SQLite file must pass ``PRAGMA integrity_check``, every row must parse, and
  every write the server acknowledged must be there (pass/fail: tests/test_faults.py);
- ``chroma-restart``: serve on a `chroma run` server under load; the Chroma server is killed, left
  down for --down-s, and restarted on the same port and path. Reported: the statuses while it is
  down (goal: 503 with a message, nothing else), and the seconds from its restart to the first
  answer, with serve never restarted (the pass/fail version, in-process: tests/test_chroma_server.py);
- ``llm-dies``: POST /api/ask/stream in llm mode against tests/scripted_llm.py (an OpenAI-compatible
  server in its own process, streaming a piece every 50 ms over chunked HTTP as llama.cpp's server
  does), killed with SIGKILL after the first token reaches the client; the answer must be quoted
  evidence with the "language model failed" notice. (tests/test_faults.py checks the same as a
  pass/fail test; tests/test_llm_backend.py with a real llama.cpp server, in-process.)
kill -9 during ingest is tested in tests/test_ingest.py.

Usage: python bench/fault_bench.py [CORPUS] [--only feedback-kill|chroma-restart|llm-dies]
       [--clients 8] [--down-s 10] [--json-out FILE.json]   (needs the `ui` extra; chroma-restart the `chroma` CLI)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx

from load_bench import SAMPLE_CORPUS, log_tail, start_serve
from serve_bench import ENV, REPO, dev_questions, free_port, ingest_cli

SCENARIOS = ("feedback-kill", "chroma-restart", "llm-dies")

SCRIPTED_LLM = REPO / "tests" / "scripted_llm.py"  # an OpenAI-compatible server that streams slowly


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_http(url: str, seconds: float) -> bool:
    """Whether ``url`` answers (any status) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return True
        except httpx.HTTPError:
            time.sleep(0.1)
    return False


def feedback_payload(answer: dict[str, Any], n: int) -> dict[str, Any]:
    """Feedback on an answer this server gave, sent back as it came (its ``answer_id`` included)."""
    return {"kind": "up" if n % 2 else "down", "answer": answer, "comment": f"fault bench {n}"}


def check_feedback_db(path: Path) -> dict[str, Any]:
    """``integrity_check``, and how many rows fail to parse (their JSON columns)."""
    if not path.exists():
        return {"integrity_check": "no file", "rows": 0, "unparseable_rows": 0, "ids": []}
    with closing(sqlite3.connect(path)) as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        columns = [row[1] for row in connection.execute("PRAGMA table_info(feedback)")]
        rows = connection.execute("SELECT * FROM feedback").fetchall()
    bad = 0
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        try:
            for name in ("answer", "settings"):
                if name in record:
                    json.loads(record[name])
        except (TypeError, ValueError):
            bad += 1
    return {"integrity_check": integrity, "rows": len(rows), "unparseable_rows": bad, "ids": [r[0] for r in rows]}


def feedback_kill(corpus: Path, work: Path, clients: int, writes_before_kill: int = 60) -> dict[str, Any]:
    """kill -9 of serve while ``clients`` threads post feedback; then the SQLite file is checked."""
    data_dir = work / "feedback-data"
    ingest_cli(data_dir, corpus)
    options = ("--set", "serve.feedback_per_minute=100000")  # the per-client rate limit is not under test here
    process, url = start_serve(data_dir, work / "serve-feedback.log", options)
    acked: list[int] = []
    statuses: Counter[str] = Counter()
    stop = threading.Event()
    try:
        answers = [httpx.post(f"{url}/api/ask", json={"question": q}, timeout=120).json() for q in dev_questions()[:4]]

        def writer(worker: int) -> None:
            with httpx.Client(timeout=30) as client:
                for n in range(worker, 100_000, clients):
                    if stop.is_set():
                        return
                    try:
                        response = client.post(f"{url}/api/feedback", json=feedback_payload(answers[n % 4], n))
                    except httpx.HTTPError:
                        statuses["no reply"] += 1
                        return
                    statuses[str(response.status_code)] += 1
                    if response.status_code == 200:
                        acked.append(int(response.json()["id"]))

        threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acked) < writes_before_kill and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
    finally:
        stop.set()
        stop_process(process)
    checked = check_feedback_db(data_dir / "feedback.sqlite")
    ids = set(checked.pop("ids"))
    return {
        "writers": clients,
        "acknowledged_before_kill": len(acked),
        "statuses": dict(statuses),
        **checked,
        "acknowledged_but_missing": len(set(acked) - ids),
        "ok": checked["integrity_check"] == "ok" and checked["unparseable_rows"] == 0 and not set(acked) - ids,
    }


class ChromaServer:
    """`chroma run` on a fixed path and port, so that it can be stopped and started again."""

    def __init__(self, path: Path, log_path: Path) -> None:
        self.path, self.log_path, self.port = path, log_path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        command = [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=ENV)
        if not wait_http(f"{self.url}/api/v2/heartbeat", 60):
            raise RuntimeError(f"chroma run did not start:\n{log_tail(self.log_path)}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def chroma_restart(corpus: Path, work: Path, clients: int, down_s: float, up_s: float = 30) -> dict[str, Any]:
    """Load on serve backed by a `chroma run` server that is killed and restarted under it."""
    chroma = ChromaServer(work / "chroma-server", work / "chroma.log")
    chroma.start()
    options = ("--chroma-url", chroma.url)
    data_dir = work / "chroma-local"
    process = None
    try:
        subprocess.run(
            [sys.executable, "-m", "alignment_qa", "--data-dir", str(data_dir), *options, "ingest", str(corpus)],
            env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        process, url = start_serve(data_dir, work / "serve-chroma.log", options)
        questions = dev_questions()
        httpx.post(f"{url}/api/ask", json={"question": questions[0]}, timeout=120)
        log: list[tuple[float, float, int | None, str]] = []  # start, end, status, detail
        stop = threading.Event()

        def client_loop(worker: int) -> None:
            with httpx.Client(timeout=60) as client:
                for n in range(worker, 1_000_000, clients):
                    if stop.is_set():
                        return
                    started = time.monotonic()
                    try:
                        response = client.post(f"{url}/api/ask", json={"question": questions[n % len(questions)]})
                        detail = "" if response.status_code == 200 else response.text[:200]
                        log.append((started, time.monotonic(), response.status_code, detail))
                    except httpx.HTTPError as exc:
                        log.append((started, time.monotonic(), None, type(exc).__name__))
                        time.sleep(0.1)

        threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(5)
        chroma.kill()
        killed_at = time.monotonic()  # after the kill: a request started later finds it dead
        time.sleep(down_s)
        chroma.start()
        restarted_at = time.monotonic()
        deadline = restarted_at + up_s
        while time.monotonic() < deadline and not any(s == 200 and b > restarted_at for b, _, s, _ in list(log)):
            time.sleep(0.1)
        time.sleep(3)  # a few more answers after recovery
        stop.set()
        for thread in threads:
            thread.join(timeout=65)
        serve_alive = process.poll() is None
    finally:
        if process is not None:
            stop_process(process)
        chroma.kill()
    before, down, after, across = [], [], [], []  # across: running when it was killed or restarted
    for entry in log:
        start, end = entry[0], entry[1]
        if end < killed_at:
            before.append(entry)
        elif start >= restarted_at:
            after.append(entry)
        elif start >= killed_at and end <= restarted_at:
            down.append(entry)
        else:
            across.append(entry)
    first_ok = min((end for start, end, status, _ in after if status == 200), default=None)
    answered_after = [entry for entry in log if entry[0] > (first_ok or float("inf"))]
    messages = sorted({detail for _, _, status, detail in down if status == 503})[:3]
    return {
        "clients": clients,
        "down_s": down_s,
        "ok_before": sum(status == 200 for _, _, status, _ in before),
        "statuses_while_down": dict(Counter(str(status) for _, _, status, _ in down)),
        "503_messages": messages,
        "statuses_across_kill_or_restart": dict(Counter(str(status) for _, _, status, _ in across)),
        "statuses_after_restart": dict(Counter(str(status) for _, _, status, _ in after)),
        "recovered_s_after_restart": None if first_ok is None else round(first_ok - restarted_at, 2),
        "failures_after_recovery": sum(status != 200 for _, _, status, _ in answered_after),
        "serve_restarted": not serve_alive,
        "ok": first_ok is not None
        and all(status == 503 for _, _, status, _ in down)
        and all(status in (200, 503) for _, _, status, _ in across)
        and not any(status != 200 for _, _, status, _ in answered_after),
    }


def llm_dies(corpus: Path, work: Path) -> dict[str, Any]:
    """SIGKILL of the LLM endpoint after the first streamed token: evidence and its notice."""
    port = free_port()
    llm = subprocess.Popen([sys.executable, str(SCRIPTED_LLM), str(port)], env=ENV)
    process = None
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        if not wait_http(f"{base_url}/models", 30):
            raise RuntimeError("the scripted LLM endpoint did not start")
        data_dir = work / "llm-data"
        ingest_cli(data_dir, corpus)
        options = ("--set", f"llm.base_url={base_url}", "--set", "llm.timeout_s=10")
        process, url = start_serve(data_dir, work / "serve-llm.log", options)
        events: list[tuple[str, str]] = []
        killed_at = answered_at = None
        started = time.monotonic()
        payload = {"question": "What is reward hacking?", "mode": "llm"}
        with httpx.stream("POST", f"{url}/api/ask/stream", json=payload, timeout=120) as response:
            name = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, line[6:]))
                    if name == "token" and killed_at is None:
                        llm.send_signal(signal.SIGKILL)
                        killed_at = time.monotonic()
                    if name == "answer":
                        answered_at = time.monotonic()
        alive = process.poll() is None
        again = httpx.post(f"{url}/api/ask", json=payload, timeout=120)
    finally:
        if process is not None:
            stop_process(process)
        if llm.poll() is None:
            llm.kill()
        llm.wait(timeout=10)
    names = [name for name, _ in events]
    answer = json.loads(events[-1][1]) if names and names[-1] == "answer" else {}
    notice = str(answer.get("notice", ""))
    return {
        "tokens_before_kill": names.count("token"),
        "last_event": names[-1] if names else None,
        "answer_mode": answer.get("mode"),
        "notice": notice[:200],
        "citations": len(answer.get("citations", [])),
        "answer_s_after_kill": None if not (killed_at and answered_at) else round(answered_at - killed_at, 2),
        "first_token_s": None if killed_at is None else round(killed_at - started, 2),
        "serve_alive": alive,
        "next_request": {"status": again.status_code, "mode": again.json().get("mode") if again.is_success else None},
        "ok": answer.get("mode") == "evidence" and "language model failed" in notice and bool(answer.get("citations")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=SAMPLE_CORPUS)
    parser.add_argument("--only", choices=SCENARIOS, action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent writers / askers")
    parser.add_argument("--down-s", type=float, default=10.0, help="seconds the Chroma server stays down")
    parser.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "faults.json")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"corpus not found: {args.corpus}")
    result: dict[str, Any] = {"cores": os.cpu_count(), "corpus": str(args.corpus)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.only or SCENARIOS:
            print(f"running {name} ...", file=sys.stderr)
            if name == "feedback-kill":
                result[name] = feedback_kill(args.corpus, work, args.clients)
            elif name == "chroma-restart":
                result[name] = chroma_restart(args.corpus, work, args.clients, args.down_s)
            else:
                result[name] = llm_dies(args.corpus, work)
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2))
    for name in SCENARIOS:
        if name in result:
            print(f"{name}: {'ok' if result[name]['ok'] else 'FAILED'}")
            for key, value in result[name].items():
                if key != "ok":
                    print(f"  {key}: {value}")
    print(f"JSON: {args.json_out}")


if __name__ == "__main__":
    main()
