"""Pure parts of the engine: analyzer, aliases, comparison split, follow-ups, merging, diversity."""

from __future__ import annotations

from llama_index.core.schema import MetadataMode, NodeWithScore

from alignment_qa.engine.condense import condense, is_follow_up, user_turns
from alignment_qa.engine.evidence import page_offset
from alignment_qa.engine.postprocess import JOINER, AdjacentChunkMerger, PageDiversity
from alignment_qa.engine.retrieval import comparison_sides, node_from_hit
from alignment_qa.index.aliases import learn_aliases
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.store import SearchHit


def test_compound_terms_meet_in_every_spelling() -> None:
    analyzer = Analyzer()
    hyphen = analyzer.term_set("mesa-optimizers")
    assert analyzer.term_set("mesaoptimizer") <= hyphen
    assert analyzer.term_set("mesa optimizer") <= hyphen
    assert analyzer.terms("Goodhart's law is the law") == ["goodhart", "law", "law"]


def test_aliases_come_from_the_pages_own_definitions() -> None:
    pages = [
        ("RLHF", "Reinforcement Learning from Human Feedback (RLHF) trains a reward model."),
        ("IDA", "IDA (Iterated Distillation and Amplification) repeats two steps."),
        ("Deception", 'This is "deceptive alignment" (also commonly called scheming), a failure.'),
        ("Outer alignment", "Key facts\nAlso known as: reward specification problem\n"),
        ("People", "As argued by Christiano (Ought) and others, law (LAW) is tricky."),
    ]
    table = learn_aliases(pages, is_plain_word=lambda word: word in {"law"})
    assert table.expand("Is rlhf an inner alignment fix?").endswith("(Reinforcement Learning from Human Feedback)")
    assert "RLHF" in table.expansions("what is reinforcement learning from human feedback")
    assert table.expansions("how does IDA work") == ["Iterated Distillation and Amplification"]
    assert table.expansions("what is scheming") == ["deceptive alignment"]
    assert table.expansions("outer alignment") == ["reward specification problem"]
    assert table.expansions("who is Ought") == []  # a name in brackets is not an abbreviation
    assert table.expansions("goodhart's law") == []  # "LAW" would need capitals: law is a plain word


def test_comparison_sides() -> None:
    assert comparison_sides("outer vs inner alignment") == ("outer alignment", "inner alignment")
    assert comparison_sides("What is the difference between RLHF and RLAIF?") == ("RLHF", "RLAIF")
    assert comparison_sides("Compare debate with iterated amplification") == ("debate", "iterated amplification")
    assert comparison_sides("What is reward hacking?") is None


def test_follow_ups_are_joined_to_the_previous_question() -> None:
    history = [
        {"role": "user", "content": "Is RLHF an outer alignment fix?"},
        {"role": "assistant", "content": "Mostly, yes [1]."},
    ]
    earlier = user_turns(history)
    assert earlier == ["Is RLHF an outer alignment fix?"]
    assert is_follow_up("and what about inner alignment?")
    assert condense("and what about inner alignment?", earlier) == (
        "Is RLHF an outer alignment fix? and what about inner alignment?"
    )
    standalone = "What is specification gaming in reinforcement learning systems trained on proxies?"
    assert condense(standalone, earlier) == standalone
    assert condense("and what about inner alignment?", []) == "and what about inner alignment?"


def _node(page: str, section: str, index: int, start: int, text: str, score: float) -> NodeWithScore:
    meta = {"page_id": page, "section_path": section, "chunk_index": index, "start": start, "end": start + len(text)}
    hit = SearchHit(f"{page}#{index}", 1, score, text, meta)
    node = node_from_hit(hit, dense=score)
    assert node.get_content(metadata_mode=MetadataMode.LLM) == text  # scores and offsets stay hidden
    return NodeWithScore(node=node, score=score)


def test_neighbours_merge_and_offsets_map_back_to_the_page() -> None:
    page = "First chunk text.\n\nSecond chunk text."
    first = _node("p.md", "S", 0, 0, "First chunk text.", 0.5)
    second = _node("p.md", "S", 1, 19, "Second chunk text.", 0.9)
    other = _node("q.md", "S", 1, 0, "Elsewhere.", 0.7)
    merged = AdjacentChunkMerger()._postprocess_nodes([second, other, first])
    assert len(merged) == 2 and merged[1].node.metadata["page_id"] == "q.md"
    passage = merged[0]
    text = passage.node.get_content()
    assert text == "First chunk text." + JOINER + "Second chunk text."
    assert passage.score == 0.9 and passage.node.metadata["chunk_ids"] == ["p.md#0", "p.md#1"]
    spans = passage.node.metadata["spans"]
    at = text.index("Second")
    assert page[page_offset(spans, at) : page_offset(spans, at + 6)] == "Second"


def test_diversity_caps_passages_per_page() -> None:
    nodes = [_node("a.md", "S", i * 2, i * 100, f"text {i}", 1.0 - i / 10) for i in range(4)]
    nodes.append(_node("b.md", "S", 0, 0, "other page", 0.1))
    kept = PageDiversity(per_page=2, top_k=3)._postprocess_nodes(nodes)
    assert [item.node.metadata["page_id"] for item in kept] == ["a.md", "a.md", "b.md"]
