"""Evidence-answer benchmark: today's sentence selection against the sentence-vector scorer, in one run.

Over one index (``--data-dir`` of an existing index, else ../shared/corpus ingested into a temp
folder) and the tune questions (eval/questions.jsonl rows whose split is tune, else
eval/dev-questions.jsonl), each question is retrieved once; then on the same passages:
- today: the former selection (IDF word overlap keeps 16 sentences, those are embedded and
  blended with cosine, at most 4 quoted, in page order);
- now: every quotable sentence scored by its own cosine (cached vectors), overlap, passage rank
  and answer type, then the coverage decision and the choice of sentences (``Assistant``).
It reports, for each, the answer step's p50/p95 in milliseconds (``now`` with a cold and a warm
sentence cache) and the share of questions whose answer contains a gold evidence sentence
(content-word overlap >= 0.8), and the full ``Assistant.ask`` p50 in evidence mode.

Usage: python bench/evidence_bench.py [--data-dir DIR] [--limit N] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def tune_questions(limit: int | None) -> list[dict[str, Any]]:
    rows = []
    for name in ("questions.jsonl", "dev-questions.jsonl"):
        path = REPO / "eval" / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    if row.get("split", "tune") == "tune" and row["id"] not in {r["id"] for r in rows}:
                        rows.append(row)
    return rows[:limit] if limit else rows


def todays_selection(
    question: str,
    vector: np.ndarray,
    passages: Sequence[Any],
    embedder: Any,
    analyzer: Any,
    idf: Callable[[str], float],
) -> list[str]:
    """The selection this project shipped before sentence vectors (kept here as the baseline)."""
    from alignment_qa.engine.evidence import candidate_sentences

    candidates = candidate_sentences(passages)
    if not candidates:
        return []
    wanted = analyzer.term_set(question)
    total = sum(idf(term) for term in wanted) or 1.0
    lexical = [sum(idf(t) for t in wanted if t in analyzer.term_set(c[1])) / total for c in candidates]
    bonus = [0.1 / (1 + c[0]) for c in candidates]
    order = sorted(range(len(candidates)), key=lambda i: -(lexical[i] + bonus[i]))[:16]
    vectors = embedder.encode([candidates[i][1] for i in order])
    cosines = vectors @ vector
    scored = sorted(
        ((0.6 * float(cosines[p]) + 0.4 * lexical[i] + bonus[i] / 2, i, vectors[p]) for p, i in enumerate(order)),
        key=lambda item: -item[0],
    )
    chosen: list[tuple[float, int, np.ndarray]] = []
    for score, i, vec in scored:
        if len(chosen) >= 4 or (chosen and score < 0.6 * scored[0][0]):
            break
        if any(float(vec @ other[2]) > 0.9 for other in chosen):
            continue
        chosen.append((score, i, vec))
    return [candidates[i][1] for _, i, _ in chosen]


def contains(analyzer: Any, gold: str, sentences: Sequence[str]) -> bool:
    wanted = analyzer.term_set(gold)
    return bool(wanted) and any(len(wanted & analyzer.term_set(s)) / len(wanted) >= 0.8 for s in sentences)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from llama_index.core.schema import QueryBundle

    from alignment_qa.engine.answer_type import asks_for_several
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.engine.evidence import choose, for_answer
    from alignment_qa.index.embedder import build_embedder, follow_index
    from alignment_qa.index.store import ChunkStore
    from alignment_qa.ingest.pipeline import ingest
    from alignment_qa.settings import load_settings

    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="evidence-bench-"))
    settings = load_settings(None, {"store.data_dir": str(folder), "support.judge": "similarity"}).settings
    settings = follow_index(settings, ChunkStore(settings.store))  # an older index keeps its vectors' precision
    embedder = build_embedder(settings)
    if args.data_dir is None:
        ingest([args.corpus], settings, embedder, ChunkStore(settings.store))
    assistant = Assistant.open(settings, embedder=embedder)
    engine, analyzer, idf = assistant.query_engine, assistant.analyzer, assistant.keyword_index.idf
    rows = tune_questions(args.limit)
    times: dict[str, list[float]] = {"today": [], "now_cold": [], "now_warm": [], "ask": []}
    found = {"today": 0, "now": 0}
    judged = 0
    for row in rows:
        bundle = QueryBundle(query_str=row["question"])
        passages = engine.retrieve(bundle, settings.retrieval.top_k)
        vector = np.asarray(bundle.embedding, dtype=np.float32)
        expanded = engine.retriever.expand(row["question"])
        started = time.perf_counter()
        today = todays_selection(expanded, vector, passages, embedder, analyzer, idf)
        times["today"].append((time.perf_counter() - started) * 1000)
        now: list[str] = []
        for cache in ("now_cold", "now_warm"):
            if cache == "now_cold":
                engine.parts.sentence_vectors.clear()
            started = time.perf_counter()
            scored = engine.score(bundle, passages)
            coverage = engine.coverage(row["question"], passages, scored)
            chosen = (
                choose(
                    for_answer(scored),
                    settings.answer.max_sentences,
                    settings.answer.keep_ratio,
                    follow_ratio=settings.answer.follow_ratio,
                    side_ratio=settings.answer.side_ratio,
                    several=asks_for_several(row["question"]),
                )
                if coverage.covered
                else []
            )
            times[cache].append((time.perf_counter() - started) * 1000)
            now = [item.text for item in chosen]
        started = time.perf_counter()
        assistant.ask(row["question"])
        times["ask"].append((time.perf_counter() - started) * 1000)
        golds = [item["text"] for item in row.get("evidence", [])]
        if row.get("answerable", True) and golds:
            judged += 1
            found["today"] += any(contains(analyzer, gold, today) for gold in golds)
            found["now"] += any(contains(analyzer, gold, now) for gold in golds)
    report = {
        "questions": len(rows),
        "with_evidence": judged,
        **{f"{name}_p50_ms": round(statistics.median(values), 1) for name, values in times.items()},
        **{f"{name}_p95_ms": round(float(np.percentile(values, 95)), 1) for name, values in times.items()},
        **{f"{name}_evidence_in_answer": round(hits / max(judged, 1), 3) for name, hits in found.items()},
    }
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
