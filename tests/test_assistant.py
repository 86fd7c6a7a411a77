"""The Assistant over a real index of the sample corpus: evidence answers, honesty, follow-ups.

Real embedding model, real embedded Chroma, real BM25 files; no LLM (see test_llm_backend).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alignment_qa.engine.answer import AnswerEvent, StatusEvent
from alignment_qa.engine.assistant import Assistant
from alignment_qa.engine.query_engine import NOT_COVERED
from alignment_qa.engine.references import collection_names
from alignment_qa.errors import InvalidQuestionError, NoIndexError
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.keyword import KeywordIndex, keyword_folder
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.clean import clean_page
from alignment_qa.ingest.pipeline import ingest
from alignment_qa.settings import Settings
from conftest import SAMPLE_CORPUS, BuiltIndex

STABLE_KEYS = {"text", "mode", "notice", "citations", "sentences", "retrieved", "timings_ms"}


@pytest.fixture(scope="module")
def assistant(sample_index: BuiltIndex, embedder: Embedder) -> Assistant:
    return Assistant.open(sample_index.settings, embedder=embedder)


def page_text(page_id: str, root: Path = SAMPLE_CORPUS) -> str:
    path = root / page_id
    return clean_page(path.read_text(encoding="utf-8"), path.name, path.suffix.lower()).text


def test_evidence_answer_quotes_and_cites_the_right_pages(assistant: Assistant) -> None:
    answer = assistant.ask("Is RLHF an inner alignment fix?")
    assert answer.mode == "evidence" and answer.covered and answer.notice == ""
    assert answer.citations, answer.text
    cited_pages = {citation.page_id for citation in answer.citations}
    assert "wiki/outer-vs-inner-alignment.txt" in cited_pages
    assert [citation.n for citation in answer.citations] == list(range(1, len(answer.citations) + 1))
    for citation in answer.citations:  # every quote is verbatim at its offsets
        assert page_text(citation.page_id)[citation.start : citation.end] == citation.quote
        assert citation.title and citation.section
    for sentence in answer.sentences:
        assert sentence.citations and sentence.supported and sentence.score == 1.0
        assert all(1 <= n <= len(answer.citations) for n in sentence.citations)
    assert "[1]" in answer.text
    assert {"retrieve", "total"} <= set(answer.timings_ms)
    retrieved_cited = [passage for passage in answer.retrieved if passage.cited]
    assert len(retrieved_cited) == len(answer.citations)


def test_json_contract_keeps_its_keys(assistant: Assistant) -> None:
    data = json.loads(assistant.ask("What is Goodhart's law?").model_dump_json())
    assert set(data) >= STABLE_KEYS
    assert {"n", "page_id", "title", "section", "url", "quote", "start", "end"} <= set(data["citations"][0])
    assert {"text", "citations", "supported", "score"} <= set(data["sentences"][0])
    assert {"page_id", "section", "score", "rank"} <= set(data["retrieved"][0])
    assert data["citations"][0]["page_id"] == "wiki/goodharts-law.md"
    assert data["judge"].startswith("structured support")  # named for what it checks, not "entailment"


def test_uncovered_question_says_so_and_lists_nearest_pages(assistant: Assistant) -> None:
    answer = assistant.ask("How long should sourdough bread rise before baking?")
    assert not answer.covered
    assert answer.text.startswith(NOT_COVERED[:-1])
    assert "no indexed page mentions “sourdough”" in answer.text  # says what is missing, by name
    assert answer.citations == [] and answer.sentences == []
    assert answer.retrieved and answer.retrieved[0].title in answer.text


def test_comparison_question_sees_both_sides(assistant: Assistant) -> None:
    answer = assistant.ask("outer vs inner alignment", top_k=4)
    pages = {passage.page_id for passage in answer.retrieved}
    assert len(pages) >= 2
    assert "wiki/outer-vs-inner-alignment.txt" in pages


def test_follow_up_uses_the_history(assistant: Assistant) -> None:
    history = [
        {"role": "user", "content": "What is reward hacking?"},
        {"role": "assistant", "content": "Reward hacking is ... [1]."},
    ]
    answer = assistant.ask("and how does Goodhart's law relate to it?", history=history)
    assert answer.standalone_question == "How does Goodhart's law relate to reward hacking?"
    assert {"wiki/reward-hacking.md", "wiki/goodharts-law.md"} <= {p.page_id for p in answer.retrieved}


def test_an_earlier_turns_unknown_words_add_a_notice_not_a_decline(assistant: Assistant) -> None:
    """What only an earlier question named does not decline a follow-up the pages answer; the user's own unknown
    word still does, and a name does not run on into the next sentence ("… Principles? And …")."""
    history = [{"role": "user", "content": "What is the Asilomar AI Principles? And sourdough?"}]
    answer = assistant.ask("And what about reward hacking?", history=history)
    assert answer.covered
    assert "wiki/reward-hacking.md" in {passage.page_id for passage in answer.retrieved}
    assert "No indexed page mentions the Asilomar AI Principles or “sourdough”, from an earlier question." in (
        answer.notice
    )
    earlier = [{"role": "user", "content": "What is reward hacking?"}]
    declined = assistant.ask("And what about Zorblax?", history=earlier)
    assert not declined.covered and "no indexed page mentions Zorblax" in declined.text


def test_stream_ends_with_the_answer(assistant: Assistant) -> None:
    events = list(assistant.stream("What is a mesa-optimizer?"))
    assert isinstance(events[0], StatusEvent)
    assert isinstance(events[-1], AnswerEvent)
    assert events[-1].answer.citations[0].page_id == "textbook/mesa-optimization.md"


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \n", "empty"), ("x" * 2001, "2001 characters")],
)
def test_bad_questions_get_a_message(assistant: Assistant, question: str, message: str) -> None:
    with pytest.raises(InvalidQuestionError, match=message):
        assistant.ask(question)


def test_no_index_is_a_clear_error(settings: Settings, embedder: Embedder) -> None:
    with pytest.raises(NoIndexError, match="alignment-qa ingest"):
        Assistant.open(settings, embedder=embedder)


def test_an_ingest_updates_the_keyword_index_like_a_rebuild_without_reading_every_chunk(
    tmp_path: Path, settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingest that knows what it changed updates the saved keyword index (only the new chunks are analysed,
    nothing is read back from the store); the result searches, counts terms and learns aliases like a rebuild."""
    from alignment_qa.index import keyword

    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    store = ChunkStore(settings.store)
    reads: list[int] = []
    real_read = keyword.read_all_chunks
    monkeypatch.setattr(keyword, "read_all_chunks", lambda *a, **k: reads.append(1) or real_read(*a, **k))
    monkeypatch.setattr(keyword, "STALE_SHARE", 1.0)  # the sample is small: one page is over a quarter of it
    ingest([corpus], settings, embedder, store)  # a new collection: built from what was added
    page = corpus / "wiki" / "reward-hacking.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n\nThe Zorblax Bridge Exchange (ZBE) audits proxies.\n")
    (corpus / "wiki" / "goodharts-law.md").unlink()
    ingest([corpus], settings, embedder, store)  # one page changed, one gone
    assert reads == [], "the keyword index was rebuilt from the store instead of updated"

    folder = keyword_folder(store)
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    updated = KeywordIndex.load(folder, Analyzer())
    assert updated is not None and updated.revision == collection.revision()
    rebuilt = KeywordIndex.build(real_read(collection), "r", Analyzer())
    assert sorted(updated.ids) == sorted(rebuilt.ids) and updated.doc_freq == rebuilt.doc_freq
    assert sorted(map(sorted, updated.aliases.groups)) == sorted(map(sorted, rebuilt.aliases.groups))
    assert updated.aliases.expansions("what does ZBE do") == ["Zorblax Bridge Exchange"]
    questions = ["reward hacking proxies", "what does ZBE audit", "goodhart measure target", "inner alignment"]
    for got, want in zip(updated.search_many(questions, 5), rebuilt.search_many(questions, 5), strict=True):
        assert [(hit.chunk_id, round(hit.score, 4)) for hit in got] == [
            (hit.chunk_id, round(hit.score, 4)) for hit in want
        ]
    assert updated.in_one_chunk("Zorblax Bridge Exchange") and not any("goodharts-law" in i for i in updated.ids)
    assert {"zorblax", "audits", "proxies"} <= updated.spellings  # the words a typo may be read as, saved
    assert rebuilt.spellings <= updated.spellings  # a removed page's words linger until a rebuild


