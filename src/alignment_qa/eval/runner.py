"""Run evaluation questions through the real ``Assistant`` and score each one.

For every question: the answer (the same ``Assistant.ask`` the UI and bot use, timed; a follow-up is asked the way a
chat asks it: each earlier user turn of its ``history`` is answered first, and the history holds those questions and
answers, so an answer may skip what an earlier answer quoted), the page ranking (the pages the answer retrieved, in
order, then those of a deeper search up to 10), and the verdicts of ``metrics`` on that answer, including whether
its gold evidence sentences are in the answer and among the retrieved passages' texts. A question the assistant
refuses (too long, say) is kept as a row with its error and left out of the means. ``prepare_index`` builds or
refreshes an index of ``--corpus`` in a collection of its own, so an evaluation never mixes with the pages a user
indexed. Aggregating and writing are left to ``summary`` and ``report``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignment_qa.engine.answer import Answer, Mode
from alignment_qa.engine.assistant import Assistant
from alignment_qa.engine.support import SupportJudge
from alignment_qa.errors import AlignmentQAError
from alignment_qa.eval import metrics as m
from alignment_qa.eval.questions import EvalQuestion
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.index.store_api import PageState
from alignment_qa.ingest.pipeline import IngestSummary, ProgressReporter, ingest
from alignment_qa.settings import Settings

log = logging.getLogger(__name__)

K_VALUES = (1, 3, 5, 10)
RANKING_PASSAGES = 30  # passages searched for the page ranking: enough for 10 distinct pages


@dataclass
class QuestionResult:
    """One question's answer, ranking, verdicts and per-question metrics."""

    question: EvalQuestion
    answer: Answer | None = None
    error: str | None = None
    ranked_pages: list[str] = field(default_factory=list)
    check: m.AnswerCheck | None = None
    key_facts_supported: list[bool] = field(default_factory=list)
    latency_ms: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        """The ``results.jsonl`` row."""
        question = self.question
        gold = set(question.gold_pages)
        return {
            "id": question.id,
            "question": question.question,
            "answerable": question.answerable,
            "kind": question.kind,
            "split": question.split_name,
            "history": question.history,
            "gold_pages": question.gold_pages,
            "evidence": [item.text for item in question.evidence],
            "key_facts": question.key_facts,
            "error": self.error,
            "latency_ms": round(self.latency_ms, 2),
            "ranked_pages": [
                {"rank": rank, "page_id": page, "gold": page in gold} for rank, page in enumerate(self.ranked_pages, 1)
            ],
            "sentences": [
                {
                    "text": s.text,
                    "citations": s.citations,
                    "cited_support": None if s.joint_score is None else round(s.joint_score, 4),
                    "cited_supported": s.cited_supported,
                    "precise_citations": s.precise,
                    "best_retrieved_support": round(s.best_retrieved_score, 4),
                    "faithful": s.faithful,
                }
                for s in (self.check.sentences if self.check else [])
            ],
            "key_facts_supported": self.key_facts_supported,
            "metrics": {key: round(value, 4) for key, value in self.metrics.items()},
            "answer": self.answer.model_dump(mode="json") if self.answer else None,
        }


def prepare_index(
    settings: Settings, corpus: Path, embedder: Embedder, progress: ProgressReporter | None = None
) -> tuple[Settings, IngestSummary]:
    """Settings pointing at an index of ``corpus`` in its own collection (``eval-<hash of the
    path>``), ingested now: only new or changed pages are embedded on a re-run, and all of them when the
    collection holds another model's or precision's vectors (it is a scratch copy)."""
    digest = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:12]
    store = settings.store.model_copy(update={"collection": f"eval-{digest}"})
    scoped = settings.model_copy(update={"store": store})
    chunk_store = ChunkStore(scoped.store)
    stale = chunk_store.recorded_model() not in (None, scoped.embedding.identity)
    summary = ingest([corpus], scoped, embedder, chunk_store, progress=progress, rebuild=stale)
    return scoped, summary


def corpus_fingerprint(assistant: Assistant, states: Mapping[str, PageState]) -> dict[str, Any]:
    """The indexed pages' ids and content hashes (``states``, as the store reports them), hashed
    with the embedding model's name."""
    digest = hashlib.sha256(assistant.settings.embedding.identity.encode())
    for page_id in sorted(states):
        digest.update(f"\n{page_id}:{states[page_id].page_hash}".encode())
    info = assistant.stats()
    return {
        "fingerprint": digest.hexdigest()[:16],
        "pages": len(states),
        "chunks": info.get("chunks"),
        "collection": assistant.settings.store.collection,
    }


