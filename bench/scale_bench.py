"""Scale benchmark: the development corpus at 1x, 10x and 100x, with a table and a plot.

For each scale N, a synthetic corpus is written: the pages of ../shared/corpus plus N-1 rewritten copies of
each under new page ids (``copy-K/...``). A copy is new text, not a perturbed vector: its headings carry the
copy's number, a fixed set of word substitutions picked by K is applied, and the sentences of each line are
rotated by K. So ingest cleans, chunks and embeds every copy, BM25 indexes it, and Chroma stores and searches it.
Then, in a fresh data folder and with the product's default settings:
- ingest: the whole `alignment-qa ingest` process, its wall time and chunks per second;
- unchanged re-ingest and a one-page change (one page edited), each a whole CLI process;
- retrieval (``Assistant.search``) and evidence answers (``Assistant.ask``) over the 80 dev questions, p50/p95;
- resident memory of `alignment-qa serve` after answering 20 questions through POST /api/ask.
The 1x run is the baseline: every figure is also given as a ratio to it, beside the ratio of the corpus sizes.
Writes bench/results/scale.json and docs/scale.png (needs the `bench` extra, for matplotlib).

Usage: python bench/scale_bench.py [CORPUS] [--scales 1,10,100] [--out FILE.json] [--plot FILE.png] [--replot]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from serve_bench import ENV, REPO, ask_http, cold_start, dev_questions, ingest_cli, percentiles

SUBSTITUTIONS = (
    ("model", "system"),
    ("models", "systems"),
    ("AI", "machine intelligence"),
    ("alignment", "value alignment"),
    ("important", "significant"),
    ("example", "instance"),
    ("training", "optimisation"),
    ("human", "person"),
    ("problem", "difficulty"),
    ("risk", "hazard"),
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def rewrite(text: str, copy: int) -> str:
    """Copy number ``copy`` of a page: numbered headings, substituted words, rotated sentences."""
    chosen = [pair for bit, pair in enumerate(SUBSTITUTIONS) if (copy >> (bit % 8)) & 1 or bit == copy % 10]
    lines = []
    for line in text.split("\n"):
        if line.startswith("#"):  # before a trailing "{: #anchor}" attribute list
            lines.append(re.sub(r"(\s*\{:[^}]*\})?\s*$", rf" (copy {copy})\1", line, count=1))
            continue
        if line.startswith(("title:", "---", "```", "|")) or not line.strip():
            lines.append(f"{line} (copy {copy})" if line.startswith("title:") else line)
            continue
        for old, new in chosen:
            line = re.sub(rf"\b{re.escape(old)}\b", new, line)
        sentences = _SENTENCE_END.split(line)
        if len(sentences) > 1:
            shift = copy % len(sentences)
            line = " ".join(sentences[shift:] + sentences[:shift])
        lines.append(line)
    return "\n".join(lines)


def synthetic_corpus(source: Path, target: Path, scale: int) -> int:
    """The pages of ``source`` and ``scale - 1`` rewritten copies under ``target``; returns the page count."""
    pages = [path for path in sorted(source.rglob("*")) if path.is_file() and path.suffix in (".md", ".txt")]
    for path in pages:
        relative = path.relative_to(source)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)
        text = path.read_text(encoding="utf-8")
        for copy in range(1, scale):
            destination = target / f"copy-{copy:03d}" / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(rewrite(text, copy), encoding="utf-8")
    return len(pages) * scale


def cli_seconds(data_dir: Path, corpus: Path) -> float:
    """Seconds a whole `alignment-qa ingest` process takes."""
    started = time.perf_counter()
    ingest_cli(data_dir, corpus)
    return time.perf_counter() - started


def resident_mb(pid: int) -> dict[str, float]:
    """Current and peak resident memory of process ``pid`` in MB (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields["VmRSS"], "peak_mb": fields["VmHWM"]}


