"""Ranking logic with a deterministic embedding double (``HashedEmbedder``) and an in-memory chunk
collection: fusion in ``HybridRetriever`` (scaled scores, the default, and weighted reciprocal rank) against the
formula computed from its two rankings, comparison questions searched per side, page diversity and the merging of
neighbouring chunks with their page offsets. No model and no Chroma: retrieval quality with the real
model is test_dev_questions.py's job, a real store test_ingest.py's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from llama_index.core.schema import NodeWithScore, QueryBundle

from alignment_qa.engine.postprocess import JOINER, AdjacentChunkMerger, PageDiversity
from alignment_qa.engine.retrieval import SPARE, HybridRetriever, node_from_hit
from alignment_qa.index.keyword import KeywordIndex
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.store_api import SearchHit
from alignment_qa.settings import RetrievalSettings
from conftest import HashedEmbedder

# page id -> (section of each chunk, chunk texts in page order)
PAGES: dict[str, list[tuple[str, str]]] = {
    "wiki/reward-hacking.md": [
        ("Reward hacking", "Reward hacking is when an agent exploits a flaw in its reward signal."),
        ("Reward hacking", "A boat racing agent circled forever to collect points instead of finishing the race."),
        ("Reward hacking", "Reward hacking is also called specification gaming in some papers."),
        ("Examples", "Specification gaming examples include a robot arm that hid the ball from the camera."),
    ],
    "wiki/goodharts-law.md": [
        ("Goodhart's law", "Goodhart's law says a measure that becomes a target stops being a good measure."),
    ],
    "wiki/inner-alignment.md": [
        ("Inner alignment", "Inner alignment asks whether a learned model pursues the objective it was trained on."),
        ("Inner alignment", "A mesa optimizer may pursue a proxy objective that differs from its reward."),
    ],
}


class MemoryCollection:
    """The reads ``HybridRetriever`` makes of a ``ChunkCollection`` (search, get_chunks, vectors),
    over chunks held in memory; search is exact cosine, best first."""

    def __init__(self, embedder: HashedEmbedder) -> None:
        self.hits: dict[str, SearchHit] = {}
        self.page_text: dict[str, str] = {}
        for page_id, chunks in PAGES.items():
            offset = 0
            for index, (section, text) in enumerate(chunks):
                chunk_id = f"{page_id}#{index}"
                meta = {"page_id": page_id, "section_path": section, "title": page_id, "chunk_index": index}
                meta.update(start=offset, end=offset + len(text))
                self.hits[chunk_id] = SearchHit(chunk_id, 0, 0.0, text, meta)
                offset += len(text) + len(JOINER)
            self.page_text[page_id] = JOINER.join(text for _, text in chunks)
        self.ids = list(self.hits)
        self.matrix = embedder.encode([hit.text for hit in self.hits.values()])

    def nearest(self, vector: np.ndarray, k: int) -> list[SearchHit]:
        cosines = self.matrix @ vector
        order = sorted(range(len(self.ids)), key=lambda i: -float(cosines[i]))[:k]
        return [
            SearchHit(
                self.ids[i], rank, float(cosines[i]), self.hits[self.ids[i]].text, self.hits[self.ids[i]].metadata
            )
            for rank, i in enumerate(order, 1)
        ]

    def search_many(self, vectors: Sequence[np.ndarray], k: int, with_text: bool = True) -> list[list[SearchHit]]:
        return [self.nearest(vector, k) for vector in vectors]

    def get_chunks(self, ids: Sequence[str], with_vectors: bool = False) -> dict[str, SearchHit]:
        found = {chunk_id: self.hits[chunk_id] for chunk_id in ids if chunk_id in self.hits}
        if with_vectors:
            found = {key: replace(hit, vector=self.vectors([key])[key]) for key, hit in found.items()}
        return found

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {chunk_id: self.matrix[self.ids.index(chunk_id)] for chunk_id in ids if chunk_id in self.hits}


@pytest.fixture(scope="module")
def embedder() -> HashedEmbedder:
    return HashedEmbedder()


@pytest.fixture(scope="module")
def collection(embedder: HashedEmbedder) -> MemoryCollection:
    return MemoryCollection(embedder)


@pytest.fixture(scope="module")
def keywords(collection: MemoryCollection) -> KeywordIndex:
    records = [(hit.id, str(hit.metadata["title"]), hit.text) for hit in collection.hits.values()]
    return KeywordIndex.build(records, "r1", Analyzer())


def retriever(collection: MemoryCollection, keywords: KeywordIndex, **settings: Any) -> HybridRetriever:
    chosen = RetrievalSettings(**{"aliases": False, "split_comparisons": False, **settings})
    return HybridRetriever(collection, embedder=HashedEmbedder(), keyword_index=keywords, settings=chosen)  # type: ignore[arg-type]


def expected_fusion(
    collection: MemoryCollection,
    keywords: KeywordIndex,
    queries: list[tuple[str, float]],
    fusion: str = "convex",
    k: int = 30,
) -> dict[str, float]:
    """From each query's dense and BM25 rankings themselves: for rrf ``sum(weight * w / (rrf_k + rank))`` (weights 1
    and 1); for convex ``sum(weight * w * scaled score)``, cosines scaled between the lowest and the best hit, BM25
    scores by the best (weights 0.4 and 0.6)."""
    scores: dict[str, float] = {}
    for query, weight in queries:
        dense = collection.nearest(HashedEmbedder().encode([query])[0], k)
        keyword = keywords.search_many([query], k)[0]
        if fusion == "rrf":
            shares = [(hit.id, 1 / (60 + hit.rank)) for hit in dense]
            shares += [(found.chunk_id, 1 / (60 + found.rank)) for found in keyword]
        else:
            low, high = min(hit.score for hit in dense), max(hit.score for hit in dense)
            shares = [(hit.id, 0.4 * (hit.score - low) / (high - low)) for hit in dense]
            best = max(found.score for found in keyword)
            shares += [(found.chunk_id, 0.6 * found.score / best) for found in keyword]
        for chunk_id, share in shares:
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * share
    return scores


def test_the_double_is_deterministic_normalised_and_ranks_by_shared_words(embedder: HashedEmbedder) -> None:
    texts = ["reward hacking in agents", "Reward hacking, in agents!", "inner alignment of mesa optimizers", ""]
    vectors = embedder.encode(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors, HashedEmbedder().encode(texts))  # no per-process hash seed
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0)  # case and punctuation do not count
    query = embedder.encode(["what is reward hacking"])[0]
    assert float(query @ vectors[0]) > 0.4 > 0.1 > abs(float(query @ vectors[2]))
    assert embedder.count(["Reward hacking, twice."]) == [3] and not HashedEmbedder(["rlhf"]).is_plain_word("RLHF")


@pytest.mark.parametrize("chosen", [{}, {"fusion": "rrf"}], ids=["convex", "rrf"])
def test_fusion_weighs_both_rankings(
    collection: MemoryCollection, keywords: KeywordIndex, chosen: dict[str, Any]
) -> None:
    question = "What is reward hacking, also called specification gaming?"
    nodes = retriever(collection, keywords, **chosen).retrieve(question)
    expected = expected_fusion(collection, keywords, [(question, 1.0)], chosen.get("fusion", "convex"))
    assert {item.node.node_id: item.score for item in nodes} == pytest.approx(expected)
    scores = [item.score or 0.0 for item in nodes]
    assert scores == sorted(scores, reverse=True)
    top = nodes[0].node.node_id
    dense_rank = {hit.id: hit.rank for hit in collection.nearest(HashedEmbedder().encode([question])[0], 30)}
    keyword_rank = {found.chunk_id: found.rank for found in keywords.search_many([question], 30)[0]}
    assert top in keyword_rank and top in dense_rank  # found by both beats the best of one alone
    stored = collection.matrix[collection.ids.index(top)]
    assert nodes[0].node.metadata["dense_score"] == pytest.approx(
        float(stored @ HashedEmbedder().encode([question])[0])
    )


def test_one_weight_at_zero_leaves_the_other_ranking(collection: MemoryCollection, keywords: KeywordIndex) -> None:
    question = "Which agent circled the race collecting points?"
    query = HashedEmbedder().encode([question])[0]
    dense_only = retriever(collection, keywords, bm25_weight=0).retrieve(question)
    assert [item.node.node_id for item in dense_only] == [hit.id for hit in collection.nearest(query, 30)]
    keyword_only = retriever(collection, keywords, dense_weight=0).retrieve(question)
    keyword_hits = keywords.search_many([question], 30)[0]
    assert [item.node.node_id for item in keyword_only] == [found.chunk_id for found in keyword_hits]
    for item in keyword_only:  # a keyword-only find still carries its cosine, from its stored vector
        stored = collection.matrix[collection.ids.index(item.node.node_id)]
        assert item.node.metadata["dense_score"] == pytest.approx(float(stored @ query))
        assert item.node.metadata["keyword_score"] > 0


def test_a_comparison_is_searched_per_side_at_the_expansion_weight(
    collection: MemoryCollection, keywords: KeywordIndex
) -> None:
    question = "What is the difference between Goodhart's law and inner alignment?"
    split = retriever(collection, keywords, split_comparisons=True)
    queries = split.queries(question)
    assert queries == [(question, 1.0), ("Goodhart's law", 0.5), ("inner alignment", 0.5)]
    nodes = split.retrieve(question)
    assert {item.node.node_id: item.score for item in nodes} == pytest.approx(
        expected_fusion(collection, keywords, queries)
    )
    pages = [item.node.metadata["page_id"] for item in nodes[:3]]
    assert {"wiki/goodharts-law.md", "wiki/inner-alignment.md"} <= set(pages)
    query = HashedEmbedder().encode([question])[0]  # the dense score is the cosine with the question, not a side
    for item in nodes:
        stored = collection.matrix[collection.ids.index(item.node.node_id)]
        assert item.node.metadata["dense_score"] == pytest.approx(float(stored @ query))


def test_page_diversity_keeps_the_order_at_most_n_a_page_and_top_k(
    collection: MemoryCollection, keywords: KeywordIndex
) -> None:
    nodes = retriever(collection, keywords).retrieve("reward hacking specification gaming reward signal agent")
    pages = [item.node.metadata["page_id"] for item in nodes]
    assert pages[:3] == ["wiki/reward-hacking.md"] * 3  # one page would fill the answer
    kept = PageDiversity(per_page=2, top_k=3).postprocess_nodes(nodes)
    assert len(kept) == 3 and [item.node.metadata["page_id"] for item in kept].count("wiki/reward-hacking.md") == 2
    ids = [item.node.node_id for item in nodes]
    assert [ids.index(item.node.node_id) for item in kept] == sorted(ids.index(item.node.node_id) for item in kept)
    assert kept[2].node.metadata["page_id"] != "wiki/reward-hacking.md"  # the third source is another page
    assert len(PageDiversity(per_page=1, top_k=10).postprocess_nodes(nodes)) == len(PAGES)


def _nodes(collection: MemoryCollection, order: list[tuple[str, float]]) -> list[NodeWithScore]:
    return [NodeWithScore(node=node_from_hit(collection.hits[chunk_id]), score=score) for chunk_id, score in order]


def test_neighbours_merge_into_one_passage_that_maps_back_to_the_page(collection: MemoryCollection) -> None:
    rh = "wiki/reward-hacking.md"
    order = [(f"{rh}#1", 0.9), ("wiki/goodharts-law.md#0", 0.8), (f"{rh}#0", 0.7), (f"{rh}#2", 0.6), (f"{rh}#3", 0.5)]
    merged = AdjacentChunkMerger(max_chunks=3).postprocess_nodes(_nodes(collection, order))
    assert [item.node.metadata["page_id"] for item in merged] == [rh, "wiki/goodharts-law.md", rh]  # rank kept
    passage = merged[0]
    assert passage.node.metadata["chunk_ids"] == [f"{rh}#0", f"{rh}#1", f"{rh}#2"]  # page order, before and after
    assert passage.score == 0.9 and passage.node.get_content() == JOINER.join(text for _, text in PAGES[rh][:3])
    page = collection.page_text[rh]
    for at, start, end in passage.node.metadata["spans"]:  # every span maps the passage back to the page
        assert passage.node.get_content()[at : at + end - start] == page[start:end]
    assert merged[2].node.metadata["chunk_ids"] == [f"{rh}#3"]  # another section of the page: not joined
    capped = AdjacentChunkMerger(max_chunks=2).postprocess_nodes(_nodes(collection, order[:4]))
    assert [item.node.metadata["chunk_ids"] for item in capped] == [
        [f"{rh}#0", f"{rh}#1"],
        ["wiki/goodharts-law.md#0"],
        [f"{rh}#2"],
    ]


def test_batched_keyword_search_equals_one_search_per_query(keywords: KeywordIndex) -> None:
    """One BM25 pass for a question and its expansions gives each query's own hits, in order; a query
    of words no chunk has matches nothing and does not shift the others."""
    queries = ["reward hacking", "zzzz qqqq", "inner alignment objective", "reward"]
    batched = keywords.search_many(queries, 5)
    assert batched == [keywords.search_many([query], 5)[0] for query in queries]
    assert batched[1] == [] and batched[0] and batched[2]
    assert keywords.search_many([], 5) == []


def test_retrieve_top_reads_only_the_chunks_it_keeps_and_gives_keyword_finds_their_cosine(
    collection: MemoryCollection, keywords: KeywordIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "What is reward hacking, also called specification gaming?"
    everything = retriever(collection, keywords).retrieve(question)
    read: list[list[str]] = []
    real_get = collection.get_chunks
    monkeypatch.setattr(
        collection, "get_chunks", lambda ids, with_vectors=False: read.append(list(ids)) or real_get(ids, with_vectors)
    )
    kept = retriever(collection, keywords).retrieve_top(QueryBundle(question), 3)
    assert [item.node.node_id for item in kept] == [item.node.node_id for item in everything[:3]]
    spares = [item.node.node_id for item in everything[: 3 + SPARE]]
    assert read == [spares], "only the kept chunks (and a few spares) are read, in one request"
    query = HashedEmbedder().encode([question])[0]
    for item in everything:
        vector = collection.vectors([item.node.node_id])[item.node.node_id]
        assert item.node.metadata["dense_score"] == pytest.approx(float(vector @ query), abs=1e-5)


def test_a_chunk_deleted_since_the_indexes_loaded_does_not_cost_a_kept_place(
    collection: MemoryCollection, keywords: KeywordIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "What is reward hacking, also called specification gaming?"
    everything = retriever(collection, keywords).retrieve(question)
    gone = everything[0].node.node_id
    real_get = collection.get_chunks
    monkeypatch.setattr(
        collection,
        "get_chunks",
        lambda ids, with_vectors=False: {k: v for k, v in real_get(ids, with_vectors).items() if k != gone},
    )
    kept = retriever(collection, keywords).retrieve_top(QueryBundle(question), 3)
    assert [item.node.node_id for item in kept] == [item.node.node_id for item in everything[1:4]]


def test_a_quotes_speaker_counts_for_the_asked_kind_of_token(embedder: HashedEmbedder) -> None:
    """The answer shows a quote box's sentence with its title ("The Bletchley Declaration (signed by 28 countries,
    …): “…”"), so the title's number answers "How many countries signed …?" as the sentence's own would."""
    from llama_index.core.schema import TextNode

    from alignment_qa.engine.evidence import score_sentences
    from alignment_qa.index.vector_cache import SentenceVectors

    text = (
        "Quote: The Bletchley Declaration (signed by 28 countries and the EU, 2023)\n\n"
        "Substantial risks may arise from misuse of frontier models.\n\n"
        "Frontier models are discussed at summits."
    )
    node = TextNode(text=text, metadata={"spans": [[0, 0, len(text)]], "page_id": "atlas/04/README.md"})
    question = "How many countries signed the Bletchley Declaration?"
    analyzer = Analyzer()
    scored = score_sentences(
        question,
        embedder.encode([question])[0],
        [NodeWithScore(node=node, score=1.0)],
        SentenceVectors(embedder),  # type: ignore[arg-type]
        analyzer,
        lambda term: 1.0,
        "number",
    )
    typed = {item.text: item.typed for item in scored}
    assert typed == {
        "Substantial risks may arise from misuse of frontier models.": True,
        "Frontier models are discussed at summits.": False,
    }


