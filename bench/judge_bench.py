"""How long the structured support judge takes per pair, on the held-out pairs, with the packaged model.

Two figures per embedding backend: pairs scored in one batch (as verify scores an answer: passages shared, embedded
once) and pairs scored one call at a time with an empty embedding cache (the worst case: every premise sentence
embedded for one claim). The shipped default (``auto``: int8 ONNX on the CPU for the packaged model) is measured
against torch fp32, the baseline, in the same run. Torch is limited to --threads threads.
Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/judge_bench.py [--pairs N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from alignment_qa.engine.judge import StructuredSupport
from alignment_qa.eval.calibration import load_held_out
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.lexical import Analyzer
from alignment_qa.settings import EmbeddingSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=0, help="score only the first N held-out pairs (0: all)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = [(pair.passage, pair.sentence) for pair in load_held_out()]
    pairs = pairs[: args.pairs] if args.pairs else pairs
    print(f"{len(pairs)} held-out pairs, {os.cpu_count()} cores, {args.threads} torch threads")
    model = str(EmbeddingSettings.model_fields["model"].default)
    with tempfile.TemporaryDirectory() as cache:
        for backend in ("auto", "torch"):
            embedder = Embedder(model, backend=backend, cache_dir=Path(cache))
            embedder.encode(["warm up"])
            batch, median, p95 = _timings(embedder, pairs)
            name = f"{backend} ({embedder.backend})" + (", the baseline" if backend == "torch" else "")
            print(f"{name}: batch (passages embedded once) {batch:.1f} ms per pair; one pair per call, empty cache:")
            print(f"  median {median:.1f} ms, p95 {p95:.1f} ms")


def _timings(embedder: Embedder, pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    """Milliseconds per pair in one batch, and the median and p95 of one pair per call with an empty cache."""
    judge = StructuredSupport(embedder, Analyzer())
    start = time.perf_counter()
    judge.support_many(pairs)
    batch = (time.perf_counter() - start) * 1000 / len(pairs)
    cold = []
    for premise, claim in pairs:
        fresh = StructuredSupport(embedder, Analyzer())
        start = time.perf_counter()
        fresh.support(premise, claim)
        cold.append((time.perf_counter() - start) * 1000)
    cold.sort()
    return batch, cold[len(cold) // 2], cold[int(len(cold) * 0.95)]


if __name__ == "__main__":
    main()
