"""Embedding backends over ../shared/corpus: torch, onnx and onnx-int8, against raw fp32 encode in the same run.

For each backend, in one run on this machine: a whole `alignment-qa ingest --rebuild` process of the corpus
(the ONNX export is made once beforehand and cached, as it is for a user after the first start), the same with
``ingest.sentence_vectors = false`` (chunk vectors only), the raw
encode time of exactly the same chunk texts with the model already loaded, the vectors' cosine to the fp32
ones, and the time to embed one question. The baseline is raw `SentenceTransformer.encode` (fp32, model
loaded and warmed up, its default batch of 32) of the same texts; the same encode in batches of 4 (what alignment-qa
uses on the CPU) is printed beside it. Retrieval and answer quality per backend are measured with
`alignment-qa eval -s embedding.backend=...` (see docs/performance.md). Usage:
python bench/embed_bench.py [CORPUS] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ("torch", "onnx", "onnx-int8")
QUESTIONS = ["What is reward hacking?", "Is RLHF an inner alignment fix?", "Who proposed debate as a safety method?"]


def cli(data_dir: Path, backend: str, *args: str) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "alignment_qa", "--data-dir", str(data_dir), "-s", f"embedding.backend={backend}"]
    started = time.perf_counter()
    subprocess.run([*command, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def timed(encode, texts: list[str]) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    vectors = encode(texts)
    return time.perf_counter() - started, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "embed.json")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        sys.exit(f"corpus not found: {corpus}")

    import numpy as np
    from sentence_transformers import SentenceTransformer

    from alignment_qa.index.embedder import Embedder, resolve_model_location
    from alignment_qa.index.store import ChunkStore
    from alignment_qa.settings import load_settings

    results: dict[str, object] = {"cores": os.cpu_count(), "corpus": str(corpus), "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        cli(data_dir, "torch", "ingest", str(corpus))  # the chunks, and a warm page cache for every run
        settings = load_settings(None, {"store.data_dir": str(data_dir), "embedding.backend": "torch"}).settings
        store = ChunkStore(settings.store)
        collection = store.collection(settings.embedding.identity)
        assert collection is not None
        texts = [str(chunk.metadata["prefix"]) + chunk.text for chunk in collection.read_chunks()]
        store.close()

        model = SentenceTransformer(resolve_model_location(settings.embedding.model), device="cpu")
        model.encode(texts[:64], batch_size=32)  # warm-up
        order = sorted(texts, key=len, reverse=True)  # as the embedder batches them
        baseline_s, reference = timed(
            lambda batch: model.encode(batch, batch_size=32, normalize_embeddings=True, convert_to_numpy=True), order
        )
        small_batch_s, _ = timed(
            lambda batch: model.encode(batch, batch_size=4, normalize_embeddings=True, convert_to_numpy=True), order
        )
        results["chunks"] = len(texts)
        results["baseline"] = {
            "name": "raw SentenceTransformer.encode, fp32, model loaded, its default batch of 32",
            "seconds": baseline_s,
            "batch_4_seconds": small_batch_s,  # the batch alignment-qa uses on the CPU, for comparison
        }
        print(
            f"{len(texts)} chunks, {os.cpu_count()} cores; baseline raw fp32 encode: {baseline_s:.1f} s "
            f"(batches of 4, as alignment-qa uses on the CPU: {small_batch_s:.1f} s)"
        )

        for backend in BACKENDS:
            embedder = Embedder(settings.embedding.model, backend=backend, cache_dir=data_dir / "models")
            embedder.encode(texts[:64])  # loads the model (and exports it once for onnx)
            raw_s, vectors = timed(embedder.encode, order)
            cosines = np.sum(np.asarray(vectors) * np.asarray(reference), axis=1)
            query_ms = []
            for _ in range(5):
                for question in QUESTIONS:
                    started = time.perf_counter()
                    embedder.encode([question])
                    query_ms.append((time.perf_counter() - started) * 1000)
            ingest_s = cli(data_dir, backend, "ingest", "--rebuild", str(corpus))
            chunks_only = ("-s", "ingest.sentence_vectors=false", "ingest", "--rebuild", str(corpus))
            chunks_only_s = cli(data_dir, backend, *chunks_only)
            row = {
                "raw_encode_s": raw_s,
                "raw_vs_baseline": raw_s / baseline_s,
                "ingest_process_s": ingest_s,
                "ingest_vs_baseline": ingest_s / baseline_s,
                "ingest_without_sentence_vectors_s": chunks_only_s,
                "ingest_without_sentence_vectors_vs_baseline": chunks_only_s / baseline_s,
                "cosine_to_fp32_mean": float(cosines.mean()),
                "cosine_to_fp32_min": float(cosines.min()),
                "query_embed_p50_ms": statistics.median(query_ms),
            }
            results["backends"][backend] = row  # type: ignore[index]
            print(
                f"{backend:10s} raw {raw_s:6.1f} s ({row['raw_vs_baseline']:.2f}x)  whole ingest {ingest_s:6.1f} s "
                f"({row['ingest_vs_baseline']:.2f}x; {row['ingest_without_sentence_vectors_vs_baseline']:.2f}x without "
                f"sentence vectors)  cosine to fp32 mean {row['cosine_to_fp32_mean']:.4f} "
                f"min {row['cosine_to_fp32_min']:.4f}  one question {row['query_embed_p50_ms']:.1f} ms"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