def test_a_list_item_counts_half_of_its_lead_ins_words(embedder: HashedEmbedder) -> None:
    from llama_index.core.schema import TextNode

    from alignment_qa.engine.evidence import LEAD_IN_SHARE, score_sentences
    from alignment_qa.index.vector_cache import SentenceVectors

    text = "Safety washing happens in three ways:\n- Research gets labeled as safety work without any reason."
    node = TextNode(text=text, metadata={"spans": [[0, 0, len(text)]], "page_id": "atlas/03/01.md"})
    question = "How does safety washing happen?"
    scored = score_sentences(
        question,
        embedder.encode([question])[0],
        [NodeWithScore(node=node, score=1.0)],
        SentenceVectors(embedder),  # type: ignore[arg-type]
        Analyzer(),
        lambda term: 1.0,
    )
    # "safety" is the item's own word; "washing" and "happen" are only its lead-in's
    assert [item.overlap for item in scored] == [pytest.approx((1 + 2 * LEAD_IN_SHARE) / 3)]


def test_the_answer_ranks_a_passage_by_its_retrieval_score_not_its_place(embedder: HashedEmbedder) -> None:
    """Two passages retrieval scored nearly alike: the answer leads with the second one's sentence when that
    sentence matches better, where a bonus by place (1 / (1 + rank)) had held it back. The coverage check keeps
    reading the place-based ``score`` it was fitted on."""
    from llama_index.core.schema import TextNode

    from alignment_qa.engine.evidence import WEIGHTS, for_answer, score_sentences
    from alignment_qa.index.vector_cache import SentenceVectors

    question = "Does reward hacking require a misspecified reward?"
    first = "Reward hacking is a problem of agents that require a reward."
    second = "Reward hacking does not require a misspecified reward."
    nodes = [
        NodeWithScore(node=TextNode(text=text, metadata={"spans": [[0, 0, len(text)]], "page_id": page}), score=score)
        for text, page, score in ((first, "atlas/06/01.md", 1.0), (second, "atlas/06/02.md", 0.95))
    ]
    args = (embedder.encode([question])[0], nodes, SentenceVectors(embedder), Analyzer(), lambda term: 1.0)
    no_words = (WEIGHTS[0], 0.0, *WEIGHTS[2:])  # the cosine and the passage alone: hashed vectors
    scored = score_sentences(question, *args, weights=no_words)  # type: ignore[arg-type]
    assert [item.text for item in scored] == [first, second]  # by place: 0.541 against 0.541 / 2
    assert [item.text for item in for_answer(scored)] == [second, first]  # by retrieval score: 0.541 against 0.514
    # place-based when retrieval gives no usable scores
    flat = [NodeWithScore(node=node.node, score=None) for node in nodes]
    unscored = score_sentences(question, args[0], flat, *args[2:], weights=no_words)  # type: ignore[arg-type]
    assert {item.text: item.score for item in for_answer(unscored)} == {item.text: item.score for item in unscored}