def timed_ms(function: Any, questions: list[str]) -> list[float]:
    times = []
    for question in questions:
        started = time.perf_counter()
        function(question)
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure(source: Path, scale: int, work: Path) -> dict[str, Any]:
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.settings import load_settings

    corpus, data_dir = work / "corpus", work / "data"
    pages = synthetic_corpus(source, corpus, scale)
    row: dict[str, Any] = {"scale": scale, "pages": pages}
    row["ingest_s"] = round(cli_seconds(data_dir, corpus), 1)
    print(f"{scale}x: fresh ingest {row['ingest_s']} s", flush=True)  # partial figures survive an interrupted run
    row["reingest_unchanged_s"] = round(cli_seconds(data_dir, corpus), 2)
    edited = next(path for path in sorted(corpus.rglob("*.md")))
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\nOne more sentence, written by the benchmark.\n")
    row["one_page_change_s"] = round(cli_seconds(data_dir, corpus), 2)
    print(f"{scale}x: unchanged re-ingest {row['reingest_unchanged_s']} s, one page {row['one_page_change_s']} s")

    questions = dev_questions()
    seconds, server, url = cold_start(data_dir, questions[0])
    try:
        row["serve_first_answer_s"] = round(seconds, 2)
        for question in questions[:20]:
            ask_http(url, question)
        row["serve_memory"] = resident_mb(server.pid)
        print(f"{scale}x: serve first answer {row['serve_first_answer_s']} s, {row['serve_memory']}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)

    assistant = Assistant.open(load_settings(None, {"store.data_dir": str(data_dir)}).settings)
    row["chunks"] = assistant.collection.count()
    row["chunks_per_s"] = round(row["chunks"] / row["ingest_s"], 1)
    assistant.ask(questions[0])  # warm up
    row["retrieve"] = percentiles(timed_ms(lambda q: assistant.search(q, 5), questions))
    row["answer_evidence"] = percentiles(timed_ms(assistant.ask, questions))
    assistant.store.close()
    return row


def with_ratios(rows: list[dict[str, Any]]) -> None:
    """Each row's figures as ratios to the first (1x) row, beside the ratio of chunks."""
    base = rows[0]
    for row in rows:
        row["ratio_to_1x"] = {
            "chunks": round(row["chunks"] / base["chunks"], 2),
            "ingest_s": round(row["ingest_s"] / base["ingest_s"], 2),
            "retrieve_p50": round(row["retrieve"]["p50_ms"] / base["retrieve"]["p50_ms"], 2),
            "answer_p50": round(row["answer_evidence"]["p50_ms"] / base["answer_evidence"]["p50_ms"], 2),
            "serve_rss": round(row["serve_memory"]["rss_mb"] / base["serve_memory"]["rss_mb"], 2),
        }


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chunks = [row["chunks"] for row in rows]
    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    left, middle, right = axes
    left.plot(chunks, [row["ingest_s"] for row in rows], "o-", label="fresh ingest")
    left.plot(chunks, [rows[0]["ingest_s"] * c / chunks[0] for c in chunks], "--", color="grey", label="linear")
    left.set(xscale="log", yscale="log", xlabel="chunks", ylabel="seconds", title="Ingest (whole CLI process)")
    for key, label in (("retrieve", "retrieval"), ("answer_evidence", "evidence answer")):
        middle.plot(chunks, [row[key]["p50_ms"] for row in rows], "o-", label=f"{label} p50")
        middle.plot(chunks, [row[key]["p95_ms"] for row in rows], "o:", label=f"{label} p95")
    middle.set(xscale="log", xlabel="chunks", ylabel="milliseconds", title="Per question (80 dev questions)")
    right.plot(chunks, [row["serve_memory"]["rss_mb"] for row in rows], "o-", label="serve RSS")
    right.plot(chunks, [row["reingest_unchanged_s"] for row in rows], "s-", label="unchanged re-ingest (s)")
    right.plot(chunks, [row["one_page_change_s"] for row in rows], "^-", label="one-page change (s)")
    right.set(xscale="log", yscale="log", xlabel="chunks", title="Memory (MB) and re-ingest (s)")
    from matplotlib.ticker import NullFormatter

    for axis in axes:
        axis.legend(fontsize=8)
        axis.grid(True, alpha=0.3)
        axis.xaxis.set_minor_formatter(NullFormatter())  # log axes: label the decades only
    figure.suptitle(f"alignment-qa at {', '.join(str(row['scale']) + 'x' for row in rows)} ({os.cpu_count()} cores)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--scales", default="1,10,100", help="comma-separated, the first is the baseline")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "scale.json")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "scale.png")
    parser.add_argument("--replot", action="store_true", help="only draw the plot again from --out")
    args = parser.parse_args()
    if args.replot:
        plot(json.loads(args.out.read_text())["rows"], args.plot)
        return
    source = Path(args.corpus)
    if not source.is_dir():
        sys.exit(f"corpus not found: {source}")
    os.environ.update(ENV)
    rows = []
    with tempfile.TemporaryDirectory() as models:
        # one ONNX export for every run, made before any timing (it would otherwise land in the first ingest)
        os.environ["ALIGNMENT_QA_EMBEDDING__CACHE_DIR"] = ENV["ALIGNMENT_QA_EMBEDDING__CACHE_DIR"] = models
        from alignment_qa.index.embedder import build_embedder
        from alignment_qa.settings import load_settings

        build_embedder(load_settings(None, {}).settings).encode(["export the model once"])
        for scale in (int(value) for value in args.scales.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                rows.append(measure(source, scale, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    with_ratios(rows)
    result = {"cores": os.cpu_count(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    plot(rows, args.plot)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