def score_question(result: QuestionResult, judge: SupportJudge, threshold: float, requested: str = "evidence") -> None:
    """Fill ``result.metrics`` (and its verdicts) from its answer and ranking; ``requested`` is the mode
    asked for, so that an LLM answer replaced by quoted evidence is counted as a fallback."""
    question, answer = result.question, result.answer
    assert answer is not None
    values = result.metrics
    gold = set(question.gold_pages)
    if question.answerable and gold:
        for k in K_VALUES:
            values[f"hit@{k}"] = m.hit_at(result.ranked_pages, gold, k)
            values[f"recall@{k}"] = m.recall_at(result.ranked_pages, gold, k)
            values[f"ndcg@{k}"] = m.ndcg_at(result.ranked_pages, gold, k)
        values["mrr"] = m.reciprocal_rank(result.ranked_pages, gold)
    result.check = m.check_answer(answer, judge, threshold)
    for key in ("citation_recall", "citation_precision", "faithfulness", "no_citation_rate", "outside_citation_rate"):
        value = getattr(result.check, key)
        if value is not None:
            values[key] = value
    if question.answerable and question.key_facts:
        result.key_facts_supported = m.key_fact_recall(answer, question.key_facts, judge, threshold)
        values["key_fact_recall"] = sum(result.key_facts_supported) / len(question.key_facts)
    if question.answerable and question.evidence:
        evidence = [item.text for item in question.evidence]
        values["evidence_in_answer"] = m.evidence_in_answer(answer, evidence)
        values["evidence_retrieved"] = m.evidence_retrieved([p.text for p in answer.retrieved if p.text], evidence)
    declined = not answer.covered
    if question.answerable:
        values["false_abstention"] = float(declined)
    else:
        values["abstention"] = float(declined)
    if answer.covered and requested != "evidence":
        values["fallback"] = float(answer.mode == "evidence")
    if answer.covered:
        values["answer_chars"] = float(len(answer.text))
        values["answer_sentences"] = float(len(answer.sentences))


def conversation(assistant: Assistant, turns: list[str], mode: Mode | None = None) -> list[dict[str, str]]:
    """The chat history before a follow-up: each of the user's earlier ``turns`` asked in order with the history
    so far, followed by the assistant's answer (or only the question, when asking it failed)."""
    history: list[dict[str, str]] = []
    for turn in turns:
        earlier = list(history)
        history.append({"role": "user", "content": turn})
        try:
            answer = assistant.ask(turn, history=earlier or None, mode=mode)
        except AlignmentQAError as exc:  # the follow-up is still asked, with this question and no answer to it
            log.warning("earlier turn %r failed: %s", turn[:80], exc)
            continue
        history.append({"role": "assistant", "content": answer.text})
    return history


def run_questions(
    assistant: Assistant,
    questions: list[EvalQuestion],
    judge: SupportJudge,
    mode: Mode | None = None,
    on_done: Callable[[QuestionResult], None] | None = None,
) -> list[QuestionResult]:
    """Answer and score every question, in order; ``on_done`` is called after each (progress)."""
    threshold = assistant.settings.answer.support_threshold
    requested = mode or assistant.settings.answer.mode
    results = []
    for question in questions:
        result = QuestionResult(question)
        try:
            history = conversation(assistant, question.history, mode)
            started = time.perf_counter()
            result.answer = assistant.ask(question.question, history=history or None, mode=mode)
            result.latency_ms = (time.perf_counter() - started) * 1000
            # the pages the answer saw, in its order, then the next pages of a deeper search
            seen = m.page_ranking(result.answer.retrieved)
            query = result.answer.standalone_question or question.question  # a follow-up, rewritten
            deeper = m.page_ranking(assistant.search(query, RANKING_PASSAGES))
            result.ranked_pages = (seen + [page for page in deeper if page not in seen])[: max(K_VALUES)]
            score_question(result, judge, threshold, requested)
        except AlignmentQAError as exc:  # refused (too long...), or the judge failed: reported, not averaged
            result.error = str(exc)
        except Exception as exc:  # a bug must not cost the other questions their results
            log.exception("question %s failed", question.id)
            result.error = f"{type(exc).__name__}: {exc}"
        if result.error:
            result.metrics = {}
        results.append(result)
        if on_done:
            on_done(result)
    return results