def test_a_yes_or_no_question_lifts_a_denial_of_its_words_below_the_best_sentence(embedder: HashedEmbedder) -> None:
    """ "Is RLHF an inner alignment fix?": the sentence that denies what it asks ("None of them solve inner
    alignment.") gains ``DENIAL_BONUS`` in the answer's ranking, up to just below the best sentence, which keeps the
    lead; a negation of something else ("this might not last") and the same question asked openly gain nothing."""
    from llama_index.core.schema import TextNode

    from alignment_qa.engine.evidence import DENIAL_BONUS, WEIGHTS, Scored, for_answer, score_sentences
    from alignment_qa.index.vector_cache import SentenceVectors

    question = "Is RLHF an inner alignment fix?"
    lead = "Some call RLHF a fix for inner alignment in language models."
    rival = "RLHF is the standard alignment scaffold for chat models."
    other = "Scaling compute this way might not last forever either."
    denial = "None of them solve inner alignment in any model."
    text = " ".join((lead, rival, other, denial))
    node = TextNode(text=text, metadata={"spans": [[0, 0, len(text)]], "page_id": "wiki/outer-vs-inner.txt"})
    args = ([NodeWithScore(node=node, score=1.0)], SentenceVectors(embedder), Analyzer(), lambda term: 1.0)
    no_cosine = (0.0, *WEIGHTS[1:])  # word overlap and place alone: hashed vectors

    vector = embedder.encode([question])[0]

    def ranked(yes_or_no: bool) -> list[Scored]:
        return score_sentences(question, vector, *args, weights=no_cosine, yes_or_no=yes_or_no)  # type: ignore[arg-type]

    plain = {item.text: item.score for item in for_answer(ranked(False))}
    lifted = for_answer(ranked(True))
    scores = {item.text: item.score for item in lifted}
    assert [item.text for item in for_answer(ranked(False))][:2] == [lead, rival]
    assert [item.text for item in lifted][:2] == [lead, denial]
    assert scores[denial] == pytest.approx(min(plain[denial] + DENIAL_BONUS, plain[lead]), abs=1e-5)
    assert scores[other] == plain[other] and scores[lead] == plain[lead]
    # the coverage check's place-based score is left alone
    assert [(item.text, item.score) for item in ranked(True)] == [(item.text, item.score) for item in ranked(False)]
    # a follow-up asking nothing of its own ("and what about goal misgeneralization?"): a denial must be about its words
    after = score_sentences(
        question, vector, *args, weights=no_cosine, yes_or_no=True, denials_of="and what about goal misgeneralization?"
    )  # type: ignore[arg-type]
    assert {item.text: item.score for item in for_answer(after)}[denial] == plain[denial]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Is RLHF an inner alignment fix?", True),
        ("so does debate work?", True),
        ("Doesn't RLHF solve it?", True),
        ("Can't we just unplug it?", True),
        ("What is RLHF?", False),
        ("Isolation of models: what is it?", False),
        ("Mayan calendar and AI?", False),
        ("Can you explain inner alignment?", False),  # requests
        ("Do you know what RLHF is?", False),
        ("Won't AGI be dangerous?", True),
        ("Hmm, is RLHF enough?", True),
    ],
)
def test_a_yes_or_no_question_opens_with_an_auxiliary_verb(question: str, expected: bool) -> None:
    from alignment_qa.engine.answer_type import asks_yes_or_no

    assert asks_yes_or_no(question) is expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("W2SG is not a complete solution.", "a complete solution."),
        ("Continuous progress doesn't mean linear or simple progress.", "mean linear or simple progress."),
        ("The list is far from exhaustive, but it helps.", "exhaustive"),
        ("Sycophants deceive, but they are not deceptively aligned.", "deceptively aligned."),
        ("Nobody knows how notable this is.", ""),
        ("RLHF is not only cheap but also effective.", ""),  # affirmations
        ("There is no doubt that RLHF helps, and it is no longer new.", ""),
    ],
)
def test_a_negation_covers_the_rest_of_its_clause(sentence: str, expected: str) -> None:
    from alignment_qa.engine.answer_type import denied

    assert denied(sentence) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What are the three sections of the Generalization chapter?", True),
        ("What advantages do red teams have over a real scheming model?", True),
        ("How does RLHF work, step by step?", True),
        ("in what ways does safety washing happen?", True),
        ("What are the limits of inverse RL?", True),
        ("What are mesa-optimizers?", False),  # a definition
        ("What kind of problem is reward hacking?", False),
        ("What is the main focus of chapter 3?", False),
        ("Is RLHF a step towards alignment?", False),
        ("What does this do?", False),
    ],
)
def test_a_question_asking_for_several_things(question: str, expected: bool) -> None:
    from alignment_qa.engine.answer_type import asks_for_several

    assert asks_for_several(question) is expected


