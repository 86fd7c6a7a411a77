"""How long the structured support judge takes per pair, on the held-out pairs, with the packaged model.

Two figures: pairs scored in one batch (as verify scores an answer: passages shared, embedded once) and pairs scored
one call at a time with an empty embedding cache (the worst case: every premise sentence embedded for one claim).
Torch is limited to --threads threads. Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/judge_bench.py [--pairs N]
"""

from __future__ import annotations

import argparse
import time

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
    embedder = Embedder(str(EmbeddingSettings.model_fields["model"].default))
    embedder.encode(["warm up"])
    pairs = [(pair.passage, pair.sentence) for pair in load_held_out()]
    pairs = pairs[: args.pairs] if args.pairs else pairs
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
    print(f"{len(pairs)} held-out pairs, {args.threads} torch threads")
    print(f"batch (passages embedded once): {batch:.1f} ms per pair")
    median, p95 = cold[len(cold) // 2], cold[int(len(cold) * 0.95)]
    print(f"one pair per call, empty cache: median {median:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