def test_keyword_index_follows_incremental_ingest(tmp_path: Path, settings: Settings, embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Reward hacking\n\nAgents exploit flaws in the reward function.\n")
    store = ChunkStore(settings.store)
    ingest([corpus], settings, embedder, store)
    (corpus / "b.md").write_text("# Zorblax\n\nThe Zorblax Bridge Exchange (ZBE) audits frontier models weekly.\n")
    ingest([corpus], settings, embedder, store)
    folder = keyword_folder(store)
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    saved = KeywordIndex.load(folder, Analyzer())
    assert saved is not None and saved.revision == collection.revision()
    assert [hit.chunk_id.split("#")[0] for hit in saved.search_many(["zorblax"], 3)[0]] == ["b.md"]
    assert saved.aliases.expansions("what does ZBE do") == ["Zorblax Bridge Exchange"]
    assert saved.in_one_chunk("Zorblax Bridge Exchange") and not saved.in_one_chunk("Zorblax Agents")

    (corpus / "b.md").unlink()  # removal is followed too
    ingest([corpus], settings, embedder, store)
    saved = KeywordIndex.load(folder, Analyzer())
    assert saved is not None and saved.search_many(["zorblax"], 3)[0] == []

    collection.new_revision()  # as after an interrupted ingest: the next open rebuilds
    assistant = Assistant.open(settings, embedder=embedder, store=store)
    assert assistant.keyword_index.revision == collection.revision()
    assert [p.page_id for p in assistant.search("reward function flaws", 1)] == ["a.md"]


def test_llama_index_global_settings_are_never_touched(assistant: Assistant) -> None:
    from llama_index.core import Settings as LlamaSettings

    assistant.ask("What is reward hacking?")
    assistant.search("Goodhart", 2)
    assert LlamaSettings._llm is None and LlamaSettings._embed_model is None
    assert LlamaSettings._callback_manager is None and LlamaSettings._prompt_helper is None


def test_concurrent_questions_share_one_assistant(assistant: Assistant) -> None:
    from concurrent.futures import ThreadPoolExecutor

    questions = ["What is reward hacking?", "What is Goodhart's law?", "What is a mesa-optimizer?"] * 3
    alone = {question: assistant.ask(question).text for question in set(questions)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda question: assistant.ask(question).text, questions))
    assert together == [alone[question] for question in questions]


