"""The LlamaIndex query engine that answers: retrieve, decide coverage, synthesize, verify.

``AnswerEngine`` is a ``CustomQueryEngine`` over one index view: the hybrid retriever, the node
postprocessors (cut, rerank, merge neighbours, page diversity; the cut and the diversity take
``top_k`` per call) and one response synthesizer per answer mode (``EvidenceSynthesizer`` quotes,
``CitedAnswerSynthesizer`` asks an LLM, built once per mode by ``LlmModes``). ``answer`` is the
one answer path: score the passages' sentences, decide whether the pages cover the question
(before any LLM is called), write the draft with the mode's synthesizer (an LLM that fails falls
back to quoted evidence with a notice; one that refuses makes a "not covered" answer), check every
citation (``verify``) and end with the ``Answer``. ``query(question)`` returns a LlamaIndex
``Response`` whose text is that answer's, ``source_nodes`` the retrieved passages and
``metadata["answer"]`` the ``Answer``; ``stream_query`` is the streaming variant. Question checks,
follow-up condensing and the store's locks, refresh and retry are left to ``assistant``, whose
``ask`` and ``stream`` call ``answer`` on the engine of the index view they read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle
from pydantic import PrivateAttr, SkipValidation

from alignment_qa.engine.abstain import Coverage, caution_notice, decide
from alignment_qa.engine.answer import (
    NEAREST_LEAD,
    Answer,
    AnswerEvent,
    Mode,
    StatusEvent,
    StreamEvent,
    TokenEvent,
    nearest_pages,
)
from alignment_qa.engine.answer_type import asked_type, asking_words, asks_yes_or_no, defined_term
from alignment_qa.engine.evidence import Draft, Evidence, EvidenceSynthesizer, Scored, attributed, score_sentences
from alignment_qa.engine.generation import LlmModes, Refusal, llm_draft
from alignment_qa.engine.locked_stream import locked_stream
from alignment_qa.engine.postprocess import AdjacentChunkMerger, PageDiversity
from alignment_qa.engine.retrieval import HybridRetriever, comparison_sides, hide_from_llm
from alignment_qa.engine.stated_figures import stated_figures, unconfirmed, unconfirmed_notice
from alignment_qa.engine.support import SupportJudge
from alignment_qa.engine.verify import passage_model, verify
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.vector_cache import SentenceVectors
from alignment_qa.settings import Settings

log = logging.getLogger(__name__)

NOT_COVERED = "The indexed pages do not cover this question."


@dataclass(frozen=True)
class EngineParts:
    """What the engines of every index view share: settings, models and the LLM modes."""

    settings: Settings
    embedder: Embedder
    judge: SupportJudge
    sentence_vectors: SentenceVectors  # cached per sentence, shared by calls
    llms: LlmModes
    reranker: BaseNodePostprocessor | None = None


@dataclass
class Turn:
    """One answer in the making: the question as asked and as searched, how to answer it, and what
    happened before the engine took it (notices, timings, whether the LLM is still worth calling)."""

    question: str
    standalone: str
    mode: Mode
    top_k: int
    history: Sequence[Mapping[str, str]] = ()
    notices: list[str] = field(default_factory=list)
    llm_alive: bool = True  # False when the LLM just failed on the follow-up: do not wait for it twice
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    asked: str | None = None  # the user's own words (typos read as the pages' words), when standalone joined them


class AnswerEngine(CustomQueryEngine):
    """Answers questions over one index view: ``AnswerEngine(retriever=..., parts=...)``."""

    retriever: HybridRetriever
    parts: SkipValidation[EngineParts]  # a plain holder: pydantic cannot check a Protocol-typed judge
    _steps: list[BaseNodePostprocessor] = PrivateAttr(default_factory=list)  # between the cut and the diversity
    _evidence: EvidenceSynthesizer = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        settings = self.parts.settings
        if self.parts.reranker is not None:
            self._steps.append(self.parts.reranker)
        if settings.retrieval.merge_adjacent:
            self._steps.append(AdjacentChunkMerger())
        answer = settings.answer
        self._evidence = EvidenceSynthesizer(
            self.score,
            answer.max_sentences,
            answer.keep_ratio,
            answer.follow_ratio,
            self.callback_manager,
            side_ratio=answer.side_ratio,
        )

    @property
    def evidence(self) -> EvidenceSynthesizer:
        """Evidence mode's synthesizer; the LLM modes' come from ``parts.llms``."""
        return self._evidence

    # -- LlamaIndex's query engine interface ---------------------------------------------
    def custom_query(self, query_str: str) -> Response:
        """The answer to a standalone question with the configured mode and ``top_k``."""
        turn, bundle, passages = self._retrieved(query_str)
        answer = _final(self.answer(turn, bundle, passages))
        return Response(answer.text, source_nodes=passages, metadata={"answer": answer})

    def stream_query(self, query_str: str) -> StreamingResponse:
        """Like ``query``, streaming: see ``StreamingAnswer``."""
        with self.callback_manager.as_trace("query"):
            turn, bundle, passages = self._retrieved(query_str)
        return StreamingAnswer.relaying(self.answer(turn, bundle, passages), passages)

    def retrieve(self, query_bundle: QueryBundle, top_k: int | None = None) -> list[NodeWithScore]:
        """The passages for ``query_bundle``: hybrid retrieval (its best fused chunks), then rerank, merge and diversity
        (``top_k`` passages, the configured number by default). Fills ``query_bundle.embedding``."""
        retrieval = self.parts.settings.retrieval
        top_k = top_k or retrieval.top_k
        top_n = max(retrieval.rerank_candidates, top_k * 4)
        steps = [*self._steps, PageDiversity(per_page=retrieval.max_chunks_per_page, top_k=top_k)]
        # the searched text for the retriever and the reranker alike: "according to the Atlas" left out
        searched = QueryBundle(query_str=self.retriever.searched(query_bundle.query_str))
        nodes = self.retriever.retrieve_top(searched, top_n)  # the best top_n fused chunks
        query_bundle.embedding = searched.embedding  # the answer step reuses the question's vector
        for step in steps:
            nodes = step.postprocess_nodes(nodes, query_bundle=searched)
        return nodes

    # -- the answer path -----------------------------------------------------------------
    def answer(self, turn: Turn, bundle: QueryBundle, passages: list[NodeWithScore]) -> Iterator[StreamEvent]:
        """Status and token events for ``passages`` (retrieved for ``bundle``), then one ``AnswerEvent``."""
        timings, notices = turn.timings, turn.notices
        base: dict[str, Any] = {
            "question": turn.question,
            "standalone_question": turn.standalone,
            "mode": turn.mode,
            "top_k": turn.top_k,
        }
        clock = time.perf_counter()
        own = None if turn.asked is None else self.retriever.searched(turn.asked)  # for a follow-up, as searched
        scored = self.score(bundle, passages, own)
        coverage = self.coverage(turn.standalone, passages, scored, turn.asked)
        timings["coverage"] = elapsed_ms(clock)
        if not coverage.covered:  # decided before any LLM is called
            yield AnswerEvent(self._not_covered(turn, base, passages, coverage.reason))
            return
        if coverage.notice:
            notices.append(coverage.notice)

        draft: Draft | None = None
        if turn.mode != "evidence":
            if not turn.llm_alive:
                base["mode"] = "evidence"
            else:
                yield StatusEvent("Writing the answer…")
                clock = time.perf_counter()
                try:
                    text = ""
                    for token in self._generate(turn.mode, turn.standalone, passages):
                        text += token
                        yield TokenEvent(token)
                    draft = llm_draft(text, len(passages))
                except Refusal:
                    timings["generate"] = elapsed_ms(clock)
                    notices.append("The language model found no answer in the sources.")
                    yield AnswerEvent(self._not_covered(turn, base, passages))
                    return
                except Exception as exc:  # refused connection, timeout, HTTP error, malformed output
                    log.warning("LLM answer failed: %s", exc, exc_info=True)
                    notices.append(f"The language model failed ({describe(exc)}); showing quoted evidence instead.")
                    yield StatusEvent("The language model failed; falling back to quoted evidence.")
                    base["mode"] = "evidence"
                timings["generate"] = elapsed_ms(clock)
        if draft is None:
            clock = time.perf_counter()
            quoted = self._evidence.synthesize(bundle, passages, scored=scored, history=turn.history, asked=own)
            draft = quoted.metadata["draft"] if quoted.metadata else None
            timings["select_evidence"] = elapsed_ms(clock)
            if draft is None or not draft.parsed.sentences:  # nothing quotable: "not covered" beats an empty answer
                notices.append("No sentence of the retrieved passages answers it directly.")
                yield AnswerEvent(self._not_covered(turn, base, passages))
                return

        if coverage.doubtful is not None:
            analyzer = self.retriever.keyword_index.analyzer
            notices.append(caution_notice(unquoted(coverage.doubtful, draft, analyzer)))
        missing_figures = unconfirmed(stated_figures(turn.asked or turn.question), source_texts(draft, passages))
        if missing_figures:  # "Did OpenAI invent RLHF in 2022?" answered by a sentence that says nothing of 2022
            notices.append(unconfirmed_notice(missing_figures))
        clock = time.perf_counter()
        settings = self.parts.settings
        checked = verify(draft, passages, self.parts.judge, settings.answer.support_threshold)
        timings["verify"] = elapsed_ms(clock)
        timings["total"] = elapsed_ms(turn.started)
        cited = set(draft.parsed.order)
        yield AnswerEvent(
            Answer(
                **base,
                text=draft.parsed.text(),
                notice=" ".join([*notices, *checked.notices]),
                citations=checked.citations,
                sentences=checked.sentences,
                retrieved=[passage_model(rank, item, rank - 1 in cited) for rank, item in enumerate(passages, 1)],
                dropped_citations=draft.parsed.dropped,
                judge=self.parts.judge.name,
                timings_ms=timings,
            )
        )

    def score(self, bundle: QueryBundle, passages: Sequence[NodeWithScore], asked: str | None = None) -> list[Scored]:
        """Every quotable sentence of ``passages``, scored against the question, best first. ``asked``: the user's
        own words, as searched, when the question is a follow-up joined to earlier turns (whether they ask yes or no;
        for one that asks nothing of its own, "and what about goal misgeneralization?", what a denial must be about;
        when the joined question ends with them, their vector joins the question's and their words weigh more:
        ``evidence.EMPHASIS``)."""
        question = self.retriever.searched(bundle.query_str)
        form = asking_words(asked, question)
        if bundle.embedding:  # the retriever left the question's vector here (of the searched text)
            vector = np.asarray(bundle.embedding, dtype=np.float32)
        else:
            vector = self.parts.embedder.encode([question])[0]
        own = asked if asked is not None and asked != question and question.endswith(asked) else ""
        if own:  # the follow-up's own words: what it asks now, beside the topic the earlier turns carry
            vector = vector + self.parts.embedder.encode([own])[0]
            vector = vector / (float(np.linalg.norm(vector)) or 1.0)
        return score_sentences(
            self.retriever.expand(question),
            vector,
            passages,
            self.parts.sentence_vectors,
            self.retriever.keyword_index.analyzer,
            self.retriever.keyword_index.idf,
            asked_type(question),
            sides=comparison_sides(question),
            yes_or_no=asks_yes_or_no(form),
            denials_of=asked if asked is not None and form is question else None,
            defined=defined_term(form),
            emphasis=own,
        )

    def coverage(
        self, question: str, passages: Sequence[NodeWithScore], scored: Sequence[Scored], asked: str | None = None
    ) -> Coverage:
        """The verdict from several signals (``abstain.decide``): the best passage's cosine, names
        no page mentions, rare terms the passages lack, the asked answer type, the near-miss check. ``asked``: the
        user's own words when ``question`` is a follow-up joined to earlier turns."""
        answer = self.parts.settings.answer
        question = self.retriever.searched(question)
        dense = [item.node.metadata.get("dense_score") for item in passages]
        return decide(
            question,
            scored,
            max((score for score in dense if score is not None), default=-1.0),
            [item.node.get_content() for item in passages],
            self.retriever.keyword_index,
            self.parts.embedder.is_plain_word,
            min_relevance=answer.min_relevance,
            unknown_margin=answer.unknown_term_margin,
            rare_idf=answer.rare_term_idf,
            typed_top=answer.typed_top,
            unanswered_threshold=answer.unanswered_threshold,
            caution_threshold=answer.caution_threshold,
            sides=comparison_sides(question),
            kind=asked_type(question),
            asked=None if asked is None else self.retriever.searched(asked),
            matches=self.text_matches,
        )

    def text_matches(self, pattern: str) -> bool:
        """``ChunkCollection.matches``; a store that fails meanwhile (reopened by another process's ingest, a
        restarted server) counts as a match: the name checks only add declines, and the typo reading of two words run
        together has already found both words in one chunk; neither must fail an answer."""
        try:
            return self.retriever.collection.matches(pattern)
        except Exception as exc:  # any store error: skip the check
            log.warning("text search for a name failed, not checked: %s", exc)
            return True

    # -- steps ---------------------------------------------------------------------------
    def _retrieved(self, question: str) -> tuple[Turn, QueryBundle, list[NodeWithScore]]:
        settings = self.parts.settings
        turn = Turn(question, question, settings.answer.mode, settings.retrieval.top_k)
        bundle = QueryBundle(query_str=question)
        clock = time.perf_counter()
        passages = self.retrieve(bundle, turn.top_k)
        turn.timings["retrieve"] = elapsed_ms(clock)
        return turn, bundle, passages

    def _generate(self, mode: str, question: str, passages: list[NodeWithScore]) -> Iterator[str]:
        synthesizer = self.parts.llms.synthesizer(mode)
        for item in passages:
            hide_from_llm(item.node)

        def tokens() -> Iterator[str]:
            response = synthesizer.synthesize(QueryBundle(question), passages)
            generator = getattr(response, "response_gen", None)
            if generator is None:
                yield str(response)
            else:
                yield from generator

        lock = self.parts.llms.exclusive(mode)
        if lock is not None:  # generated by a worker holding the lock; this generator never holds it
            return locked_stream(tokens, lock, name=f"{mode}-generate")
        return tokens()

    def _not_covered(self, turn: Turn, base: dict[str, Any], passages: list[NodeWithScore], reason: str = "") -> Answer:
        retrieved = [passage_model(rank, item, False) for rank, item in enumerate(passages, 1)]
        nearest = [f"{passage.title} ({passage.page_id})" for passage in nearest_pages(retrieved)]
        text = NOT_COVERED
        if reason:  # "… do not cover this question: no indexed page mentions the Asilomar AI Principles."
            text = f"{NOT_COVERED[:-1]}: {reason[0].lower()}{reason[1:]}"
        if nearest:
            text += NEAREST_LEAD + "; ".join(nearest) + "."
        turn.timings["total"] = elapsed_ms(turn.started)
        return Answer(
            **base,
            text=text,
            notice=" ".join(turn.notices),
            covered=False,
            retrieved=retrieved,
            timings_ms=turn.timings,
        )