def test_a_follow_up_is_read_by_its_own_words_unless_it_asks_nothing_of_its_own() -> None:
    from alignment_qa.engine.answer_type import asking_words

    joined = "Is RLHF an outer alignment fix? And what about inner alignment?"
    assert asking_words("And what about inner alignment?", joined) == joined
    assert asking_words("and the genome one?", "Compare the anchors. and the genome one?") != "and the genome one?"
    assert asking_words("and why is it hard?", "What are the layers? and why is it hard?") == "and why is it hard?"
    assert asking_words(None, joined) == joined


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("What is reward shaping?", "reward shaping"),
        ("what's a mesa-optimizer?", "mesa-optimizer"),
        ("explain reward shaping to me", "reward shaping"),
        ("Define corrigibility.", "corrigibility"),
        ("What does 'sandbagging' mean?", "sandbagging"),
        ("What is meant by outer alignment?", "outer alignment"),
        ("What is the orthogonality thesis?", "orthogonality thesis"),
        ("What is Goodhart's law?", "Goodhart's law"),
        ("instrumental convergence meaning", "instrumental convergence"),
        ("What is instrumental convergence in simple terms?", "instrumental convergence"),
        ("What is the difference between outer and inner alignment?", ""),
        ("What is the role of RLHF?", ""),
        ("What is Sutton's 'bitter lesson', and what does it imply for AI safety?", ""),
        ("How does RLHF work?", ""),
        ("explain how debate works", ""),
        ("what is it", ""),
        ("what is OpenAI doing", ""),
        ("what are the risks of AI", ""),
    ],
)
def test_a_question_asking_what_a_term_means_names_the_term(question: str, term: str) -> None:
    from alignment_qa.engine.answer_type import defined_term

    assert defined_term(question) == term


