"""Ingest benchmark over ../shared/corpus, against raw SentenceTransformer.encode as the baseline.

Measures, in one run on this machine: a fresh `alignment-qa ingest` as a user runs it (a new
process: start-up, imports, model load, cleaning, chunking, embedding, Chroma writes), its peak
memory, a re-ingest of the unchanged corpus, and the raw `SentenceTransformer.encode` time for
exactly the same chunk texts (model already loaded and warmed up, so the baseline is favoured).
Usage: python bench/ingest_bench.py [CORPUS] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli(data_dir: Path, *args: str) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "alignment_qa", "--data-dir", str(data_dir), *args]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ingest.json")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        sys.exit(f"corpus not found: {corpus}")

    from alignment_qa.index.embedder import resolve_model_location
    from alignment_qa.index.store import ChunkStore
    from alignment_qa.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        ingest_s = cli(data_dir, "ingest", str(corpus))
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        reingest_s = cli(data_dir, "ingest", str(corpus))

        settings = load_settings(None, {"store.data_dir": str(data_dir)}).settings
        store = ChunkStore(settings.store)
        collection = store.collection(settings.embedding.identity)
        assert collection is not None
        records = list(collection.read_chunks())
        texts = [str(hit.metadata["prefix"]) + hit.text for hit in records]
        pages = len({hit.metadata["page_id"] for hit in records})

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_model_location(settings.embedding.model), device="cpu")
    model.encode(["warm-up"] * 8)
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True)  # sentence-transformers' default batch
    encode_s = time.perf_counter() - started

    result = {
        "cores": os.cpu_count(),
        "corpus": str(corpus),
        "pages": pages,
        "chunks": len(texts),
        "ingest_wall_s": round(ingest_s, 2),
        "chunks_per_s": round(len(texts) / ingest_s, 1),
        "peak_rss_mb": round(peak_mb),
        "raw_encode_s": round(encode_s, 2),
        "ingest_over_raw_encode": round(ingest_s / encode_s, 3),
        "reingest_unchanged_s": round(reingest_s, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"machine: {result['cores']} cores; corpus: {corpus} ({pages} pages, {len(texts)} chunks)")
    print(f"fresh ingest (CLI process, all included): {ingest_s:7.2f} s  ({result['chunks_per_s']} chunks/s)")
    print(f"  peak memory of the ingest process:       {peak_mb:7.0f} MB")
    print(f"raw SentenceTransformer.encode, same texts: {encode_s:6.2f} s  (baseline, model preloaded)")
    print(f"  ratio ingest / raw encode:               {ingest_s / encode_s:7.3f}x  (target <= 1.15x)")
    print(f"re-ingest of the unchanged corpus (CLI):   {reingest_s:7.2f} s  (target < 3 s)")


if __name__ == "__main__":
    main()