class StreamingAnswer(StreamingResponse):
    """A ``StreamingResponse`` whose ``response_gen`` yields the LLM's tokens as they come (the whole
    answer in one piece when no LLM wrote it). Once it is drained, ``response_txt`` is the checked
    answer's text, which supersedes the tokens, and ``metadata["answer"]`` the ``Answer``."""

    @classmethod
    def relaying(cls, events: Iterator[StreamEvent], source_nodes: list[NodeWithScore]) -> StreamingAnswer:
        response = cls(response_gen=_nothing(), source_nodes=source_nodes, metadata={})
        response.response_gen = response._relay(events)
        return response

    def _relay(self, events: Iterator[StreamEvent]) -> Generator[str, None, None]:
        streamed = False
        for event in events:
            if isinstance(event, TokenEvent):
                streamed = True
                yield event.text
            elif isinstance(event, AnswerEvent):
                if self.metadata is not None:
                    self.metadata["answer"] = event.answer
                if not streamed:
                    yield event.answer.text
                self.response_txt = event.answer.text

    def get_response(self) -> Response:
        for _ in self.response_gen:
            pass
        return Response(self.response_txt, self.source_nodes, self.metadata)

    def __str__(self) -> str:
        return str(self.get_response())

    def print_response_stream(self) -> None:
        for text in self.response_gen:
            print(text, end="", flush=True)