def test_another_process_ingest_is_picked_up(tmp_path: Path, settings: Settings, embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Reward hacking\n\nAgents exploit flaws in the reward function.\n")
    store = ChunkStore(settings.store)
    ingest([corpus], settings, embedder, store)
    assistant = Assistant.open(settings, embedder=embedder)
    engine = assistant.query_engine
    (corpus / "b.md").write_text("# Zorblax\n\nThe zorblax audit reviews frontier models every week.\n")
    ingest([corpus], settings, embedder, ChunkStore(settings.store))  # as another process would
    assistant.refresh_if_stale(force=True)
    assert [p.page_id for p in assistant.search("zorblax audit", 1)] == ["b.md"]
    assert assistant.query_engine is not engine  # a new index view, a new query engine over it


def test_a_follow_up_does_not_repeat_the_previous_quotes(assistant: Assistant) -> None:
    first = assistant.ask("What is reward hacking?")
    history = [{"role": "user", "content": "What is reward hacking?"}, {"role": "assistant", "content": first.text}]
    again = assistant.ask("and why does it happen?", history=history)
    assert again.covered and again.sentences
    assert not {s.text for s in again.sentences} & {s.text for s in first.sentences}
    alone = assistant.ask("What is reward hacking? and why does it happen?")  # the same without history
    assert {s.text for s in alone.sentences} & {s.text for s in first.sentences}  # so the history made the change


def test_the_same_question_again_gets_the_same_answer(assistant: Assistant) -> None:
    """A follow-up leaves out what was quoted before; the same question asked again is no follow-up."""
    first = assistant.ask("What is reward hacking?")
    history = [{"role": "user", "content": "What is reward hacking?"}, {"role": "assistant", "content": first.text}]
    again = assistant.ask("what is reward hacking", history=history)
    assert [s.text for s in again.sentences] == [s.text for s in first.sentences]


def test_the_query_engine_writes_the_answer_ask_returns(assistant: Assistant) -> None:
    """One answer path: LlamaIndex's ``query`` gives the text, citations and passages ``ask`` gives."""
    question = "What is Goodhart's law?"
    asked = assistant.ask(question)
    response = assistant.query_engine.query(question)
    answer = response.metadata["answer"]  # type: ignore[index]
    assert response.response == asked.text == answer.text
    assert answer.mode == "evidence" and answer.covered
    assert [c.model_dump() for c in answer.citations] == [c.model_dump() for c in asked.citations]
    assert [s.model_dump() for s in answer.sentences] == [s.model_dump() for s in asked.sentences]
    assert [(p.page_id, p.chunk_ids) for p in answer.retrieved] == [(p.page_id, p.chunk_ids) for p in asked.retrieved]
    # source_nodes are the retrieved passages, in rank order
    assert [item.node.metadata["chunk_ids"] for item in response.source_nodes] == [p.chunk_ids for p in asked.retrieved]
    assert [item.node.get_content() for item in response.source_nodes] == [p.text for p in asked.retrieved]
    assert {"retrieve", "coverage", "select_evidence", "verify", "total"} <= set(answer.timings_ms)


def test_the_streaming_query_ends_with_the_same_answer(assistant: Assistant) -> None:
    question = "What is a mesa-optimizer?"
    streamed = assistant.query_engine.stream_query(question)
    pieces = list(streamed.response_gen)  # evidence mode: the whole answer in one piece
    assert pieces == [assistant.ask(question).text]
    assert str(streamed) == pieces[0] and streamed.metadata["answer"].text == pieces[0]  # type: ignore[index]
    assert streamed.source_nodes


def test_the_query_engine_declines_what_the_pages_do_not_cover(assistant: Assistant) -> None:
    response = assistant.query_engine.query("How long should sourdough bread rise before baking?")
    assert response.response is not None and response.response.startswith(NOT_COVERED[:-1])
    assert not response.metadata["answer"].covered  # type: ignore[index]
    assert response.source_nodes  # the nearest passages are still the sources


def test_batched_dense_search_equals_one_search_per_vector(assistant: Assistant, embedder: Embedder) -> None:
    """Chroma answers the question and its expansions in one request, each with its own ranking."""
    vectors = embedder.encode(["What is reward hacking?", "inner alignment", "Goodhart's law"])
    batched = assistant.collection.search_many(list(vectors), 4)
    single = [assistant.collection.search_many([vector], 4)[0] for vector in vectors]
    assert [[hit.id for hit in hits] for hits in batched] == [[hit.id for hit in hits] for hits in single]
    assert [hit.rank for hit in batched[1]] == [1, 2, 3, 4] and batched[0][0].id != batched[1][0].id


def test_a_typo_is_read_as_the_pages_word_and_said(assistant: Assistant) -> None:
    answer = assistant.ask("what is specificaton gaming?")
    assert answer.standalone_question == "what is specification gaming?"
    assert "Read “specificaton” as “specification”." in answer.notice and answer.covered
    assert answer.retrieved[0].page_id == "wiki/reward-hacking.md"  # where the sample corpus defines it
    assert assistant.search("specificaton gaming")[0].page_id == answer.retrieved[0].page_id


def test_a_chunk_the_approximate_dense_search_missed_is_placed_by_its_exact_cosine(
    assistant: Assistant, embedder: Embedder
) -> None:
    """Chroma's approximate search can miss a chunk unlike the rest of the collection (a page on a new topic, asked
    about by name); one the keyword search found joins the dense ranking where its exact cosine puts it."""
    retriever = assistant.query_engine.retriever
    question = "What is reward hacking?"
    vectors = embedder.encode([question])
    dense = assistant.collection.search_many(list(vectors), 5, with_text=False)
    keyword = retriever.keyword_index.search_many([question], 5)
    best = dense[0][0]
    assert best.id in {item.chunk_id for item in keyword[0]}  # the test needs the best chunk among both
    missed = [[hit for hit in dense[0] if hit.id != best.id]]  # as if the approximate search had not found it
    mended = retriever._with_missed(missed, keyword, vectors, 5)
    assert [hit.id for hit in mended[0]][:1] == [best.id] and mended[0][0].rank == 1
    assert abs(mended[0][0].score - best.score) < 1e-3 and len(mended[0]) == 5
    kept = retriever._with_missed(dense, keyword, vectors, 5)  # nothing missed: the ranking stands
    assert [(hit.id, hit.rank) for hit in kept[0]] == [(hit.id, hit.rank) for hit in dense[0]]


def test_a_reference_to_the_collection_is_not_searched(assistant: Assistant) -> None:
    retriever = assistant.query_engine.retriever
    assert "textbook" in collection_names(assistant.keyword_index)  # sample-corpus/textbook/*: pages never say it
    plain = assistant.ask("What is a mesa-optimizer?")
    referred = assistant.ask("According to the textbook, what is a mesa-optimizer?")
    assert retriever.searched("According to the textbook, what is a mesa-optimizer?") == "what is a mesa-optimizer?"
    assert [p.chunk_ids for p in referred.retrieved] == [p.chunk_ids for p in plain.retrieved]
    assert referred.text == plain.text and referred.question.startswith("According to the textbook")


def test_a_failing_text_search_skips_the_name_check_not_the_answer(
    assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search for a versioned name runs outside the store's read lock: a store reopened meanwhile must cost the
    check, not the answer."""

    def broken(pattern: str) -> bool:
        raise RuntimeError("the store was reopened")

    monkeypatch.setattr(assistant.query_engine.retriever.collection, "matches", broken)
    answer = assistant.ask("Is RLHF-2 an outer alignment technique like RLHF?")  # a version to search for
    assert answer.covered and answer.sentences


def test_a_search_failing_on_the_fresh_index_too_is_tried_once_more(
    sample_index: BuiltIndex, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Chroma server still applying another process's writes fails a search ("Error finding id") on the
    reconnected index too: a third try, after a pause, answers."""
    from alignment_qa.engine import assistant as assistant_module
    from alignment_qa.engine.query_engine import AnswerEngine
    from alignment_qa.errors import StoreUnavailableError

    fresh = Assistant.open(sample_index.settings, embedder=embedder)
    real = AnswerEngine.retrieve
    calls: list[int] = []

    def flaky(self: AnswerEngine, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) <= 2:
            raise StoreUnavailableError("failed to read chunks: Error executing plan: Internal error: Error finding id")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(assistant_module, "RETRY_PAUSE_S", 0.0)
    monkeypatch.setattr(AnswerEngine, "retrieve", flaky)
    answer = fresh.ask("What is reward hacking?")
    assert len(calls) == 3 and answer.covered and answer.citations