@pytest.mark.parametrize(
    ("sentence", "term", "expected"),
    [
        ("A mesa-optimizer is a learned algorithm that is itself an optimizer.", "mesa-optimizer", True),
        ("Mesa optimizers are simply a particular type of algorithm.", "mesa-optimizer", True),
        ("Reward Shaping: Reward shaping is a technique used in RL.", "reward shaping", True),
        ("Goodhart’s Law: When a measure becomes a target, it ceases to be a good measure.", "Goodhart's law", True),
        ("Corrigibility refers to a system's willingness to be corrected.", "corrigibility", True),
        ("Reinforcement Learning from Human Feedback (RLHF) is a method developed by OpenAI.", "RLHF", True),
        ("This is known as reward hacking (Skalse, 2022).", "reward hacking", True),
        ("Internally aligned mesa-optimizer : These AIs want what humans want.", "mesa-optimizer", False),  # a kind
        ("Poorly designed reward shaping can lead to suboptimal behavior.", "reward shaping", False),  # a claim
        ("Goal misgeneralization is empirically real.", "goal misgeneralization", False),
        ("This is called reward hacking and it is common.", "reward hacking", False),
    ],
)
def test_a_sentence_defines_a_term_it_opens_with_or_names_last(sentence: str, term: str, expected: bool) -> None:
    from alignment_qa.engine.answer_type import defines

    assert defines(sentence, term) is expected