def _nothing() -> Generator[str, None, None]:
    yield from ()


def _final(events: Iterator[StreamEvent]) -> Answer:
    for event in events:
        if isinstance(event, AnswerEvent):
            return event.answer
    raise AssertionError("the answer path ended without an answer")  # pragma: no cover


def unquoted(words: Sequence[str], draft: Draft, analyzer: Analyzer) -> list[str]:
    """``words`` that no sentence ``draft`` quotes has, for the near-miss notice: an evidence answer's quotes (with
    their speakers and run-in headings) vouch for a word; an LLM's own words do not ("The sources do not say how many
    employees …" would otherwise hide “employees”), so its draft, which quotes nothing, leaves every word named."""
    quoted = analyzer.precise_terms(" ".join(_as_shown(item) for item in draft.evidence.values()))

    def said(word: str) -> bool:
        terms = analyzer.precise_terms(word)
        return bool(terms) and all(key in quoted for key in terms)

    return [word for word in words if not said(word)]


def source_texts(draft: Draft, passages: Sequence[NodeWithScore]) -> list[str]:
    """What an answer's sources say: an evidence answer's quotes (with their speakers and run-in headings), else the
    text of the passages the LLM cited (its own words vouch for nothing)."""
    if draft.evidence:
        return [_as_shown(item) for item in draft.evidence.values()]
    return [passages[index].node.get_content() for index in draft.parsed.order if 0 <= index < len(passages)]


def _as_shown(item: Evidence) -> str:
    """A quoted sentence with its speaker or run-in heading, as the answer shows it."""
    return attributed(item.text, item.speaker, item.topic)


def elapsed_ms(since: float) -> float:
    """Milliseconds since ``since`` (a ``time.perf_counter()`` reading), for ``timings_ms``."""
    return round((time.perf_counter() - since) * 1000, 2)


def describe(exc: BaseException) -> str:
    """``Name: first line`` of an exception, for notices."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name
