"""The ``Assistant``: the one facade the CLI, UI, API, Discord bot and evaluation call.

``ask(question, history)`` returns an ``Answer``; ``stream(...)`` yields status and token events
and ends with the ``Answer``. One call: check the question, rewrite a follow-up into a standalone
question, retrieve with a LlamaIndex ``RetrieverQueryEngine`` (hybrid retriever, merge and
diversity postprocessors), decide whether the corpus covers the question, write the answer
(quoted evidence, or an LLM), then check every citation (``verify``). A failing LLM falls back to
quoted evidence with a notice. One assistant may serve concurrent requests: per-call state lives
in the call; one lock builds the shared models, and llama.cpp in-process generates under its own
lock in a worker thread (``locked_stream``), never held across a yield. ``stats``, ``page`` and ``page_states``
read what the index holds, so surfaces never reach into the store. Rendering is left to the surfaces.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
from llama_index.core.callbacks import CallbackManager
from llama_index.core.llms import LLM
from llama_index.core.llms.mock import MockLLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle

from alignment_qa.engine import citations as cite
from alignment_qa.engine.abstain import Coverage, decide
from alignment_qa.engine.answer import (
    Answer,
    AnswerEvent,
    Mode,
    RetrievedPassage,
    StatusEvent,
    StreamEvent,
    TokenEvent,
)
from alignment_qa.engine.answer_type import asked_type
from alignment_qa.engine.condense import cap, cap_turns, condense, user_turns
from alignment_qa.engine.evidence import Scored, SentenceVectors, choose, score_sentences
from alignment_qa.engine.generation import (
    ENDPOINT_CONTEXT_TOKENS,
    CitedAnswerSynthesizer,
    build_llm,
    condense_with_llm,
    source_budget,
)
from alignment_qa.engine.locked_stream import locked_stream
from alignment_qa.engine.postprocess import AdjacentChunkMerger, PageDiversity, TopN, build_reranker
from alignment_qa.engine.retrieval import HybridRetriever, comparison_sides, hide_from_llm
from alignment_qa.engine.rwlock import ReadersWriterLock
from alignment_qa.engine.support import SupportJudge, build_judge
from alignment_qa.engine.verify import Draft, evidence_draft, passage_model, verify
from alignment_qa.errors import AlignmentQAError, InvalidQuestionError, NoIndexError, StoreUnavailableError
from alignment_qa.index.embedder import Embedder, build_embedder
from alignment_qa.index.keyword import KeywordIndex, sync_keyword_index
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.store import ChunkStore
from alignment_qa.index.store_api import ChunkCollection, PageState, Store
from alignment_qa.settings import Settings

log = logging.getLogger(__name__)

NOT_COVERED = "The indexed pages do not cover this question."
NEAREST_PAGES = 3
_REFUSAL = re.compile(
    r"\b(?:sources?|pages?|context)\b[^.]{0,40}\b(?:do not|does not|don't|doesn't)\s+(?:cover|say|mention|answer)", re.I
)


@dataclass(frozen=True)
class IndexView:
    """The index an answer reads: collection, keyword index and the retriever over both."""

    collection: ChunkCollection
    keyword_index: KeywordIndex
    retriever: HybridRetriever


class Assistant:
    """Answers questions over one index. Build with ``Assistant.open(settings)``."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: Store,
        collection: ChunkCollection,
        keyword_index: KeywordIndex,
        judge: SupportJudge,
        llm: LLM | None = None,
        reranker: BaseNodePostprocessor | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.judge = judge
        self.reranker = reranker
        self.sentence_vectors = SentenceVectors(embedder)  # cached per sentence, shared by calls
        self._callbacks = CallbackManager([])
        self._llms: dict[str, LLM] = {}
        if llm is not None and settings.answer.mode != "evidence":
            self._llms[settings.answer.mode] = llm
        self._build_lock = threading.Lock()  # building a model, once per mode
        self._llamacpp_lock = threading.Lock()  # one llama.cpp context: one generation at a time, never across a yield
        self._refresh_lock = threading.Lock()
        self._store_use = ReadersWriterLock()  # searches read the store together; a reopen waits for them
        self._checked_at = time.monotonic()
        self._reconnect = False  # a store call failed: open a new client before the next answer
        # retrieval alone never calls the synthesizer's LLM; BaseSynthesizer insists on one
        self._retrieval_only = CitedAnswerSynthesizer(MockLLM())
        self._use_index(collection, keyword_index)

    def _use_index(self, collection: ChunkCollection, keyword_index: KeywordIndex) -> None:
        retriever = HybridRetriever(collection, self.embedder, keyword_index, self.settings.retrieval, self._callbacks)
        self.analyzer = keyword_index.analyzer
        self._view = IndexView(collection, keyword_index, retriever)  # one assignment: readers never see a mix

    @property
    def collection(self) -> ChunkCollection:
        return self._view.collection

    @property
    def keyword_index(self) -> KeywordIndex:
        return self._view.keyword_index

    @property
    def retriever(self) -> HybridRetriever:
        return self._view.retriever

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        store: Store | None = None,
        llm: LLM | None = None,
    ) -> Assistant:
        """An assistant over the configured index; ``NoIndexError`` when there is none yet."""
        embedder = embedder or build_embedder(settings)
        store = store or ChunkStore(settings.store)
        collection = store.collection(settings.embedding.identity) if store.exists() else None
        if collection is None or collection.count() == 0:
            raise NoIndexError(
                f"there is no index at {store.location} yet: add pages with `alignment-qa ingest PATH` "
                "(try the bundled sample-corpus/)"
            )
        embedder.encode(["warm up"])  # load the model now, not on the first question
        analyzer = Analyzer()
        keyword_index = sync_keyword_index(store, collection, analyzer, embedder.is_plain_word)
        judge = build_judge(settings, embedder, analyzer, keyword_index.idf)
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
        """Status and token events, then one ``AnswerEvent`` whose text is authoritative.

        ``InvalidQuestionError`` for an empty or over-long question, a bad mode or top_k;
        ``StoreUnavailableError`` when the index cannot be read.
        """
        started = time.perf_counter()
        timings: dict[str, float] = {}
        question = self.check_question(question)
        mode = mode or self.settings.answer.mode
        if mode not in get_args(Mode):
            raise InvalidQuestionError(f"unknown answer mode '{mode}': use one of {', '.join(get_args(Mode))}")
        top_k = top_k or self.settings.retrieval.top_k
        if not 1 <= top_k <= 50:
            raise InvalidQuestionError("top_k must be between 1 and 50")
        self.refresh_if_stale()
        view = self._view  # one index for the whole answer, even if a refresh swaps it meanwhile

        clock = time.perf_counter()
        standalone, notices, llm_alive = self._standalone(question, history, mode)
        timings["condense"] = _ms(clock)

        yield StatusEvent("Searching the pages…")
        clock = time.perf_counter()
        bundle = QueryBundle(query_str=standalone)
        passages, view = self._retrieve(bundle, top_k)
        timings["retrieve"] = _ms(clock)

        base: dict[str, Any] = {"question": question, "standalone_question": standalone, "mode": mode, "top_k": top_k}
        clock = time.perf_counter()
        scored = self._score(standalone, bundle, passages, view)
        coverage = self.coverage(standalone, passages, scored, view)
        timings["coverage"] = _ms(clock)
        if not coverage.covered:  # decided before any LLM is called
            timings["total"] = _ms(started)
            yield AnswerEvent(self._not_covered(base, passages, timings, notices, coverage.reason))
            return
        if coverage.notice:
            notices.append(coverage.notice)

        clock = time.perf_counter()
        draft: Draft | None = None
        if mode != "evidence":
            if not llm_alive:  # it just failed on the follow-up: do not wait for it twice
                base["mode"] = "evidence"
            else:
                yield StatusEvent("Writing the answer…")
                try:
                    text = ""
                    for token in self._generate(mode, standalone, passages):
                        text += token
                        yield TokenEvent(token)
                    draft = self._llm_draft(text, len(passages))
                except _Refusal:
                    timings["generate"] = _ms(clock)
                    timings["total"] = _ms(started)
                    notices.append("The language model found no answer in the sources.")
                    yield AnswerEvent(self._not_covered(base, passages, timings, notices))
                    return
                except Exception as exc:  # refused connection, timeout, HTTP error, malformed output
                    log.warning("LLM answer failed: %s", exc, exc_info=True)
                    notices.append(f"The language model failed ({_describe(exc)}); showing quoted evidence instead.")
                    yield StatusEvent("The language model failed; falling back to quoted evidence.")
                    base["mode"] = "evidence"
                timings["generate"] = _ms(clock)
        if draft is None:
            clock = time.perf_counter()
            draft = self._evidence_draft(scored, history)
            timings["select_evidence"] = _ms(clock)
            if not draft.parsed.sentences:  # nothing quotable: honest "not covered" beats an empty answer
                timings["total"] = _ms(started)
                notices.append("No sentence of the retrieved passages answers it directly.")
                yield AnswerEvent(self._not_covered(base, passages, timings, notices))
                return

        clock = time.perf_counter()
        checked = verify(draft, passages, self.judge, self.settings.answer.support_threshold)
        timings["verify"] = _ms(clock)
        timings["total"] = _ms(started)
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
                judge=self.judge.name,
                timings_ms=timings,
            )
        )

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

    def query_engine(self, top_k: int, view: IndexView | None = None) -> RetrieverQueryEngine:
        """The LlamaIndex engine: hybrid retriever and postprocessors (cut, rerank, merge, diversity)."""
        view = view or self._view
        retrieval = self.settings.retrieval
        postprocessors: list[BaseNodePostprocessor] = [TopN(top_n=max(retrieval.rerank_candidates, top_k * 4))]
        if self.reranker is not None:
            postprocessors.append(self.reranker)
        if retrieval.merge_adjacent:
            postprocessors.append(AdjacentChunkMerger())
        postprocessors.append(PageDiversity(per_page=retrieval.max_chunks_per_page, top_k=top_k))
        return RetrieverQueryEngine(
            view.retriever,
            response_synthesizer=self._retrieval_only,
            node_postprocessors=postprocessors,
            callback_manager=self._callbacks,
        )

    def search(self, question: str, top_k: int | None = None) -> list[RetrievedPassage]:
        """Just the retrieved passages (for `alignment-qa search`)."""
        question = self.check_question(question)
        self.refresh_if_stale()
        passages, _ = self._retrieve(QueryBundle(question), top_k or self.settings.retrieval.top_k)
        return [passage_model(rank, item, False) for rank, item in enumerate(passages, 1)]

    # -- what the index holds, for the surfaces ------------------------------------------
    @property
    def location(self) -> str:
        """Where the index is, for messages (a server URL without its login)."""
        return self.store.location

    def stats(self) -> dict[str, Any]:
        """What the index holds: pages, chunks, model, store location, last ingest."""
        with self._store_use.reading():
            return self._view.collection.info()

    def page(self, page_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The chunk texts and metadata of one indexed page, in order (empty when it is not indexed)."""
        with self._store_use.reading():
            return self._view.collection.page_chunks(page_id)

    def page_states(self) -> dict[str, PageState]:
        """Every indexed page: content hash, chunk counts, title and URL."""
        with self._store_use.reading():
            return self._view.collection.page_states()

    def refresh_if_stale(self, force: bool = False) -> None:
        """Pick up another process's ingest: at most every ``store.refresh_seconds``, compare the
        collection's revision; when it changed, reopen an embedded store (its vector index is a
        snapshot) and reload the keyword index. After a failed store call, reconnect first. A store
        that cannot be reached keeps the current index (the answer then says the store is down)."""
        if not self._refresh_due(force):
            return
        with self._refresh_lock:
            if self._refresh_due(force):  # another thread may have refreshed while this one waited
                self._refresh()

    def _refresh_due(self, force: bool) -> bool:
        return force or self._reconnect or time.monotonic() - self._checked_at >= self.settings.store.refresh_seconds

    def _recover(self, failed: IndexView) -> None:
        """Reconnect after a store call failed on ``failed``, unless another thread already replaced it."""
        with self._refresh_lock:
            if self._view is failed:
                self._reconnect = True
                self._refresh()

    def _refresh(self) -> None:
        """Check the revision (or reconnect) and swap in the new index; call with the refresh lock held.
        Closing the store waits for searches in flight on the old client (``_store_use``), and
        searches that start meanwhile wait for the new index, so no answer meets a closed client."""
        self._checked_at = time.monotonic()
        reconnect, self._reconnect = self._reconnect, False
        model = self.settings.embedding.identity
        try:
            if reconnect:
                with self._store_use.writing():
                    self.store.close()
                    self._reopen(model)
                return
            collection = self.store.collection(model)
            if collection is None:  # dropped for a rebuild: keep answering from what we have
                return
            if collection.revision() == self.keyword_index.revision:
                return
            # the chunk rows are read fresh even through the old client; only its vector index is a snapshot
            keyword_index = sync_keyword_index(self.store, collection, self.analyzer, self.embedder.is_plain_word)
            if not self.store.embedded:
                self._use_index(collection, keyword_index)
                return
            with self._store_use.writing():
                self.store.close()  # a new client loads the vector index as it is on disk now
                collection = self.store.collection(model)
                if collection is not None:
                    self._use_index(collection, keyword_index)
        except StoreUnavailableError as exc:
            self._reconnect = True
            log.warning("could not check the index for changes: %s", exc)
        except AlignmentQAError:
            raise
        except Exception as exc:  # the store went away: keep serving what we have, reconnect next time
            self._reconnect = True
            log.warning("could not check the index for changes: %s", exc)

    def _reopen(self, model: str) -> None:
        """A fresh client, collection and keyword index (after a failure); hold ``_store_use`` for writing."""
        collection = self.store.collection(model)
        if collection is not None:
            keyword_index = sync_keyword_index(self.store, collection, self.analyzer, self.embedder.is_plain_word)
            self._use_index(collection, keyword_index)

    # -- steps ---------------------------------------------------------------------------
    def llm(self, mode: str) -> LLM:
        with self._build_lock:
            if mode not in self._llms:
                self._llms[mode] = build_llm(self.settings, mode)
            return self._llms[mode]

    def _retrieve(self, bundle: QueryBundle, top_k: int) -> tuple[list[NodeWithScore], IndexView]:
        """The passages, and the index they came from: when the store fails (another process rewrote
        it, a server restarted) the assistant reconnects and tries once more on the fresh index."""
        failure: BaseException | None = None
        for attempt in range(2):
            with self._store_use.reading():
                view = self._view  # read under the lock: a reopen never swaps it mid-search
                try:
                    return self.query_engine(top_k, view).retrieve(bundle), view
                except Exception as exc:  # store or file errors: reconnect, then a message, not a trace
                    if isinstance(exc, AlignmentQAError) and not isinstance(exc, StoreUnavailableError):
                        raise
                    log.warning("retrieval failed (attempt %d): %s", attempt + 1, exc, exc_info=True)
                    failure = exc.__cause__ if isinstance(exc, StoreUnavailableError) and exc.__cause__ else exc
            if attempt == 0:
                self._recover(view)  # outside the read lock: reconnecting waits for readers
                if self._view is view:
                    break  # no fresh index to try
            else:
                with self._refresh_lock:
                    if self._view is view:
                        self._reconnect = True  # the next question starts with a new client
        raise StoreUnavailableError(
            f"cannot search the index at {self.store.location}: {_describe(failure or RuntimeError())}; "
            "it will be tried again on the next question"
        ) from failure

    def _standalone(
        self, question: str, history: Sequence[Mapping[str, str]] | None, mode: str
    ) -> tuple[str, list[str], bool]:
        """The standalone question, notices, and whether the LLM (if any) is still worth calling."""
        turns = self.settings.answer.history_turns
        limit = self.settings.answer.max_question_chars
        earlier = cap_turns(user_turns(history)[-turns:], limit) if turns else []
        if not earlier:
            return question, [], True
        if mode != "evidence":
            try:
                llm = self.llm(mode)
                with self._llamacpp_lock if mode == "llamacpp" else nullcontext():
                    rewritten = condense_with_llm(llm, earlier, question)
                return cap(rewritten, limit), [], True
            except Exception as exc:  # a dead backend must not stop the question, nor be called twice
                log.warning("LLM condense failed: %s", exc, exc_info=True)
                notice = (
                    f"The language model failed ({_describe(exc)}); the follow-up was joined to your previous "
                    "question and the answer shows quoted evidence instead."
                )
                return condense(question, earlier, limit), [notice], False
        return condense(question, earlier, limit), [], True

    def coverage(
        self, question: str, passages: Sequence[NodeWithScore], scored: Sequence[Scored], view: IndexView | None = None
    ) -> Coverage:
        """The verdict from several signals (``abstain.decide``): the best passage's cosine, names
        no page mentions, rare terms the passages lack, the asked answer type."""
        view = view or self._view
        answer = self.settings.answer
        dense = [item.node.metadata.get("dense_score") for item in passages]
        return decide(
            question,
            scored,
            max((score for score in dense if score is not None), default=-1.0),
            [item.node.get_content() for item in passages],
            view.keyword_index,
            self.embedder.is_plain_word,
            min_relevance=answer.min_relevance,
            unknown_margin=answer.unknown_term_margin,
            rare_idf=answer.rare_term_idf,
            typed_top=answer.typed_top,
            sides=comparison_sides(question),
            kind=asked_type(question),
        )

    def _generate(self, mode: str, question: str, passages: list[NodeWithScore]) -> Iterator[str]:
        llm = self.llm(mode)
        if mode == "llm":
            budget = source_budget(ENDPOINT_CONTEXT_TOKENS, self.settings.llm.max_tokens)
            synthesizer = CitedAnswerSynthesizer(llm, chat=self.settings.llm.chat, max_source_chars=budget)
        else:
            budget = source_budget(self.settings.llamacpp.n_ctx, self.settings.llm.max_tokens)
            synthesizer = CitedAnswerSynthesizer(llm, chat=True, max_source_chars=budget)
        for item in passages:
            hide_from_llm(item.node)

        def tokens() -> Iterator[str]:
            response = synthesizer.synthesize(QueryBundle(question), passages)
            generator = getattr(response, "response_gen", None)
            if generator is None:
                yield str(response)
            else:
                yield from generator

        if mode == "llamacpp":  # generated by a worker holding the lock; this generator never holds it
            return locked_stream(tokens, self._llamacpp_lock, name="llamacpp-generate")
        return tokens()

    def _llm_draft(self, text: str, n_passages: int) -> Draft:
        parsed = cite.resolve(text, n_passages)
        if not parsed.sentences:
            raise ValueError("the model returned no text")
        if not parsed.order:
            if _REFUSAL.search(text):
                raise _Refusal
            raise ValueError("the model cited no source")
        return Draft(parsed)

    def _score(
        self, question: str, bundle: QueryBundle, passages: Sequence[NodeWithScore], view: IndexView
    ) -> list[Scored]:
        """Every quotable sentence of ``passages``, scored against the question, best first."""
        if bundle.embedding:
            vector = np.asarray(bundle.embedding, dtype=np.float32)
        else:
            vector = self.embedder.encode([question])[0]
        return score_sentences(
            view.retriever.expand(question),
            vector,
            passages,
            self.sentence_vectors,
            self.analyzer,
            view.keyword_index.idf,
            asked_type(question),
        )

    def _evidence_draft(self, scored: Sequence[Scored], history: Sequence[Mapping[str, str]] | None) -> Draft:
        """Quote the best sentences, leaving out those an earlier answer of this conversation quoted."""
        earlier = [_plain(str(turn.get("content", ""))) for turn in history or [] if turn.get("role") == "assistant"]
        answer = self.settings.answer
        chosen = choose(
            scored,
            answer.max_sentences,
            answer.keep_ratio,
            lambda sentence: any(_plain(sentence) in turn for turn in earlier),
        )
        if not chosen:  # everything was said before: saying it again beats saying nothing
            chosen = choose(scored, answer.max_sentences, answer.keep_ratio)
        return evidence_draft(chosen)

    def _not_covered(
        self,
        base: dict[str, Any],
        passages: list[NodeWithScore],
        timings: dict[str, float],
        notices: list[str],
        reason: str = "",
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
        if reason:  # "… do not cover this question: no indexed page mentions the Asilomar AI Principles."
            text = f"{NOT_COVERED[:-1]}: {reason[0].lower()}{reason[1:]}"
        if nearest:
            text += " The nearest pages are: " + "; ".join(nearest) + "."
        return Answer(
            **base,
            text=text,
            notice=" ".join(notices),
            covered=False,
            retrieved=[passage_model(rank, item, False) for rank, item in enumerate(passages, 1)],
            timings_ms=timings,
        )


class _Refusal(Exception):
    """The LLM said the sources do not cover the question."""


def _plain(text: str) -> str:
    """Lower-case words and numbers only, for "was this sentence quoted before" across markup and citations."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", cite.MARKER.sub(" ", text).lower())) + " "


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name