def test_the_best_definition_of_the_asked_term_leads_the_answer(embedder: HashedEmbedder) -> None:
    from alignment_qa.engine.evidence import WEIGHTS, for_answer, score_sentences

    question = "explain reward shaping to me"
    claim = "Poorly designed reward shaping can lead to the agent chasing shaped rewards."
    other = "Reward shaping helps sparse reward problems in reward shaping setups."
    definition = "Reward shaping is a technique that adds small intermediate rewards."
    args = _one_passage(" ".join((claim, other, definition)), "atlas/06/03.md", embedder)
    no_cosine = (0.0, *WEIGHTS[1:])
    vector = embedder.encode([question])[0]
    plain = [item.text for item in for_answer(score_sentences(question, vector, *args, weights=no_cosine))]
    assert plain[0] != definition  # type: ignore[arg-type]
    led = for_answer(score_sentences(question, vector, *args, weights=no_cosine, defined="reward shaping"))  # type: ignore[arg-type]
    assert led[0].text == definition and [item.text for item in led[1:]] == [t for t in plain if t != definition]


def test_an_overview_sentence_answers_only_a_question_about_the_pages(embedder: HashedEmbedder) -> None:
    """ "This section introduces feedback-based strategies such as RLHF." says what a section covers: a candidate
    for "What does this section cover?", not for "What is RLHF?"."""
    from alignment_qa.engine.evidence import score_sentences

    overview = "This section introduces feedback-based strategies such as RLHF and RLAIF."
    claim = "RLHF trains a reward model on human preference comparisons."
    args = _one_passage(f"{overview} {claim}", "atlas/06/05.md", embedder)

    def candidates(question: str) -> list[str]:
        vector = embedder.encode([question])[0]
        return sorted(item.text for item in score_sentences(question, vector, *args))  # type: ignore[arg-type]

    assert candidates("What is RLHF?") == [claim]
    assert candidates("What does the section on learning from feedback cover?") == sorted([overview, claim])
    going_on = "It examines proposals such as imitation learning and inverse reinforcement learning."
    args = _one_passage(f"Learning by Imitation : {overview} {going_on}\n\n{claim}", "atlas/06/README.md", embedder)
    assert candidates("What is inverse reinforcement learning?") == [claim]  # "It examines …" goes on from it


