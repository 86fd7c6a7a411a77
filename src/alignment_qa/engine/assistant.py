"""The ``Assistant``: the one facade the CLI, UI, API, Discord bot and evaluation call.

``ask(question, history)`` returns an ``Answer``; ``stream(...)`` yields status and token events
and ends with the ``Answer``. One call: check the question, rewrite a follow-up into a standalone
question, retrieve with a LlamaIndex ``RetrieverQueryEngine`` (hybrid retriever, merge and
diversity postprocessors), decide whether the corpus covers the question, write the answer
(quoted evidence, or an LLM), then parse, renumber and verify every citation. A failing LLM
falls back to quoted evidence with a notice. Rendering is left to the surfaces.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from llama_index.core.llms import LLM
from llama_index.core.llms.mock import MockLLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers import BaseSynthesizer
from llama_index.core.schema import NodeWithScore, QueryBundle

from alignment_qa.engine import citations as cite
from alignment_qa.engine.answer import (
    Answer,
    AnswerEvent,
    Citation,
    Mode,
    RetrievedPassage,
    SentenceVerdict,
    StatusEvent,
    StreamEvent,
    TokenEvent,
)
from alignment_qa.engine.condense import condense, user_turns
from alignment_qa.engine.evidence import Evidence, candidate_sentences, select_evidence
from alignment_qa.engine.generation import CitedAnswerSynthesizer, build_llm, condense_with_llm
from alignment_qa.engine.postprocess import AdjacentChunkMerger, PageDiversity, TopN, build_reranker
from alignment_qa.engine.retrieval import HybridRetriever
from alignment_qa.engine.support import NliSupport, SimilaritySupport, SupportJudge
from alignment_qa.errors import AlignmentQAError, InvalidQuestionError, NoIndexError
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.keyword import KeywordIndex, sync_keyword_index
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.store import ChunkStore
from alignment_qa.settings import Settings

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

NOT_COVERED = "The indexed pages do not cover this question."
NEAREST_PAGES = 3


@dataclass
class _Draft:
    """Answer sentences with citation numbers (1-based, renumbered) and what they point to."""

    parsed: cite.ParsedAnswer
    evidence: dict[int, Evidence] = field(default_factory=dict)  # sentence index -> quoted sentence


class Assistant:
    """Answers questions over one index. Build with ``Assistant.open(settings)``."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: ChunkStore,
        collection: Collection,
        keyword_index: KeywordIndex,
        judge: SupportJudge,
        llm: LLM | None = None,
        reranker: BaseNodePostprocessor | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.collection = collection
        self.keyword_index = keyword_index
        self.judge = judge
        self.analyzer = keyword_index.analyzer
        self.reranker = reranker
        self._llms: dict[str, LLM] = {}
        if llm is not None:
            self._llms[settings.answer.mode] = llm
        self.retriever = HybridRetriever(store, collection, embedder, keyword_index, settings.retrieval)

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        store: ChunkStore | None = None,
        llm: LLM | None = None,
    ) -> Assistant:
        """An assistant over the configured index; ``NoIndexError`` when there is none yet."""
        embedder = embedder or Embedder(
            settings.embedding.model, settings.embedding.device, settings.embedding.batch_size
        )
        store = store or ChunkStore(settings.store)
        collection = store.collection(settings.embedding.model) if store.exists() else None
        if collection is None or collection.count() == 0:
            raise NoIndexError(
                f"there is no index at {store.location} yet: add pages with `alignment-qa ingest PATH` "
                "(try the bundled sample-corpus/)"
            )
        embedder.encode(["warm up"])  # load the model now, not on the first question
        analyzer = Analyzer()
        keyword_index = sync_keyword_index(store, collection, analyzer, embedder.is_plain_word)
        judge: SupportJudge
        if settings.support.judge == "nli":
            if not settings.support.nli_model:
                raise AlignmentQAError("support.judge = nli needs support.nli_model")
            judge = NliSupport(settings.support.nli_model, settings.embedding.device)
        else:
            judge = SimilaritySupport(embedder, analyzer, keyword_index.idf)
        reranker = None
        if settings.retrieval.rerank_model:
            reranker = build_reranker(
                settings.retrieval.rerank_model, settings.retrieval.rerank_candidates, settings.embedding.device
            )
        return cls(settings, embedder, store, collection, keyword_index, judge, llm=llm, reranker=reranker)

    # -- the public surface --------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[Mapping[str, str]] | None = None,
        mode: Mode | None = None,
        top_k: int | None = None,
    ) -> Answer:
        """Answer ``question``; ``history`` is earlier turns as ``{"role", "content"}`` dicts."""
        for event in self.stream(question, history, mode, top_k):
            if isinstance(event, AnswerEvent):
                return event.answer
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def stream(
        self,
        question: str,
        history: Sequence[Mapping[str, str]] | None = None,
        mode: Mode | None = None,
        top_k: int | None = None,
    ) -> Iterator[StreamEvent]:
        """Status and token events, then one ``AnswerEvent`` whose text is authoritative."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        question = self.check_question(question)
        mode = mode or self.settings.answer.mode
        top_k = top_k or self.settings.retrieval.top_k
        if not 1 <= top_k <= 50:
            raise InvalidQuestionError("top_k must be between 1 and 50")

        clock = time.perf_counter()
        standalone, notice = self._standalone(question, history, mode)
        timings["condense"] = _ms(clock)

        yield StatusEvent("Searching the pages…")
        clock = time.perf_counter()
        bundle = QueryBundle(query_str=standalone)
        passages = self.query_engine(top_k).retrieve(bundle)
        timings["retrieve"] = _ms(clock)

        base = {"question": question, "standalone_question": standalone, "mode": mode}
        if not self.covers(standalone, passages):
            timings["total"] = _ms(started)
            yield AnswerEvent(self._not_covered(base, passages, timings, notice))
            return

        clock = time.perf_counter()
        draft: _Draft | None = None
        if mode != "evidence":
            yield StatusEvent("Writing the answer…")
            try:
                text = ""
                for token in self._generate(mode, standalone, passages):
                    text += token
                    yield TokenEvent(token)
                draft = _Draft(cite.resolve(text, len(passages)))
                if not draft.parsed.sentences:
                    raise ValueError("the model returned no text")
            except Exception as exc:  # refused connection, timeout, HTTP error, malformed output
                reason = _describe(exc)
                notice = _join(notice, f"The language model failed ({reason}); showing quoted evidence instead.")
                yield StatusEvent("The language model failed; falling back to quoted evidence.")
                base["mode"] = "evidence"
                draft = None
            timings["generate"] = _ms(clock)
        if draft is None:
            clock = time.perf_counter()
            draft = self._evidence_draft(standalone, bundle, passages)
            timings["select_evidence"] = _ms(clock)

        clock = time.perf_counter()
        answer = self._finish(base, draft, passages, notice)
        timings["verify"] = _ms(clock)
        timings["total"] = _ms(started)
        answer.timings_ms = timings
        yield AnswerEvent(answer)

    def check_question(self, question: str) -> str:
        """The trimmed question; ``InvalidQuestionError`` with a message when it is empty or too long."""
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestionError("the question is empty: type what you want to know")
        question = question.strip()
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise InvalidQuestionError(
                f"the question is {len(question)} characters long; the limit is {limit} (answer.max_question_chars)"
            )
        return question

    def query_engine(self, top_k: int, synthesizer: BaseSynthesizer | None = None) -> RetrieverQueryEngine:
        """The LlamaIndex engine: hybrid retriever, postprocessors and a synthesizer."""
        retrieval = self.settings.retrieval
        postprocessors: list[BaseNodePostprocessor] = [TopN(top_n=max(retrieval.rerank_candidates, top_k * 4))]
        if self.reranker is not None:
            postprocessors.append(self.reranker)
        if retrieval.merge_adjacent:
            postprocessors.append(AdjacentChunkMerger())
        postprocessors.append(PageDiversity(per_page=retrieval.max_chunks_per_page, top_k=top_k))
        # BaseSynthesizer insists on an LLM; retrieval alone never calls it, so a mock is honest here
        synthesizer = synthesizer or CitedAnswerSynthesizer(MockLLM())
        return RetrieverQueryEngine(
            self.retriever, response_synthesizer=synthesizer, node_postprocessors=postprocessors
        )

    def search(self, question: str, top_k: int | None = None) -> list[RetrievedPassage]:
        """Just the retrieved passages (for `alignment-qa search`)."""
        question = self.check_question(question)
        passages = self.query_engine(top_k or self.settings.retrieval.top_k).retrieve(QueryBundle(question))
        return [self._passage(rank, item, set()) for rank, item in enumerate(passages, 1)]

    # -- steps ---------------------------------------------------------------------------
    def llm(self, mode: str) -> LLM:
        if mode not in self._llms:
            self._llms[mode] = build_llm(self.settings, mode)
        return self._llms[mode]

    def _standalone(self, question: str, history: Sequence[Mapping[str, str]] | None, mode: str) -> tuple[str, str]:
        turns = self.settings.answer.history_turns
        earlier = user_turns(history)[-turns:] if turns else []
        if not earlier:
            return question, ""
        if mode != "evidence":
            try:
                return condense_with_llm(self.llm(mode), earlier, question), ""
            except Exception as exc:  # a dead backend must not stop the question
                return condense(
                    question, earlier, turns
                ), f"Could not rewrite the follow-up with the LLM ({_describe(exc)})."
        return condense(question, earlier, turns), ""

    def covers(self, question: str, passages: Sequence[NodeWithScore]) -> bool:
        """Whether the corpus can answer: the best passage is similar enough to the question,
        and clearly so when the question names something no page mentions."""
        dense = [item.node.metadata.get("dense_score") for item in passages]
        best = max((score for score in dense if score is not None), default=-1.0)
        needed = self.settings.answer.min_relevance
        if self.keyword_index.unknown_words(question, self.embedder.is_plain_word):
            needed += self.settings.answer.unknown_term_margin
        return bool(passages) and best >= needed

    def _generate(self, mode: str, question: str, passages: list[NodeWithScore]) -> Iterator[str]:
        llm = self.llm(mode)
        synthesizer = CitedAnswerSynthesizer(llm, chat=self.settings.llm.chat if mode == "llm" else True)
        response = self.query_engine(len(passages), synthesizer).synthesize(QueryBundle(question), passages)
        generator = getattr(response, "response_gen", None)
        if generator is None:
            yield str(response)
            return
        yield from generator

    def _evidence_draft(self, question: str, bundle: QueryBundle, passages: list[NodeWithScore]) -> _Draft:
        vector = (
            np.asarray(bundle.embedding, dtype=np.float32) if bundle.embedding else self.embedder.encode([question])[0]
        )
        chosen = select_evidence(
            self.retriever.expand(question),
            vector,
            passages,
            self.embedder,
            self.analyzer,
            self.keyword_index.idf,
            self.settings.answer.max_sentences,
        )
        order: list[int] = []
        sentences: list[cite.CitedSentence] = []
        evidence: dict[int, Evidence] = {}
        for item in chosen:
            if item.passage not in order:
                order.append(item.passage)
            evidence[len(sentences)] = item
            sentences.append(cite.CitedSentence(item.text, [order.index(item.passage) + 1]))
        return _Draft(cite.ParsedAnswer(sentences, order, []), evidence)

    def _finish(self, base: dict[str, Any], draft: _Draft, passages: list[NodeWithScore], notice: str) -> Answer:
        parsed = draft.parsed
        texts = [item.node.get_content() for item in passages]
        pairs = []
        for index, sentence in enumerate(parsed.sentences):
            claim = draft.evidence[index].text if index in draft.evidence else sentence.text
            premise = "\n".join(texts[parsed.order[n - 1]] for n in sentence.numbers)
            pairs.append((premise, claim))
        scores = self.judge.support_many(pairs) if pairs else []
        threshold = self.settings.answer.support_threshold
        verdicts = [
            SentenceVerdict(
                text=sentence.text,
                citations=sentence.numbers,
                supported=bool(sentence.numbers) and score >= threshold,
                score=round(score if sentence.numbers else 0.0, 4),
            )
            for sentence, score in zip(parsed.sentences, scores, strict=True)
        ]
        citations = [self._citation(n, passages[passage], parsed, draft) for n, passage in enumerate(parsed.order, 1)]
        cited = set(parsed.order)
        unsupported = sum(1 for verdict in verdicts if not verdict.supported)
        if parsed.dropped:
            numbers = ", ".join(str(n) for n in parsed.dropped)
            notice = _join(notice, f"Removed citation(s) [{numbers}] that pointed to no source.")
        if unsupported:
            notice = _join(
                notice,
                f"{unsupported} of {len(verdicts)} sentence(s) are not supported by their cited sources (marked).",
            )
        return Answer(
            **base,
            text=parsed.text(),
            notice=notice,
            citations=citations,
            sentences=verdicts,
            retrieved=[self._passage(rank, item, cited) for rank, item in enumerate(passages, 1)],
            dropped_citations=parsed.dropped,
        )

    def _citation(self, n: int, passage: NodeWithScore, parsed: cite.ParsedAnswer, draft: _Draft) -> Citation:
        meta = passage.node.metadata
        claims = [(index, sentence) for index, sentence in enumerate(parsed.sentences) if n in sentence.numbers]
        quote: tuple[str, int, int] | None = None
        for index, _ in claims:
            if index in draft.evidence:
                item = draft.evidence[index]
                quote = (item.text, item.start, item.end)
                break
        if quote is None:
            quote = self._best_quote(passage, [sentence.text for _, sentence in claims])
        return Citation(
            n=n,
            page_id=str(meta["page_id"]),
            title=str(meta.get("title", "")),
            section=str(meta.get("section") or meta.get("title", "")),
            anchor=str(meta.get("anchor", "")),
            url=str(meta.get("url", "")),
            quote=quote[0],
            start=quote[1],
            end=quote[2],
            chunk_id=passage.node.node_id,
        )

    def _best_quote(self, passage: NodeWithScore, claims: list[str]) -> tuple[str, int, int]:
        """The passage sentence that best supports the citing sentences."""
        candidates = candidate_sentences([passage])
        if not candidates:
            meta = passage.node.metadata
            return passage.node.get_content(), int(meta["start"]), int(meta["end"])
        claim = " ".join(claims)
        scores = self.judge.support_many([(sentence, claim) for _, sentence, _, _ in candidates])
        best = max(range(len(candidates)), key=lambda i: scores[i])
        _, sentence, start, end = candidates[best]
        return sentence, start, end

    def _passage(self, rank: int, item: NodeWithScore, cited: set[int]) -> RetrievedPassage:
        meta = item.node.metadata
        return RetrievedPassage(
            page_id=str(meta["page_id"]),
            title=str(meta.get("title", "")),
            section=str(meta.get("section") or meta.get("title", "")),
            score=round(float(item.score or 0.0), 6),
            rank=rank,
            dense_score=_round(meta.get("dense_score")),
            keyword_score=_round(meta.get("keyword_score")),
            url=str(meta.get("url", "")),
            anchor=str(meta.get("anchor", "")),
            chunk_ids=list(meta.get("chunk_ids", [])),
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            text=item.node.get_content(),
            cited=(rank - 1) in cited,
        )

    def _not_covered(
        self, base: dict[str, Any], passages: list[NodeWithScore], timings: dict[str, float], notice: str
    ) -> Answer:
        nearest: list[str] = []
        for item in passages:
            meta = item.node.metadata
            label = f"{meta.get('title')} ({meta.get('page_id')})"
            if label not in nearest:
                nearest.append(label)
            if len(nearest) >= NEAREST_PAGES:
                break
        text = NOT_COVERED
        if nearest:
            text += " The nearest pages are: " + "; ".join(nearest) + "."
        return Answer(
            **base,
            text=text,
            notice=notice,
            covered=False,
            retrieved=[self._passage(rank, item, set()) for rank, item in enumerate(passages, 1)],
            timings_ms=timings,
        )


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def _join(first: str, second: str) -> str:
    return f"{first} {second}".strip()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name
