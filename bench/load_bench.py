"""Load benchmark: many concurrent clients against a real `alignment-qa serve`, optionally while
another process ingests.

One run on this machine, over an index of ../shared/corpus (else sample-corpus/) built first in a
temporary data folder (or the index in --data-dir, reused as it is):
- baseline: one client asking the dev questions one after the other (POST /api/ask), p50/p95;
- load: --clients concurrent clients for --duration seconds, alternating POST /api/ask and
  POST /api/ask/stream (the stream read to its end), questions from eval/dev-questions.jsonl.
  Reported: transport errors (refused, reset, timeout, a stream cut before its answer), SSE error
  events, 5xx responses, the status-code histogram, p50/p95 latency, throughput, and the peak
  resident memory of the server process (VmHWM, and VmRSS polled during the load);
- ``--ingest-during``: the index is built from a copy of the corpus; a quarter into the load one
  page of the copy is changed and one added, and `alignment-qa ingest` runs on it in another
  process. Errors while it runs and after it are counted apart, and a probe question about the
  added page says when answers cite it.
The machine's core count is in the output: the figures only compare within one run.

Usage: python bench/load_bench.py [CORPUS] [--clients 50] [--duration 60] [--ingest-during]
       [--data-dir DIR] [--baseline 20] [--json-out FILE.json]   (needs the `ui` extra and httpx)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from serve_bench import ENV, REPO, dev_questions, free_port, ingest_cli, percentiles

SHARED_CORPUS = REPO.parent / "shared" / "corpus"
SAMPLE_CORPUS = REPO / "sample-corpus"
ADDED_PAGE = "bench-added-page.md"
ADDED_TEXT = (
    "# The Quillfeather protocol\n\n"
    "The Quillfeather protocol is an oversight procedure in which two overseers audit every reward "
    "signal before it reaches the learner. It was written for this benchmark and exists nowhere else.\n"
)
PROBE = "What is the Quillfeather protocol?"
INGEST_LIMIT_S = 600  # an ingest running longer is killed
CHANGED_MARK = "\n\nThis paragraph was appended by the load benchmark's ingest-during run.\n"


def start_serve(
    data_dir: Path, log_path: Path, options: tuple[str, ...] = (), startup_s: float = 300
) -> tuple[subprocess.Popen[bytes], str]:
    """`alignment-qa [OPTIONS] serve` on a free 127.0.0.1 port, output to ``log_path``; returns the
    process and its URL once /api/health answers."""
    port = free_port()
    command = [sys.executable, "-m", "alignment_qa", "--data-dir", str(data_dir), *options, "serve", "--port"]
    with log_path.open("wb") as log:
        process = subprocess.Popen([*command, str(port)], env=ENV, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/health", timeout=2)
            return process, url
        except httpx.HTTPError:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited with {process.returncode}:\n{log_tail(log_path)}") from None
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"serve did not answer within {startup_s:.0f} s:\n{log_tail(log_path)}")


def log_tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def memory_mb(pid: int, key: str) -> float | None:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in MB, from /proc; None where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class MemoryWatch:
    """Polls a process's resident memory in a thread; ``peak_mb`` is the largest value seen."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        self.pid, self.every_s, self.peak_mb = pid, every_s, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak_mb = max(self.peak_mb, memory_mb(self.pid, "VmRSS") or 0.0)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class Outcome:
    """One request: when it started and ended (s since the load began), its route, status, result."""

    route: str
    start: float
    end: float
    status: int | None
    result: str  # ok | http_error | stream_error | truncated | timeout | connection_error
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.result != "ok"


