"""Re-ingest and cold start at scale, in minutes: the store's costs at 1x and 100x on indexes of random vectors.

A real 100x ingest takes about 78 minutes here (``bench/scale_bench.py``), nearly all of it the model. What an
unchanged re-ingest, a one-page change and ``serve``'s first answer cost on a large index is the store's work
(reading page states, the keyword index, the sentence-vector collections), and that does not depend on what the
vectors are. So for each scale this builds the synthetic corpus of ``scale_bench`` and indexes it in-process with
the product's own ingest, the model's outputs replaced by random unit vectors of the same shapes (one per chunk,
one per quotable sentence). Then, each a whole CLI process as in ``scale_bench`` and three times (the median):
- an unchanged re-ingest;
- a one-page change (a sentence appended to one page; the model runs for real on that page);
- ``serve`` from start to its first answer, and its resident memory after 20 answers through POST /api/ask.
Answers over random vectors are meaningless, and random vectors are about the hardest case for Chroma's HNSW
search, so the first-answer and memory figures compare with this bench's own baseline, not with ``scale_bench``.
The first scale is the baseline, run the same way.

Usage: python bench/reingest_bench.py [CORPUS] [--scales 1,100] [--work DIR] [--out FILE.json]
(--work keeps the indexes there, and a later run reuses them.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scale_bench import resident_mb, synthetic_corpus
from serve_bench import ENV, REPO, ask_http, cold_start, dev_questions, ingest_cli

RUNS = 3


def random_index(corpus: Path, data_dir: Path) -> dict[str, Any]:
    """Index ``corpus`` into ``data_dir`` with the real ingest, every vector random (the model is never run)."""
    from alignment_qa.index.embedder import build_embedder
    from alignment_qa.index.store import ChunkStore
    from alignment_qa.ingest.pipeline import ingest
    from alignment_qa.settings import load_settings

    settings = load_settings(None, {"store.data_dir": str(data_dir)}).settings
    embedder = build_embedder(settings)
    rng = np.random.default_rng(0)
    dimension = embedder.dimension

    def unit(rows: int) -> np.ndarray:
        vectors = rng.standard_normal((rows, dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def encode(
        texts: Sequence[str], on_batch: Callable[[int], None] | None = None, lengths: Sequence[int] | None = None
    ) -> np.ndarray:
        if on_batch:
            on_batch(len(texts))
        return unit(len(texts))

    def encode_spans(
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        on_batch: Callable[[int], None] | None = None,
        lengths: Sequence[int] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        return encode(texts, on_batch), [unit(len(found)) for found in spans]

    embedder.encode = encode  # type: ignore[method-assign]
    embedder.encode_spans = encode_spans  # type: ignore[method-assign]
    started = time.perf_counter()
    with ChunkStore(settings.store) as store:
        summary = ingest([corpus], settings, embedder, store)
    return {
        "build_s": round(time.perf_counter() - started, 1),
        "chunks": summary.chunks_total,
        "sentence_vectors": summary.sentences_embedded,
    }


def median_seconds(action: Callable[[], None]) -> float:
    """The median wall time of ``RUNS`` calls of ``action``."""
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 2)


def measure(source: Path, scale: int, work: Path) -> dict[str, Any]:
    """Build (or reuse) the random-vector index of ``scale`` under ``work``, then time it as the module says."""
    corpus, data_dir = work / f"corpus-{scale}", work / f"data-{scale}"
    built = work / f"built-{scale}.json"
    if not built.exists():  # a build that was cut off is started again
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
        info = {"pages": synthetic_corpus(source, corpus, scale), **random_index(corpus, data_dir)}
        built.write_text(json.dumps(info))
        print(f"{scale}x: built {info}", flush=True)
    row: dict[str, Any] = {"scale": scale, **json.loads(built.read_text())}
    ingest_cli(data_dir, corpus)  # settle: a first run after an upgrade may move or complete records
    row["reingest_unchanged_s"] = median_seconds(lambda: ingest_cli(data_dir, corpus))
    edited = sorted(corpus.rglob("*.md"))[0]  # atlas/01/01.md of the development corpus

    def change_one_page() -> None:
        edited.write_text(edited.read_text(encoding="utf-8") + f"\n\nOne more sentence, at {time.time_ns()}.\n")
        ingest_cli(data_dir, corpus)

    row["one_page_change_s"] = median_seconds(change_one_page)
    print(f"{scale}x: unchanged {row['reingest_unchanged_s']} s, one page {row['one_page_change_s']} s", flush=True)
    questions = dev_questions()
    firsts, memory = [], []
    for _ in range(RUNS):
        seconds, server, url = cold_start(data_dir, questions[0])
        try:
            firsts.append(seconds)
            for question in questions[:20]:
                ask_http(url, question)
            memory.append(resident_mb(server.pid)["rss_mb"])
        finally:
            server.terminate()
            server.wait(timeout=60)
    row["serve_first_answer_s"] = round(statistics.median(firsts), 2)
    row["serve_rss_mb"] = round(statistics.median(memory))
    print(f"{scale}x: serve first answer {row['serve_first_answer_s']} s, {row['serve_rss_mb']} MB", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--scales", default="1,100", help="comma-separated, the first is the baseline")
    parser.add_argument("--work", type=Path, help="keep the corpora and indexes here (reused by a later run)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "reingest.json")
    args = parser.parse_args()
    source = Path(args.corpus)
    if not source.is_dir():
        sys.exit(f"corpus not found: {source}")
    os.environ.update(ENV)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = [measure(source, int(scale), work) for scale in args.scales.split(",")]
    base = rows[0]
    for row in rows[1:]:
        for key in ("reingest_unchanged_s", "one_page_change_s", "serve_first_answer_s", "serve_rss_mb"):
            row[f"{key}_vs_{base['scale']}x"] = round(row[key] / base[key], 2)
    result = {"cores": os.cpu_count(), "runs": RUNS, "vectors": "random (store costs only)", "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