def test_a_follow_up_weighs_its_own_words_and_one_asking_for_an_example_leads_with_one(
    embedder: HashedEmbedder,
) -> None:
    """ "What are convergent subgoals? example?": the sentence giving an example leads; "why might it be safer?
    and what would make it riskier?": with the follow-up's own words as ``emphasis``, "riskier" weighs more in the
    word overlap than "safer"."""
    from alignment_qa.engine.evidence import WEIGHTS, for_answer, score_sentences

    no_cosine = (0.0, *WEIGHTS[1:])
    definition = "Convergent subgoals are subgoals that help achieve almost any final goal."
    example = 'Here is a common example by Stuart Russell: "You cannot fetch the coffee if you are dead."'
    args = _one_passage(f"{definition} {example}", "atlas/02/04.md", embedder)
    joined = "What are convergent subgoals? example?"
    vector = embedder.encode([joined])[0]
    plain = for_answer(score_sentences(joined, vector, *args, weights=no_cosine))  # type: ignore[arg-type]
    assert plain[0].text == definition
    asked = for_answer(score_sentences(joined, vector, *args, weights=no_cosine, emphasis="example?"))  # type: ignore[arg-type]
    assert asked[0].text == example

    safer = "A homogeneous takeoff is safer because one alignment solution transfers."
    riskier = "A homogeneous takeoff is riskier when one flaw is shared."
    args = _one_passage(f"{safer} {riskier}", "atlas/01/06.md", embedder)
    joined = "Why might a homogeneous takeoff be safer? and what would make it riskier?"
    vector = embedder.encode([joined])[0]

    def overlaps(emphasis: str) -> dict[str, float]:
        found = score_sentences(joined, vector, *args, weights=no_cosine, emphasis=emphasis)  # type: ignore[arg-type]
        return {item.text: item.overlap for item in found}

    assert overlaps("")[riskier] == pytest.approx(overlaps("")[safer])
    assert overlaps("and what would make it riskier?")[riskier] > overlaps("and what would make it riskier?")[safer]