async def ask_once(client: httpx.AsyncClient, url: str, route: str, question: str, t0: float) -> Outcome:
    """One question on ``route`` ("ask" or "stream"), read to its end."""
    path = "/api/ask" if route == "ask" else "/api/ask/stream"
    start = time.perf_counter() - t0
    status: int | None = None
    try:
        async with client.stream("POST", f"{url}{path}", json={"question": question}) as response:
            status = response.status_code
            if status != 200:
                body = (await response.aread())[:200].decode(errors="replace")
                return Outcome(route, start, time.perf_counter() - t0, status, "http_error", body)
            if route == "ask":
                answer = json.loads(await response.aread())
                result = "ok" if "text" in answer else "http_error"
                return Outcome(route, start, time.perf_counter() - t0, status, result)
            last, data = "", ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    last = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
            result = {"answer": "ok", "error": "stream_error"}.get(last, "truncated")
            return Outcome(
                route, start, time.perf_counter() - t0, status, result, data[:200] if last != "answer" else ""
            )
    except httpx.TimeoutException as exc:
        return Outcome(route, start, time.perf_counter() - t0, status, "timeout", type(exc).__name__)
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        return Outcome(
            route, start, time.perf_counter() - t0, status, "connection_error", f"{type(exc).__name__}: {exc}"
        )


@dataclass
class LoadState:
    """Shared by the clients: when to stop, and the questions handed out in turn."""

    stop_at: float
    questions: itertools.cycle[str]
    routes: itertools.cycle[str] = field(default_factory=lambda: itertools.cycle(["ask", "stream"]))


async def client_loop(client: httpx.AsyncClient, url: str, state: LoadState, t0: float, out: list[Outcome]) -> None:
    while time.perf_counter() - t0 < state.stop_at:
        out.append(await ask_once(client, url, next(state.routes), next(state.questions), t0))


async def run_load(
    url: str, questions: list[str], clients: int, duration: float, timeout: float, during: IngestDuring | None = None
) -> tuple[list[Outcome], float]:
    """``clients`` concurrent loops until ``duration`` (pushed back while an ingest is still running);
    returns every outcome and the wall time."""
    state = LoadState(stop_at=duration, questions=itertools.cycle(questions))
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    out: list[Outcome] = []
    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        tasks = [asyncio.create_task(client_loop(client, url, state, t0, out)) for _ in range(clients)]
        if during is not None:
            tasks.append(asyncio.create_task(during.run(client, url, state, t0)))
        await asyncio.gather(*tasks)
    return out, time.perf_counter() - t0


