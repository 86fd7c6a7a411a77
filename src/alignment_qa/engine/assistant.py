"""The ``Assistant``: the one facade the CLI, UI, API, Discord bot and evaluation call.

``ask(question, history)`` returns an ``Answer``; ``stream(...)`` yields status and token events
and ends with the ``Answer``. The answer itself is written by the LlamaIndex query engine of the
index view in use (``query_engine.AnswerEngine``: retrieval, coverage, the mode's synthesizer,
verification); the assistant wraps it: it checks the question, rewrites a follow-up into a
standalone question, picks up another process's ingest, and searches under the store's
readers-writer lock, reconnecting and trying once more when the store fails. A failing LLM on a
follow-up means quoted evidence, without asking it twice. One assistant may serve concurrent
requests: per-call state lives in the call; models are built once under their own lock, and
llama.cpp in-process is called under its lock in a worker thread (``locked_stream``), never held
across a yield. ``stats``, ``page`` and ``page_states`` read what the index holds, so surfaces
never reach into the store. Rendering is left to the surfaces.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
from llama_index.core.callbacks import CallbackManager
from llama_index.core.llms import LLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle

from alignment_qa.engine.answer import Answer, AnswerEvent, Mode, RetrievedPassage, StatusEvent, StreamEvent
from alignment_qa.engine.condense import cap, cap_turns, condense, user_turns, visible_text
from alignment_qa.engine.generation import LlmModes, condense_with_llm
from alignment_qa.engine.postprocess import build_reranker
from alignment_qa.engine.query_engine import AnswerEngine, EngineParts, Turn, describe, elapsed_ms
from alignment_qa.engine.retrieval import HybridRetriever
from alignment_qa.engine.rwlock import ReadersWriterLock
from alignment_qa.engine.spelling import applied, corrections, read_as
from alignment_qa.engine.support import SupportJudge, build_judge
from alignment_qa.engine.verify import passage_model
from alignment_qa.errors import AlignmentQAError, InvalidQuestionError, NoIndexError, StoreUnavailableError
from alignment_qa.index.embedder import Embedder, build_embedder, follow_index
from alignment_qa.index.keyword import KeywordIndex, sync_keyword_index
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.sentence_pages import SentencePages
from alignment_qa.index.store import ChunkStore
from alignment_qa.index.store_api import ChunkCollection, PageState, Store
from alignment_qa.index.vector_cache import SentenceVectors
from alignment_qa.settings import Settings

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 0.5  # before the last try of a search that failed on a fresh index too


@dataclass(frozen=True)
class IndexView:
    """The index an answer reads: collection, keyword index, and the query engine over both."""

    collection: ChunkCollection
    keyword_index: KeywordIndex
    engine: AnswerEngine
    sentences: SentencePages  # the stored sentence vectors (none stored: every sentence is embedded as needed)


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
        self._callbacks = CallbackManager([])
        self._llms = LlmModes(settings, llm)
        # cached per sentence, shared by calls and index views; read from the store before they are computed
        sentence_vectors = SentenceVectors(embedder, stored=self._stored_sentence_vectors)
        self._parts = EngineParts(settings, embedder, judge, sentence_vectors, self._llms, reranker)
        self._refresh_lock = threading.Lock()
        self._store_use = ReadersWriterLock()  # searches read the store together; a reopen waits for them
        self._checked_at = time.monotonic()
        self._reconnect = False  # a store call failed: open a new client before the next answer
        self._use_index(collection, keyword_index)

    def _use_index(self, collection: ChunkCollection, keyword_index: KeywordIndex) -> None:
        retriever = HybridRetriever(collection, self.embedder, keyword_index, self.settings.retrieval, self._callbacks)
        engine = AnswerEngine(retriever=retriever, parts=self._parts, callback_manager=self._callbacks)
        self.analyzer = keyword_index.analyzer
        sentences = self._sentence_pages()
        self._view = IndexView(collection, keyword_index, engine, sentences)  # one assignment: readers never see a mix
        self._parts.sentence_vectors.forget_stored()

    def _sentence_pages(self) -> SentencePages:
        """The stored sentence vectors, read page by page when first needed: a sentence that is not stored (none
        stored, a store that fails or was built with another model) is embedded as needed (``SentenceVectors``)."""
        return SentencePages(self.store, self.settings.embedding.identity, self.settings.store.collection)

    def _stored_sentence_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        with self._store_use.reading():  # a reopen waits for this read, as for searches
            return self._view.sentences.vectors(ids)

    @property
    def collection(self) -> ChunkCollection:
        return self._view.collection

    @property
    def keyword_index(self) -> KeywordIndex:
        return self._view.keyword_index

    @property
    def query_engine(self) -> AnswerEngine:
        """The LlamaIndex query engine of the index in use; a refresh that swaps the index swaps it.
        Its ``query`` answers a standalone question as ``ask`` would, without the store's locks and retry."""
        return self._view.engine

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        store: Store | None = None,
        llm: LLM | None = None,
    ) -> Assistant:
        """An assistant over the configured index; ``NoIndexError`` when there is none yet."""
        store = store or ChunkStore(settings.store)
        if embedder is None:
            settings = follow_index(settings, store)
            embedder = build_embedder(settings)
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
        question = self.check_question(question)
        mode = mode or self.settings.answer.mode
        if mode not in get_args(Mode):
            raise InvalidQuestionError(f"unknown answer mode '{mode}': use one of {', '.join(get_args(Mode))}")
        if mode != "evidence" and not self._llms.ready(mode):  # not set up at all: a mistake to say, not a failure
            needs = "llm.base_url (e.g. --llm-url URL)" if mode == "llm" else "llamacpp.model_path (a .gguf file)"
            raise InvalidQuestionError(f"answer mode '{mode}' is not set up here: it needs {needs}")
        top_k = top_k or self.settings.retrieval.top_k
        if not 1 <= top_k <= 50:
            raise InvalidQuestionError("top_k must be between 1 and 50")
        self.refresh_if_stale()

        clock = time.perf_counter()
        standalone, notices, llm_alive = self._standalone(question, history, mode)
        joined = standalone != question  # earlier turns joined to it, or an LLM's rewrite
        standalone, spelled = self._spelled(question, standalone)
        notices = [spelled, *notices] if spelled else notices
        turn = Turn(question, standalone, mode, top_k, history or (), notices, llm_alive, started)
        if joined:  # what the user typed this time decides a decline; an earlier turn's unknown words only a notice
            turn.asked = self._spelled(question, question)[0]
        turn.timings["condense"] = elapsed_ms(clock)

        yield StatusEvent("Searching the pages…")
        clock = time.perf_counter()
        bundle = QueryBundle(query_str=standalone)
        passages, view = self._retrieve(bundle, top_k)
        turn.timings["retrieve"] = elapsed_ms(clock)
        yield from view.engine.answer(turn, bundle, passages)  # one index for the whole answer

    def check_question(self, question: str) -> str:
        """The trimmed question without invisible characters (``visible_text``); ``InvalidQuestionError`` with a
        message when nothing visible is left or it is too long."""
        if isinstance(question, str):
            question = visible_text(question)
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestionError("the question is empty: type what you want to know")
        question = question.strip()
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise InvalidQuestionError(
                f"the question is {len(question)} characters long; the limit is {limit} (answer.max_question_chars)"
            )
        return question

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
    def _retrieve(self, bundle: QueryBundle, top_k: int) -> tuple[list[NodeWithScore], IndexView]:
        """The passages, and the index they came from: when the store fails (another process rewrote
        it, a server restarted) the assistant reconnects and tries once more on the fresh index, and when that
        fails too (a Chroma server still applying another process's writes: "Error finding id"), once more after
        ``RETRY_PAUSE_S``."""
        failure: BaseException | None = None
        for attempt in range(3):
            with self._store_use.reading():
                view = self._view  # read under the lock: a reopen never swaps it mid-search
                try:
                    return view.engine.retrieve(bundle, top_k), view
                except Exception as exc:  # store or file errors: reconnect, then a message, not a trace
                    if isinstance(exc, AlignmentQAError) and not isinstance(exc, StoreUnavailableError):
                        raise
                    log.warning("retrieval failed (attempt %d): %s", attempt + 1, exc, exc_info=True)
                    failure = exc.__cause__ if isinstance(exc, StoreUnavailableError) and exc.__cause__ else exc
            if attempt == 0:
                self._recover(view)  # outside the read lock: reconnecting waits for readers
                if self._view is view:
                    break  # no fresh index to try
            elif attempt == 1:
                time.sleep(RETRY_PAUSE_S)  # the fresh index failed too: give the writer a moment
            else:
                with self._refresh_lock:
                    if self._view is view:
                        self._reconnect = True  # the next question starts with a new client
        raise StoreUnavailableError(
            f"cannot search the index at {self.store.location}: {describe(failure or RuntimeError())}; "
            "it will be tried again on the next question"
        ) from failure

    def _spelled(self, question: str, standalone: str) -> tuple[str, str]:
        """``standalone`` with the typos of this turn's ``question`` read as the words the pages use, and the
        notice saying so (``answer.spelling``); an earlier turn's typos are corrected without a second notice."""
        if not self.settings.answer.spelling:
            return standalone, ""
        fixes = corrections(standalone, self.keyword_index, self.embedder.is_plain_word, self._view.engine.text_matches)
        return applied(standalone, fixes), read_as({typo: fix for typo, fix in fixes.items() if typo in question})

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
                llm = self._llms.llm(mode)
                with self._llms.exclusive(mode) or nullcontext():
                    rewritten = condense_with_llm(llm, earlier, question)
                return cap(rewritten, limit), [], True
            except Exception as exc:  # a dead backend must not stop the question, nor be called twice
                log.warning("LLM condense failed: %s", exc, exc_info=True)
                notice = (
                    f"The language model failed ({describe(exc)}); the follow-up was read with your earlier "
                    "questions and the answer shows quoted evidence instead."
                )
                return condense(question, earlier, limit), [notice], False
        return condense(question, earlier, limit), [], True