def test_a_comparison_lifts_what_each_side_is_below_the_best_sentence(embedder: HashedEmbedder) -> None:
    """ "How is a fast takeoff different from a slow takeoff?": "Fast takeoff describes scenarios where …" gains
    ``SIDE_DEFINITION_BONUS`` in the answer's ranking, up to just below the best sentence."""
    from alignment_qa.engine.evidence import SIDE_DEFINITION_BONUS, WEIGHTS, for_answer, score_sentences

    question = "How is a fast takeoff different from a slow takeoff?"
    lead = "A fast takeoff and a slow takeoff differ in how fast a takeoff goes."
    other = "Slow progress gives time to adapt to a slow takeoff."
    definition = "Fast takeoff describes scenarios where capabilities jump in days."
    args = _one_passage(" ".join((lead, other, definition)), "atlas/01/06.md", embedder)
    vector = embedder.encode([question])[0]
    no_cosine = (0.0, *WEIGHTS[1:])

    def ranked(sides: tuple[str, str] | None) -> dict[str, float]:
        found = score_sentences(question, vector, *args, weights=no_cosine, sides=sides)  # type: ignore[arg-type]
        return {item.text: item.score for item in for_answer(found)}

    plain, lifted = ranked(None), ranked(("a fast takeoff", "a slow takeoff"))
    assert lifted[definition] == pytest.approx(min(plain[definition] + SIDE_DEFINITION_BONUS, plain[lead]), abs=1e-5)
    assert lifted[lead] == plain[lead] and lifted[other] == plain[other]


def _one_passage(text: str, page_id: str, embedder: HashedEmbedder) -> tuple[object, ...]:
    """``score_sentences``'s arguments after the question's vector, for one passage holding ``text``."""
    from llama_index.core.schema import TextNode

    from alignment_qa.index.vector_cache import SentenceVectors

    node = TextNode(text=text, metadata={"spans": [[0, 0, len(text)]], "page_id": page_id})
    return [NodeWithScore(node=node, score=1.0)], SentenceVectors(embedder), Analyzer(), lambda term: 1.0