class IngestDuring:
    """A quarter into the load: change one page of ``corpus`` (a copy), add one, and run
    `alignment-qa ingest` on it in another process; then probe until answers cite the new page."""

    def __init__(self, data_dir: Path, corpus: Path, duration: float, log_path: Path) -> None:
        self.data_dir, self.corpus, self.duration, self.log_path = data_dir, corpus, duration, log_path
        self.started: float | None = None
        self.ended: float | None = None
        self.visible_at: float | None = None
        self.returncode: int | None = None
        self.changed_page = ""

    async def run(self, client: httpx.AsyncClient, url: str, state: LoadState, t0: float) -> None:
        await asyncio.sleep(self.duration / 4)
        page = next(path for path in sorted(self.corpus.rglob("*.md")) if path.name != ADDED_PAGE)
        self.changed_page = page.relative_to(self.corpus).as_posix()
        with page.open("a", encoding="utf-8") as handle:
            handle.write(CHANGED_MARK)
        (self.corpus / ADDED_PAGE).write_text(ADDED_TEXT, encoding="utf-8")
        command = [sys.executable, "-m", "alignment_qa", "--data-dir", str(self.data_dir), "ingest", str(self.corpus)]
        self.started = time.perf_counter() - t0
        state.stop_at = max(state.stop_at, self.started + INGEST_LIMIT_S)  # the load goes on while it runs
        with self.log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(*command, env=ENV, stdout=log, stderr=subprocess.STDOUT)
            try:
                self.returncode = await asyncio.wait_for(process.wait(), INGEST_LIMIT_S)
            except TimeoutError:
                process.kill()
                self.returncode = await process.wait()
        self.ended = time.perf_counter() - t0
        state.stop_at = max(self.duration, self.ended + 125)  # the load goes on until answers cite the page
        while time.perf_counter() - t0 < self.ended + 120:  # store.refresh_seconds, and then some
            try:
                response = await client.post(f"{url}/api/ask", json={"question": PROBE})
                if response.status_code == 200 and any(
                    c.get("page_id") == ADDED_PAGE for c in response.json().get("citations", [])
                ):
                    self.visible_at = time.perf_counter() - t0
                    state.stop_at = max(self.duration, self.visible_at + 5)
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(2)
        state.stop_at = max(self.duration, time.perf_counter() - t0)

    def report(self, outcomes: list[Outcome]) -> dict[str, Any]:
        started = self.started if self.started is not None else float("inf")
        ended = self.ended if self.ended is not None else float("inf")
        during = [o for o in outcomes if o.end >= started and o.start <= ended]
        after = [o for o in outcomes if o.start > ended]
        return {
            "changed_page": self.changed_page,
            "added_page": ADDED_PAGE,
            "ingest_returncode": self.returncode,
            "ingest_started_s": _round(self.started),
            "ingest_s": _round(ended - started if self.ended is not None else None),
            "requests_during": len(during),
            "failed_during": sum(o.failed for o in during),
            "requests_after": len(after),
            "failed_after": sum(o.failed for o in after),
            "added_page_cited_after_ingest_s": _round(
                self.visible_at - ended if self.visible_at is not None and self.ended is not None else None
            ),
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summarize(outcomes: list[Outcome], wall_s: float) -> dict[str, Any]:
    """Counts, the status histogram, and latency percentiles (ms) of the successful requests."""
    results = Counter(o.result for o in outcomes)
    ok = [(o.end - o.start) * 1000 for o in outcomes if not o.failed]
    by_route = {
        route: percentiles([(o.end - o.start) * 1000 for o in outcomes if o.route == route and not o.failed] or [0.0])
        for route in ("ask", "stream")
    }
    examples = sorted({f"{o.result} {o.status}: {o.detail}"[:160] for o in outcomes if o.failed})[:5]
    return {
        "requests": len(outcomes),
        "ok": results["ok"],
        "errors": results["timeout"] + results["connection_error"] + results["truncated"],
        "stream_error_events": results["stream_error"],
        "http_5xx": sum(1 for o in outcomes if o.status is not None and o.status >= 500),
        "status_codes": {str(k): v for k, v in sorted(Counter(str(o.status) for o in outcomes).items())},
        "results": dict(results),
        "latency_ms": percentiles(ok or [0.0]),
        "latency_by_route_ms": by_route,
        "throughput_per_s": round(results["ok"] / wall_s, 2) if wall_s else 0.0,
        "wall_s": round(wall_s, 1),
        "failure_examples": examples,
    }


def sequential_baseline(url: str, questions: list[str], timeout: float) -> dict[str, Any]:
    """One client, one question at a time on POST /api/ask."""
    times, failed = [], 0
    with httpx.Client(timeout=timeout) as client:
        for question in questions:
            started = time.perf_counter()
            response = client.post(f"{url}/api/ask", json={"question": question})
            times.append((time.perf_counter() - started) * 1000)
            failed += response.status_code != 200
    return {"requests": len(times), "failed": failed, **percentiles(times), "throughput_per_s": _per_s(times)}


def _per_s(times_ms: list[float]) -> float:
    return round(len(times_ms) / (sum(times_ms) / 1000), 2) if times_ms else 0.0


def print_table(result: dict[str, Any]) -> None:
    load, base = result["load"], result["baseline_sequential"]
    rows = [
        ("machine", f"{result['cores']} cores"),
        ("corpus", result["corpus"]),
        (
            "baseline: 1 client, sequential",
            f"p50 {base['p50_ms']} ms, p95 {base['p95_ms']} ms, "
            f"{base['throughput_per_s']}/s, {base['failed']} failed of {base['requests']}",
        ),
        (f"load: {result['clients']} clients, {load['wall_s']} s", f"{load['requests']} requests, {load['ok']} ok"),
        ("  errors (transport, timeout, cut stream)", load["errors"]),
        ("  SSE error events", load["stream_error_events"]),
        ("  5xx responses", load["http_5xx"]),
        ("  status codes", json.dumps(load["status_codes"])),
        ("  latency p50 / p95", f"{load['latency_ms']['p50_ms']} / {load['latency_ms']['p95_ms']} ms"),
        ("  throughput", f"{load['throughput_per_s']} answers/s"),
        (
            "serve memory: idle / peak under load / VmHWM",
            f"{result['rss_idle_mb']} / {result['rss_peak_load_mb']} / {result['rss_hwm_mb']} MB",
        ),
    ]
    if "ingest_during" in result:
        ing = result["ingest_during"]
        rows += [
            ("ingest during load: rc, seconds", f"{ing['ingest_returncode']}, {ing['ingest_s']} s"),
            (
                "  failed during / after ingest",
                f"{ing['failed_during']} of {ing['requests_during']} / "
                f"{ing['failed_after']} of {ing['requests_after']}",
            ),
            ("  added page cited, s after ingest", ing["added_page_cited_after_ingest_s"]),
        ]
    width = max(len(str(name)) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for example in load["failure_examples"]:
        print(f"  e.g. {example}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_corpus = SHARED_CORPUS if SHARED_CORPUS.is_dir() else SAMPLE_CORPUS
    parser.add_argument("corpus", nargs="?", type=Path, default=default_corpus)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a request may take")
    parser.add_argument("--baseline", type=int, default=20, help="questions asked sequentially first")
    parser.add_argument("--data-dir", type=Path, help="reuse the index in this folder (not with --ingest-during)")
    parser.add_argument("--ingest-during", action="store_true", help="another process ingests during the load")
    parser.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "load.json")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"corpus not found: {args.corpus}")
    if args.ingest_during and args.data_dir:
        sys.exit("--ingest-during builds its own index of a copy of the corpus; drop --data-dir")
    if args.clients < 1 or args.duration <= 0:
        sys.exit("--clients and --duration must be positive")

    questions = dev_questions()
    result: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "corpus": str(args.corpus),
        "clients": args.clients,
        "duration_s": args.duration,
        "mix": "alternating POST /api/ask and POST /api/ask/stream",
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = args.corpus
        if args.ingest_during:
            corpus = work / "corpus"
            shutil.copytree(args.corpus, corpus)
        data_dir = args.data_dir or work / "data"
        if not (data_dir.is_dir() and any(data_dir.iterdir())):
            print(f"indexing {corpus} ...", file=sys.stderr)
            ingest_cli(data_dir, corpus)
        process, url = start_serve(data_dir, work / "serve.log")
        try:
            httpx.post(f"{url}/api/ask", json={"question": questions[0]}, timeout=args.timeout)  # warm-up
            result["baseline_sequential"] = sequential_baseline(url, questions[: args.baseline], args.timeout)
            result["rss_idle_mb"] = _round(memory_mb(process.pid, "VmRSS"), 0)
            during = IngestDuring(data_dir, corpus, args.duration, work / "ingest.log") if args.ingest_during else None
            with MemoryWatch(process.pid) as watch:
                outcomes, wall_s = asyncio.run(
                    run_load(url, questions, args.clients, args.duration, args.timeout, during)
                )
            result["rss_peak_load_mb"] = round(watch.peak_mb)
            result["rss_hwm_mb"] = _round(memory_mb(process.pid, "VmHWM"), 0)
            result["load"] = summarize(outcomes, wall_s)
            if during is not None:
                result["ingest_during"] = during.report(outcomes)
                if during.returncode:
                    print(log_tail(work / "ingest.log"), file=sys.stderr)
            result["serve_alive_after"] = process.poll() is None
            result["serve_log_errors"] = sum(
                "Traceback" in line or " ERROR" in line for line in (work / "serve.log").read_text().splitlines()
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2))
    print_table(result)
    print(f"JSON: {args.json_out}")


if __name__ == "__main__":
    main()
