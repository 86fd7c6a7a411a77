"""Retrieval and answer benchmark over ../shared/corpus, against LlamaIndex's defaults.

In one run on this machine:
- alignment-qa: hybrid retrieval (dense + BM25 + aliases, merge, diversity) and evidence-only
  answers through ``Assistant``, on the dev questions (eval/dev-questions.jsonl): page-level
  hit@5 on the answerable ones, retrieval latency p50/p95, answer latency p50/p95.
- baseline: LlamaIndex's default ``VectorStoreIndex`` over Chroma with its default
  ``SentenceSplitter``, the same embedding model (``HuggingFaceEmbedding`` on the packaged
  all-MiniLM-L6-v2), raw files read by ``SimpleDirectoryReader``; ``as_retriever(top_k=5)``.
- both again on a 20x synthetic enlargement: every chunk copied 19 times under new page ids
  with its vector slightly perturbed (no re-embedding), BM25 rebuilt over all copies.

Usage: python bench/answer_bench.py [CORPUS] [--out FILE.json]   (needs the `bench` extra)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "eval" / "dev-questions.jsonl"
ENLARGE = 20
NOISE = 0.02


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(fn: Callable[[str], Any], questions: list[str]) -> tuple[list[Any], list[float]]:
    results, times = [], []
    for question in questions:
        started = time.perf_counter()
        results.append(fn(question))
        times.append((time.perf_counter() - started) * 1000)
    return results, times


def summary(times: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1)}


def hit_at_5(pages_per_question: list[list[str]], gold: list[list[str]]) -> float:
    hits = sum(1 for pages, wanted in zip(pages_per_question, gold, strict=True) if set(pages[:5]) & set(wanted))
    return round(hits / len(gold), 3)


def enlarge_collection(collection: Any, page_key: str, copies: int, seed: int = 0) -> int:
    """Add ``copies`` perturbed copies of every record (new ids, new page ids) to ``collection``."""
    rng = np.random.default_rng(seed)
    records = collection.get(include=["embeddings", "documents", "metadatas"])
    vectors = np.asarray(records["embeddings"], dtype=np.float32)
    step = 5000
    for copy in range(1, copies):
        noisy = vectors + rng.normal(0, NOISE, vectors.shape).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        metadatas = []
        for meta in records["metadatas"]:
            changed = dict(meta)
            changed[page_key] = f"synthetic-{copy}/{meta.get(page_key, '')}"
            metadatas.append(changed)
        ids = [f"{chunk_id}~{copy}" for chunk_id in records["ids"]]
        for first in range(0, len(ids), step):
            collection.add(
                ids=ids[first : first + step],
                embeddings=noisy[first : first + step],
                documents=records["documents"][first : first + step],
                metadatas=metadatas[first : first + step],
            )
    return int(collection.count())


def chroma_collection(chroma_dir: Path, name: str) -> Any:
    """The raw Chroma collection ``name`` under ``chroma_dir`` (the bench writes synthetic copies into it)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_collection(name, embedding_function=None)


def build_baseline(corpus: Path, chroma_dir: Path, model_path: str) -> tuple[Any, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("baseline")
    documents = SimpleDirectoryReader(str(corpus), recursive=True, required_exts=[".md", ".txt"]).load_data()
    for document in documents:
        document.metadata["page_id"] = Path(document.metadata["file_path"]).relative_to(corpus).as_posix()
    embed_model = HuggingFaceEmbedding(model_name=model_path, device="cpu")
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    index = VectorStoreIndex.from_documents(
        documents, storage_context=storage, embed_model=embed_model, transformations=[SentenceSplitter()]
    )
    return index, collection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "answer.json")
    args = parser.parse_args()
    corpus = Path(args.corpus).resolve()  # the baseline reader gives absolute paths
    if not corpus.is_dir():
        sys.exit(f"corpus not found: {corpus}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.index.embedder import build_embedder, resolve_model_location
    from alignment_qa.index.store import ChunkStore
    from alignment_qa.ingest.pipeline import ingest
    from alignment_qa.settings import load_settings

    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [row["question"] for row in rows]
    answerable = [i for i, row in enumerate(rows) if row["answerable"]]
    gold = [rows[i]["gold_pages"] for i in answerable]
    result: dict[str, Any] = {"cores": os.cpu_count(), "questions": len(rows), "answerable": len(answerable)}

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, {"store.data_dir": str(Path(tmp) / "ours")}).settings
        embedder = build_embedder(settings)  # the product's default backend
        ingest([corpus], settings, embedder, ChunkStore(settings.store))
        assistant = Assistant.open(settings, embedder=embedder)
        assistant.ask(questions[0])  # warm caches
        passages, retrieve_times = timed(lambda q: assistant.search(q, 5), questions)
        answers, answer_times = timed(assistant.ask, questions)
        ours_pages = [list(dict.fromkeys(p.page_id for p in passages[i])) for i in answerable]
        result["ours"] = {
            "chunks": assistant.collection.count(),
            "hit@5": hit_at_5(ours_pages, gold),
            "retrieve": summary(retrieve_times),
            "answer_evidence": summary(answer_times),
            "declined_unanswerable": sum(
                1 for i, a in enumerate(answers) if not rows[i]["answerable"] and not a.covered
            ),
            "declined_answerable": sum(1 for i in answerable if not answers[i].covered),
            "declined_answerable_ids": [rows[i]["id"] for i in answerable if not answers[i].covered],
        }

        model_path = resolve_model_location(settings.embedding.model)
        started = time.perf_counter()
        index, baseline_collection = build_baseline(corpus, Path(tmp) / "baseline", model_path)
        build_s = time.perf_counter() - started
        retriever = index.as_retriever(similarity_top_k=5)
        retriever.retrieve(questions[0])
        found, baseline_times = timed(retriever.retrieve, questions)
        baseline_pages = [list(dict.fromkeys(n.node.metadata["page_id"] for n in found[i])) for i in answerable]
        result["baseline"] = {
            "what": "LlamaIndex VectorStoreIndex + default SentenceSplitter over Chroma, same embedding model",
            "chunks": baseline_collection.count(),
            "build_s": round(build_s, 1),
            "hit@5": hit_at_5(baseline_pages, gold),
            "retrieve": summary(baseline_times),
        }

        # 20x synthetic enlargement of both indexes
        store = ChunkStore(settings.store)
        collection = store.collection(settings.embedding.identity)
        assert collection is not None
        collection.new_revision()
        enlarge_collection(chroma_collection(store.chroma_path, settings.store.collection), "page_id", ENLARGE)
        big = Assistant.open(settings, embedder=embedder)  # rebuilds BM25 over every copy
        big.ask(questions[0])
        _, big_retrieve = timed(lambda q: big.search(q, 5), questions)
        _, big_answer = timed(big.ask, questions)
        result["ours_20x"] = {
            "chunks": big.collection.count(),
            "retrieve": summary(big_retrieve),
            "answer_evidence": summary(big_answer),
        }
        enlarge_collection(baseline_collection, "page_id", ENLARGE)
        _, big_baseline = timed(retriever.retrieve, questions)
        result["baseline_20x"] = {"chunks": baseline_collection.count(), "retrieve": summary(big_baseline)}

    for key in ("retrieve",):
        for size in ("", "_20x"):
            ours, theirs = result[f"ours{size}"][key]["p50_ms"], result[f"baseline{size}"][key]["p50_ms"]
            result[f"retrieve_p50_ratio{size or '_1x'}"] = round(ours / theirs, 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"(median of {len(questions)} questions; {statistics.mean(answer_times):.0f} ms mean evidence answer)")


if __name__ == "__main__":
    main()
