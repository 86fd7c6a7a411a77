"""Pure parts of the engine: analyzer, aliases, comparison split, follow-ups, merging, diversity."""

from __future__ import annotations

from llama_index.core.schema import MetadataMode, NodeWithScore

from alignment_qa.app.format import page_html
from alignment_qa.engine.condense import condense, is_follow_up, user_turns
from alignment_qa.engine.evidence import page_offset
from alignment_qa.engine.postprocess import JOINER, AdjacentChunkMerger, PageDiversity, is_navigation
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
        ("W2SG", "Weak-to-Strong Generalization (W2SG) elicits a strong model. B2B (business to business) sales."),
        ("H2", "It does real harm to (H2) people."),
    ]
    table = learn_aliases(pages, is_plain_word=lambda word: word in {"law"})
    assert table.expand("Is rlhf an inner alignment fix?").endswith("(Reinforcement Learning from Human Feedback)")
    assert "RLHF" in table.expansions("what is reinforcement learning from human feedback")
    assert table.expansions("how does IDA work") == ["Iterated Distillation and Amplification"]
    assert table.expansions("what is scheming") == ["deceptive alignment"]
    assert table.expansions("outer alignment") == ["reward specification problem"]
    assert table.expansions("who is Ought") == []  # a name in brackets is not an abbreviation
    assert table.expansions("goodhart's law") == []  # "LAW" would need capitals: law is a plain word
    # a digit for "to" or "for", inside a hyphenated word or as a word of its own
    assert table.expansions("is weak-to-strong generalization enough?") == ["W2SG"]
    assert table.expansions("what is W2SG") == ["Weak-to-Strong Generalization"]
    assert table.expansions("what is B2B") == ["business to business"]
    assert table.expansions("what is H2") == []  # a long form does not end in "to"


def test_a_part_of_the_book_referred_to_by_number_gets_its_name_from_the_titles() -> None:
    """ "What does chapter 8 cover?": the page titled "Chapter 08 - Scalable Oversight" names it, so the question is
    searched with the name; one way only (a question naming scalable oversight does not search for "chapter 8"),
    and it survives the keyword index's JSON."""
    from alignment_qa.index.aliases import AliasTable

    pages = [
        ("Chapter 08 - Scalable Oversight", "Overview."),
        ("8.2 Task Decomposition", "Break tasks down."),
        ("Interpretability", "No number here."),
    ]
    table = learn_aliases(pages)
    assert table.named_parts("What does chapter 8 cover?") == "What does chapter 8 (Scalable Oversight) cover?"
    assert table.named_parts("what's in Ch. 08 and section 8.2") == (
        "what's in Ch. 08 (Scalable Oversight) and section 8.2 (Task Decomposition)"
    )
    assert table.named_parts("What is scalable oversight in chapter 8?") == "What is scalable oversight in chapter 8?"
    assert table.named_parts("chapter 80 or section 8.21?") == "chapter 80 or section 8.21?"
    assert table.named_parts("What does section 8.2 of Anthropic's RSP say?") == (
        "What does section 8.2 of Anthropic's RSP say?"  # another document's section
    )
    assert table.named_parts(table.named_parts("chapter 8")) == "chapter 8 (Scalable Oversight)"  # idempotent
    assert table.expansions("what is scalable oversight") == []
    assert AliasTable.from_json(table.to_json()).parts == {
        "chapter 8": "Scalable Oversight",
        "section 8.2": "Task Decomposition",
    }
    assert AliasTable.from_json({"groups": [], "exact_case": []}).parts == {}  # a table saved before parts


def test_alias_groups_are_those_of_adding_each_pair_in_turn() -> None:
    """``table_from_evidence`` (union-find) gives the groups, in the order, of merging each pair one by one into
    the groups it touches and moving the result to the end: checked against that naive merge on random pairs."""
    import random

    from alignment_qa.index.aliases import table_from_evidence

    def naive(pairs: list[tuple[str, str]]) -> list[set[str]]:
        groups: list[set[str]] = []
        for a, b in pairs:
            keys = {a.lower(), b.lower()}
            touching = [group for group in groups if keys & {name.lower() for name in group}]
            groups = [group for group in groups if group not in touching] + [{a, b}.union(*touching)]
        return groups

    rng = random.Random(7)
    names = ["Alpha", "alpha", "Beta", "GAMMA", "Delta", "Epsilon", "Zeta", "Eta", "Theta", "Iota"]
    for _ in range(50):
        pairs = [tuple(rng.sample(names, 2)) for _ in range(rng.randint(1, 12))]
        pairs = [(a, b) for a, b in pairs if a.lower() != b.lower()]
        evidence = [[("pair", a, b) for a, b in pairs[i : i + 3]] for i in range(0, len(pairs), 3)]
        assert table_from_evidence([], evidence).groups == naive(pairs)


def test_the_subject_of_a_synonym_is_the_longest_known_term_that_ends_the_text_before_it() -> None:
    """What "… is also called X" renames: the longest known term at the end of the text before it, starting at
    a word boundary. Checked against comparing every known term, on random texts (one look-up per start now)."""
    import random

    from alignment_qa.index.aliases import _known_term_before

    def every_term(before: str, known: set[str]) -> str | None:
        lowered = before.lower().rstrip(" ,")
        ends = [
            t for t in known if lowered.endswith(t) and (len(lowered) == len(t) or not lowered[-len(t) - 1].isalnum())
        ]
        return max(ends, key=len, default=None)

    assert _known_term_before("In RL, reward hacking", {"hacking", "reward hacking", "rl"}) == "reward hacking"
    assert _known_term_before("the misreward hacking", {"reward hacking"}) is None  # not at a word boundary
    rng = random.Random(11)
    words = ["reward", "hacking", "goal", "mis", "-", "(", "rl", "x2", " "]
    for _ in range(300):
        known = {"".join(rng.choices(words, k=rng.randint(1, 3))).strip() or "goal" for _ in range(8)}
        before = "".join(rng.choices(words, k=rng.randint(1, 9))) + rng.choice(["", ",", " , "])
        assert _known_term_before(before, known) == every_term(before, known), (before, known)


def test_comparison_sides() -> None:
    assert comparison_sides("outer vs inner alignment") == ("outer alignment", "inner alignment")
    assert comparison_sides("What is the difference between RLHF and RLAIF?") == ("RLHF", "RLAIF")
    assert comparison_sides("Compare debate with iterated amplification") == ("debate", "iterated amplification")
    assert comparison_sides("What is reward hacking?") is None
    assert comparison_sides("How do a unipolar and a multipolar takeoff differ?") == (
        "unipolar takeoff",
        "multipolar takeoff",
    )
    assert comparison_sides("How is a fast takeoff different from a slow takeoff?") == (
        "a fast takeoff",
        "a slow takeoff",
    )
    assert comparison_sides("Are superposition and polysemanticity the same thing?") == (
        "superposition",
        "polysemanticity",
    )
    assert comparison_sides("What separates imitation learning from IRL?") == ("imitation learning", "IRL")
    assert comparison_sides("debate vs consultancy - which wins more often?") == ("debate", "consultancy")
    assert comparison_sides("In activation patching, what's the clean vs corrupted input?") == (
        "clean",
        "corrupted input",
    )
    assert comparison_sides("Tell me about reward hacking from the Atlas") is None  # not "tell X from Y"
    assert comparison_sides("What is RLHF? How does it differ from DPO?") is None  # "it": an earlier clause
    assert comparison_sides("How is China's model registry different from the US one?") == (
        "China's model registry",
        "the US one",
    )
    # a side that refers back ("it", "that") is in an earlier clause or turn: no comparison to split
    assert comparison_sides("What is PHF, and how is it different from feedback after pretraining?") is None


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


def test_a_follow_up_of_a_follow_up_keeps_the_turn_that_named_the_subject() -> None:
    earlier = ["Tell me about sourdough.", "Is RLHF an outer alignment fix?", "What are its limitations?"]
    assert condense("And how about its alternatives?", earlier) == (
        "Is RLHF an outer alignment fix? What are its limitations? And how about its alternatives?"
    )
    self_contained = ["What is the Zorblax Protocol?", "What is reward hacking and why does it happen?"]
    assert condense("How can we prevent it?", self_contained) == (
        "What is reward hacking and why does it happen? How can we prevent it?"
    )  # a turn that names its own subject ends the chain
    long_middle = "And its " + "very" * 100 + " limitations?"  # a follow-up, four words but long
    earlier = ["Is RLHF a fix?", long_middle, "Why is that?"]
    capped = condense("And how about its alternatives?", earlier, 120)
    assert capped.startswith("Is RLHF a fix? Why is that?") and len(capped) <= 120


def test_a_follow_up_is_rewritten_with_the_subject_a_turn_named() -> None:
    """After "what is X" (or "who is X", "explain X", "how does X work", "what does X mean"), "and Y?" asks the
    same about Y, and "it" or "its" is X: the joined question carried both topics, and the older one won."""
    assert condense("and inner alignment?", ["what is outer alignment"]) == "What is inner alignment?"
    assert condense("And what about DPO?", ["How does RLHF work?"]) == "How does DPO work?"
    deceptive = ["What is deceptive alignment?"]
    assert condense("why is it so hard?", deceptive) == "Why is deceptive alignment so hard?"
    assert condense("how likely is it?", [*deceptive, "why is it so hard to detect?"]) == (
        "How likely is deceptive alignment?"
    )
    assert condense("wow! is it achievable?", ["what is corrigibility?"]) == "Wow! is corrigibility achievable?"
    assert condense("why does it matter?", ["what is outer alignment", "and inner alignment?"]) == (
        "Why does inner alignment matter?"
    )
    assert condense("what are its limitations?", ["Explain RLHF"]) == "What are RLHF's limitations?"
    assert condense("is it true that it fails?", ["What is RLHF?"]) == "What is RLHF? is it true that it fails?"
    assert condense("is it possible to fix?", ["What is RLHF?"]) == "What is RLHF? is it possible to fix?"
    assert condense("and what about inner alignment?", ["Is RLHF an outer alignment fix?"]) == (
        "Is RLHF an outer alignment fix? and what about inner alignment?"  # no known form: joined
    )
    assert condense("and Jan Leike?", ["who is Paul Christiano?"]) == "Who is Jan Leike?"  # names for names


def test_a_follow_up_about_more_of_the_subject_or_someone_else_is_joined_not_rewritten() -> None:
    """ "and the alternatives?" asks about more of RLHF, not "What is the alternatives?"; "it" may be DPO, the book
    a person wrote, or "it's" typed for "its"; a subject "of" something reads badly in place of "its"."""
    joined = {
        ("and the alternatives?", "what is RLHF?"),
        ("and examples?", "what is reward hacking?"),
        ("what about the risks?", "what is reward hacking?"),
        ("and in LLMs?", "what is reward hacking?"),
        ("and Dartmouth?", "what was the Asilomar conference"),
        ("and DPO, is it better?", "what is RLHF?"),
        ("what is his view on it?", "who is Paul Christiano?"),
        ("what are it's limitations?", "what is RLHF?"),
        ("and its benefits?", "What are the risks of AI?"),
        ("and RLHF?", "who is Paul Christiano?"),  # a method is no person
        ("and OpenAI?", "what is RLHF?"),
        ("and Dario Amodei?", "what is RLHF?"),
        ("is it effective?", "what is RLHF used for?"),  # "RLHF used for" is no subject
        ("why is it so hard to detect?", "what is deceptive alignment?"),  # "it" may stand for "to detect …"
        ("is it safe to open-source models?", "what is RLHF?"),
        ("does it matter whether alignment is solved?", "what is RLHF?"),
        ("why not?", "what is instrumental convergence?"),
        ("got it", "what is AI alignment?"),
    }
    for question, earlier in joined:
        asked = earlier if earlier.endswith("?") else earlier + "?"
        assert condense(question, [earlier]) == f"{asked} {question}", question
    assert condense("why does it happen?", ["what is sycophancy", "and deception?"]) == (
        "what is sycophancy? and deception? why does it happen?"  # deception is no sycophancy: the chain is joined
    )
    book = ["who is Stuart Russell", "what book did he write?"]
    assert condense("what is it about?", book) == "who is Stuart Russell? what book did he write? what is it about?"
    for question in (
        "Are there examples? Has it happened in practice?",
        "thanks! is it used in GPT-4?",
        "Why? Is it hard?",
        "makes sense. who works on it?",
        "awesome. why is it hard?",
    ):
        assert is_follow_up(question), question  # a first clause that names nothing does not clear the pronoun
    assert not is_follow_up("How do I get into alignment research, is it hard?")
    assert not is_follow_up("RLHF? is it good?")
    # a filler before the question is not counted, nor read as its first clause
    assert is_follow_up("ok so what's the counterargument to that when it comes to pausing AI?")
    assert is_follow_up("Okay, hmm... and why?") and not is_follow_up("okay, what is reward hacking?")
    for new_topic in ("Ok, so what is RLHF?", "Cool. So what is deceptive alignment?"):
        assert not is_follow_up(new_topic), new_topic  # "so" after a filler often opens a new topic
    assert is_follow_up("so what is it for?") and is_follow_up("ok, so why is it hard?")


def test_a_pronoun_subject_or_a_question_naming_nothing_is_a_follow_up() -> None:
    """ "does that still hold if …?" leans on the conversation at any length; "what's the downside?" and "can you give
    a concrete example?" name no subject of their own. A question naming its own subject is none."""
    for question in (
        "does that still hold if the AI is actively trying to deceive us about what it is doing?",
        "Does it still hold if the AI is actively trying to deceive us about what it is doing?",
        "Ok but isn't that just reward hacking under another name when you think about it carefully?",
        "Is that true even for models trained with RLHF on big datasets of human preferences?",
        "what's the downside?",
        "What’s the catch?",
        "can you give a concrete example?",
        "any real examples?",
        "what are the main criticisms?",
    ):
        assert is_follow_up(question), question
    for question in (
        "what are the risks of AI?",
        "what is the alignment problem?",
        "who are the key people?",
        "Is that paper by Hubinger et al. on risks from learned optimization still relevant today?",
        "Do those who work at frontier AI labs think that AGI is near or far away from now?",
        "is it possible to build safe AI without interpretability research at all, in your view?",
    ):
        assert not is_follow_up(question), question
    assert condense("what's the downside?", ["What is process-based oversight?"]) == (
        "What is process-based oversight? what's the downside?"
    )


def test_a_question_that_names_its_own_subject_is_no_follow_up() -> None:
    """A pronoun after the question's own first clause points back into the question; a question only asking
    for more ("examples?", "tell me more", "why?") is a follow-up."""
    for question in (
        "what does interpretability research try to do? is it useful?",
        "what is mesa optimization and why does it matter?",
        "why is RLHF brittle?",
    ):
        assert not is_follow_up(question), question
        assert condense(question, ["what is the swiss cheese model"]) == question
    for question in (
        "examples?",
        "tell me more",
        "Why?",
        "how so?",
        "any other examples?",
        "can you give an example of that",
    ):
        assert is_follow_up(question), question
    assert condense("tell me more", ["what is specification gaming"]) == "what is specification gaming? tell me more"


def _node(page: str, section: str, index: int, start: int, text: str, score: float) -> NodeWithScore:
    meta = {"page_id": page, "section_path": section, "chunk_index": index, "start": start, "end": start + len(text)}
    hit = SearchHit(f"{page}#{index}", 1, score, text, meta)
    node = node_from_hit(hit, dense=score)
    assert node.get_content(metadata_mode=MetadataMode.LLM) == text  # scores and offsets stay hidden
    return NodeWithScore(node=node, score=score)


def test_the_rest_of_a_caption_opening_a_chunk_is_not_quoted_alone_or_merged() -> None:
    """A chunk cut inside a caption line opens with the caption's rest: no claim, alone or after its neighbour."""
    from alignment_qa.engine.evidence import candidate_sentences

    before = "The logit lens reads the residual stream at any layer of the model. Figure 9.14: An example lens."
    rest = "Input tokens are written at the bottom of the whole plot.\n\nThe lens shows guesses improving with depth."
    first = _node("atlas/09/02.md", "Lens", 0, 0, before, 0.9)
    meta = {"page_id": "atlas/09/02.md", "section_path": "Lens", "chunk_index": 1, "start": 98, "end": 98 + len(rest)}
    opened = NodeWithScore(
        node=node_from_hit(SearchHit("c1", 1, 0.8, rest, {**meta, "opens_in_caption": True})), score=0.8
    )
    quoted = [candidate.text for candidate in candidate_sentences([opened])]
    assert quoted == ["The lens shows guesses improving with depth."]
    merged = AdjacentChunkMerger().postprocess_nodes([first, opened])
    assert len(merged) == 1 and merged[0].node.metadata["caption_openings"] == [len(before) + len(JOINER)]
    quoted = [candidate.text for candidate in candidate_sentences(merged)]
    assert quoted == [
        "The logit lens reads the residual stream at any layer of the model.",
        "The lens shows guesses improving with depth.",
    ]


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


def test_two_sections_with_one_heading_stay_two_passages() -> None:
    """ "## Introduction" twice in a page: neighbouring chunks of the two sections are not one passage, which would
    cite the first section's anchor for the second's words."""
    first = _node("p.md", "Introduction", 0, 0, "First section text.", 0.5)
    second = _node("p.md", "Introduction", 1, 21, "Second section text.", 0.9)
    first.node.metadata["anchor"], second.node.metadata["anchor"] = "introduction", "introduction_1"
    merged = AdjacentChunkMerger()._postprocess_nodes([first, second])
    assert [item.node.metadata["anchor"] for item in merged] == ["introduction", "introduction_1"]
    html = page_html(
        "p.md",
        [
            ("First.", {"section": "Introduction", "anchor": "introduction"}),
            ("Second.", {"section": "Introduction", "anchor": "introduction_1"}),
        ],
    )
    assert 'id="introduction"' in html and 'id="introduction_1"' in html


def test_diversity_caps_passages_per_page() -> None:
    nodes = [_node("a.md", "S", i * 2, i * 100, f"text {i}", 1.0 - i / 10) for i in range(4)]
    nodes.append(_node("b.md", "S", 0, 0, "other page", 0.1))
    kept = PageDiversity(per_page=2, top_k=3)._postprocess_nodes(nodes)
    assert [item.node.metadata["page_id"] for item in kept] == ["a.md", "a.md", "b.md"]


def test_a_navigation_section_comes_after_every_passage_that_says_something() -> None:
    """A page's "Related concepts" list names the topic without saying anything about it: it takes a slot only
    when nothing else is left, whatever its fused score."""

    def sectioned(page: str, section: str, text: str, score: float) -> NodeWithScore:
        item = _node(page, section, 0, 0, text, score)
        item.node.metadata["section"] = section  # as ingest stores it: the heading path, joined by " > "
        return item

    links = sectioned("a.md", "Related concepts", "- inner-alignment\n- reward-hacking", 0.9)
    also = sectioned("b.md", "Approaches > See also", "- debate", 0.8)
    prose = [sectioned(f"{name}.md", "Why it matters", "A claim.", score) for name, score in (("c", 0.5), ("d", 0.4))]
    kept = PageDiversity(per_page=2, top_k=3)._postprocess_nodes([links, also, *prose])
    assert [item.node.metadata["page_id"] for item in kept] == ["c.md", "d.md", "a.md"]
    assert not is_navigation(sectioned("e.md", "Related work on debate", "Irving et al. proposed it.", 0.5).node)


def test_answer_typing_reads_what_the_question_asks_for() -> None:
    from alignment_qa.engine.answer_type import asked_type, carries

    assert asked_type("In which year did AlphaGo beat the Go champion?") == "year"
    assert asked_type("What share of compute goes to safety?") == "percent"
    assert asked_type("How many parameters does PaLM-E have?") == "number"
    assert asked_type("What median compute does Cotra's evolution anchor come out at?") == "number"
    assert asked_type("What is the meaning of alignment?") is None
    assert asked_type("Who wrote Risks from Learned Optimization?") == "person"
    assert asked_type("What was the UK AI Safety Institute's budget?") == "money"
    assert asked_type("Is RLHF an inner alignment fix?") is None
    assert carries("AlphaGo won in 2016 against the champion.", "year")
    assert not carries("AlphaGo won against the champion.", "year")
    assert carries("Only 2% of papers are about safety.", "percent")
    assert carries("The institute received £100 million in funding.", "money")
    assert not carries("The institute received generous funding from the state.", "money")
    assert carries("The paper by Hubinger et al. introduced the term.", "person")
    assert not carries("the paper introduced the term mesa-optimizer.", "person")
    # a change in cost asks for a rate, not an amount of money
    assert asked_type("By how much per year has the cost of ML training runs grown?") == "number"
    assert asked_type("How much did GPT-4 cost to train?") == "money"
    # a date is asked with its year, an accuracy as a share
    assert asked_type("On what date does the EU AI Act enter into force?") == "year"
    assert asked_type("What accuracy did the assisted people get on MMLU?") == "percent"
    assert asked_type("What accuracy problems do reward models have?") is None
    assert asked_type("What day-to-day harms can recommender systems cause?") is None
    # a count stands alone: a name's number ("GPT-4", "H100", "the Claude 3 family", "EO 14110", "Figure 3") and a
    # year are no answer to "how many GPUs …?"
    for counted in ("It used 25,000 GPUs.", "About 20 labs signed.", "It took 3 months.", "Costs reached $50M."):
        assert carries(counted, "number"), counted
    for named in ("GPT-4 is trained like GPT-3.", "H100 chips are scarce.", "The Claude 3 family is new.",
                  "EO 14110 says so.", "Figure 3 shows it.", "It was founded in 2019."):  # fmt: skip
        assert not carries(named, "number"), named


def test_captions_references_and_link_lists_are_not_quoted() -> None:
    from alignment_qa.engine.evidence import quotable

    assert quotable("RLHF, Constitutional AI, and IRL all aim to specify a better objective.")
    assert not quotable("Figure 4.12: Announced AI Safety Institutes (Martinet & Variengien, 2024)")
    assert not quotable("Table 3: Compute thresholds in the EU AI Act and the US executive order.")
    assert not quotable("Hubinger, E., van Merwijk, C., Mikulik, V. (2019). Risks from learned optimization.")
    assert not quotable("Footnote 4: Wiener, N. (1960). Some moral and technical consequences of automation.")
    assert not quotable('"Some Moral and Technical Consequences of Automation and Other Essays."')
    assert quotable("The terms were introduced in the preprint (arXiv:1906.01820) by Evan Hubinger and others.")
    assert not quotable("rlhf, constitutional-ai — partial outer-alignment mitigations of the problem.")
    assert not quotable("specification-gaming — the outer-alignment failure mode in many systems.")
    assert not quotable("ai-deception-evals, ai-scheming-evals — empirical layer for measuring failures.")
    assert not quotable("Related pages: reward hacking, specification gaming and Goodhart's law.")
    assert not quotable("Definition: Corrigibility (Soares et al., 2015)")  # a label, though "al." has a stop
    # a quote box's title says who is quoted: "Quote: Elon Musk (… CEO of Tesla …)" once led "Who is the CEO of …?"
    assert not quotable("Quote: Elon Musk (Founder/Co-Founder of OpenAI, Neuralink, SpaceX, xAI, CEO of Tesla)")
    assert not quotable("Quote: Alan Turing, Intelligent Machinery, A Heretical Theory, 1951.")
    assert quotable("Definition: a system is corrigible if it accepts correction (Soares et al., 2015).")
    assert not quotable("Human Compatible: Artificial Intelligence and the Problem of Control.")
    assert quotable("Stuart Russell argues in Human Compatible that machines should be uncertain about goals.")
    assert quotable("And that Hinton, Bengio, and LeCun are the recipients of the Turing Award in Deep Learning.")
    assert quotable('"Mitigating the risk of extinction from AI should be a global priority alongside pandemics."')
    # a key-facts row naming a work led "Who wrote Risks from Learned Optimization?"; one listing its authors answers
    assert not quotable(
        "Originating paper: Risks from Learned Optimization in Advanced Machine Learning Systems, arXiv:1906.01820"
    )
    assert quotable("Formal coinage: Hubinger, van Merwijk, Mikulik, Skalse, Garrabrant (2019)")
    assert quotable("Closely related ideas: Goodhart's law, specification gaming, reward hacking, King Midas problem")
    # a heading ending in its acronym, formulas; a bold lead-in that states something is still quoted
    assert not quotable("Theoretical problems with Reinforcement Learning from Human Feedback (RLHF)")
    assert not quotable("t(internally aligned) ~= t(corrigibly aligned) < t(deceptively aligned)")
    assert not quotable("#(internally aligned AIs) < #(corrigibly aligned AIs) Random sampling favours deception.")
    assert quotable("Control evaluations assess safety measures under adversarial conditions .")
    assert quotable("The model scored 5 < 6 on the test, which was what the authors expected.")
    # signposts say where the text goes; a claim behind "we will see that" is still one
    assert not quotable("The discussion in the next few subsections will focus on compute as a lever for governance.")
    assert not quotable("In this section we will go through empirical results on judges in the debate protocol.")
    assert not quotable("We'll look at what works, what doesn't, and where gaps remain.")
    assert not quotable("This section considers the RLHF solution to this design problem.")
    assert not quotable("A long list of observed examples of specification gaming is compiled at this link.")
    assert quotable("We will see that RLHF fails to solve inner alignment in several important ways.")
    assert not quotable("The following subsection details the toy models used to study polysemanticity.")
    assert not quotable("This section also elucidates the notorious difficulty of designing effective rewards.")
    assert quotable("This section of the EU AI Act describes obligations for providers.")  # about a law
    # a sentence that only points at a picture; a longer one says something of its own besides
    assert not quotable("These can be distinguished from the image below.")
    assert not quotable("This is shown in the diagram below.")
    assert quotable("She defined a “thneeb” as one of the two shapes shown in the image below.")
    # a claim of four or five words with its own subject is quoted; one that leans on the sentence before is not
    assert quotable("Instruction tuning is not alignment.") and quotable("Polysemantic neurons are very common.")
    assert not quotable("This is not enough.") and not quotable("It is hard to say.")
    # a question posed is no claim; a claim that ends by stating a question is
    assert not quotable("How does on-chip compute governance work?")
    assert not quotable("The core question is: where does the deception lie?")
    assert not quotable("Stochastic Parrots: Do AIs only memorize information without truly compressing it?")
    assert quotable(
        "Control evaluations produce a probability estimate: given that a model is trying its hardest to cause "
        "harm, what is the likelihood it succeeds?"
    )


def test_a_reference_section_and_a_captions_later_sentences_are_not_quoted() -> None:
    from llama_index.core.schema import NodeWithScore, TextNode

    from alignment_qa.engine.evidence import candidate_sentences

    note = "Primary URLs harvested from this page's references. Auto-generated by a script; edit by re-running it."
    sources = TextNode(text=note, metadata={"spans": [[0, 0, len(note)]], "section": "Sources cited"})
    assert candidate_sentences([NodeWithScore(node=sources, score=1.0)]) == []
    text = (
        "Figure 1.32: Takeoff speeds compared over the decade. "
        "The growth rate itself increases as systems improve their own research. (Martin, 2021)\n"
        "In a fast takeoff, capabilities jump within days rather than over the course of many years."
    )
    body = TextNode(text=text, metadata={"spans": [[0, 0, len(text)]], "section": "Takeoff"})
    found = [candidate.text for candidate in candidate_sentences([NodeWithScore(node=body, score=1.0)])]
    assert found == ["In a fast takeoff, capabilities jump within days rather than over the course of many years."]


def test_a_bold_run_in_label_is_not_quoted_but_a_bold_run_in_claim_is() -> None:
    """ "**Safety implications of process oversight** ." opens its paragraph as a label and is not quoted; a bold
    run-in with a verb ("**Debate helps discover latent knowledge** .", "**Flaws are hard to discover** .") is a
    claim."""
    from llama_index.core.schema import NodeWithScore, TextNode

    from alignment_qa.engine.evidence import candidate_sentences

    text = (
        "Safety implications of process oversight . Outcome based oversight might result in specification gaming.\n\n"
        "The Broken Neural Scaling Laws (BNSL) update in 2023 . Performance does not always improve smoothly.\n\n"
        "Debate helps discover latent knowledge . Judges can elicit what the debaters know.\n\n"
        "Flaws are hard to discover . A subtle flaw can hide in a long argument."
    )
    node = TextNode(text=text, metadata={"spans": [[0, 0, len(text)]]})
    found = [candidate.text for candidate in candidate_sentences([NodeWithScore(node=node, score=1.0)])]
    assert "Safety implications of process oversight ." not in found
    assert "The Broken Neural Scaling Laws (BNSL) update in 2023 ." not in found
    assert "Debate helps discover latent knowledge ." in found and "Flaws are hard to discover ." in found
    assert "Outcome based oversight might result in specification gaming." in found


def test_a_quote_box_sentence_is_shown_with_its_speaker() -> None:
    """The first paragraph after a quote box's title ("Quote: Vernor Vinge …") is that person's words: the answer
    says whose, once for a run of their sentences, and the question's words match the speaker's name. Text after a
    later paragraph break is not attributed (where a quote ends cannot be told), nor is the title quoted."""
    from llama_index.core.schema import NodeWithScore, TextNode

    from alignment_qa.engine.evidence import Evidence, candidate_sentences, evidence_draft

    text = (
        "Platt's Law is a generalized observation named after Charles Platt.\n\n"
        "Quote: Vernor Vinge at 1993 NASA speech. (Yudkowsky, 2021)\n\n"
        "Within thirty years, we will have the technological means to create superhuman intelligence. "
        "Shortly after, the human era will be ended.\n\n"
        "Yudkowsky notes that Platt's law seems to fit remarkably well with the biological anchors."
    )
    node = TextNode(text=text, metadata={"spans": [[0, 0, len(text)]]})
    found = candidate_sentences([NodeWithScore(node=node, score=1.0)])
    speaker = "Vernor Vinge at 1993 NASA speech (Yudkowsky, 2021)"  # the citation stays, a role would not
    assert [candidate.speaker for candidate in found] == ["", speaker, speaker, ""]
    chosen = [Evidence(0, c.text, c.start, c.end, 1.0, 1.0, c.speaker) for c in found[1:]]
    assert evidence_draft(chosen).parsed.text() == (
        "Vernor Vinge at 1993 NASA speech (Yudkowsky, 2021): “Within thirty years, we will have the technological "
        "means to create superhuman intelligence.” [1] “Shortly after, the human era will be ended.” [1] Yudkowsky "
        "notes that Platt's law seems to fit remarkably well with the biological anchors [1]."
    )


def test_a_sentence_pointing_back_to_a_run_in_heading_is_shown_with_it() -> None:
    """ "**The First Line of Defense** . This comprises …": "This" is the heading, which is no sentence to quote; the
    answer shows it before the sentence, and the question's words match it. A sentence of its own before the colon
    ("In a previous section, we spoke about value lock-in .") or one that does not point back gets no heading."""
    from llama_index.core.schema import NodeWithScore, TextNode

    from alignment_qa.engine.evidence import Evidence, candidate_sentences, evidence_draft

    text = (
        "The First Line of Defense . This comprises the frontline researchers and developers working on AI systems.\n\n"
        "The Second Line of Defense . Risk teams form it, with compliance functions inside the company.\n\n"
        "In a previous section, we spoke about value lock-in . This phenomenon of entrenched values can grow.\n"
    )
    node = TextNode(text=text, metadata={"spans": [[0, 0, len(text)]]})
    found = candidate_sentences([NodeWithScore(node=node, score=1.0)])
    assert [(c.text[:20], c.topic) for c in found] == [
        ("This comprises the f", "The First Line of Defense"),
        ("Risk teams form it, ", ""),
        ("This phenomenon of e", ""),
    ]
    from alignment_qa.engine.evidence import _run_in_heading

    assert _run_in_heading("The Collingridge Dilemma. ") == "The Collingridge Dilemma"  # "**X.** This …"
    for no_heading in ("- ", "1. ", "Footnote footnote_bug: ", "AI is hard. ", "This makes humans mesa-optimizers: "):
        assert _run_in_heading(no_heading) == "", no_heading  # a list mark, a footnote label, a sentence of its own
    first = found[0]
    chosen = [Evidence(0, first.text, first.start, first.end, 1.0, 1.0, topic=first.topic)]
    assert evidence_draft(chosen).parsed.text() == (
        "The First Line of Defense: This comprises the frontline researchers and developers working on AI systems [1]."
    )


def test_a_list_item_knows_the_line_that_introduces_its_list() -> None:
    """ "What are the 3 ways safety washing happens?": the items name none of the question's words, their lead-in
    does; an item's word overlap counts the lead-in's words at ``LEAD_IN_SHARE`` of their weight."""
    from llama_index.core.schema import NodeWithScore, TextNode

    from alignment_qa.engine.evidence import candidate_sentences

    text = (
        "Safety washing happens in three ways:\n"
        "- Safety by association: research gets labeled as safety work without reason.\n"
        "- Safety by omission: the risks of a product are left out of its report.\n\n"
        "Labs publish many reports every year.\n"
        "- A list with no lead-in of its own starts here today."
    )
    node = TextNode(text=text, metadata={"spans": [[0, 0, len(text)]]})
    leads = {c.text[:20]: c.lead_in for c in candidate_sentences([NodeWithScore(node=node, score=1.0)])}
    assert leads == {
        "Safety by associatio": "Safety washing happens in three ways:",
        "Safety by omission: ": "Safety washing happens in three ways:",
        "Labs publish many re": "",
        "A list with no lead-": "",  # the line above it ends with a full stop
    }


def test_a_quoted_persons_sentence_gets_balanced_quote_marks_and_no_role() -> None:
    from alignment_qa.engine.evidence import Evidence, _speaker, evidence_draft

    text = 'Quote: Yann LeCun (Chief AI Scientist at Meta)\n\n"It is a question of when and how, not of if."'
    assert _speaker(text, text.index('"It')) == "Yann LeCun"
    lone = Evidence(0, "It's a question of when and how, not a question of if.\"", 0, 1, 1.0, 1.0, "Yann LeCun")
    assert evidence_draft([lone]).parsed.text() == (
        "Yann LeCun: “It's a question of when and how, not a question of if.” [1]"
    )


def test_a_named_footnote_is_quoted_without_its_label() -> None:
    """ "Footnote footnote_consciousness: Many people mean …" is quoted from "Many", with page offsets to match, and
    so is a numbered footnote that makes a claim; a reference entry is not quoted, nor an interactive figure's
    caption."""
    from llama_index.core.schema import NodeWithScore, TextNode

    from alignment_qa.engine.evidence import candidate_sentences, quotable

    text = (
        "Footnote footnote_consciousness: Many people mean very different things when talking about consciousness. "
        'Footnote 4: Wiener, N. (1960). "Some Moral and Technical Consequences of Automation." '
        "Footnote 7: An autoencoder with a latent space larger than its input is called overcomplete."
    )
    node = TextNode(text=text, metadata={"spans": [[0, 500, 500 + len(text)]]})
    found = candidate_sentences([NodeWithScore(node=node, score=1.0)])
    assert [(candidate.text, candidate.start - 500) for candidate in found] == [
        ("Many people mean very different things when talking about consciousness.", text.index("Many")),
        ("An autoencoder with a latent space larger than its input is called overcomplete.", text.index("An auto")),
    ]
    assert not quotable("Interactive Figure 1.12: Knowledge Tests vs Compute used in training (Giattino et al., 2023)")


def _scored(text: str, passage: int, score: float, vector: list[float]) -> object:
    import numpy as np

    from alignment_qa.engine.evidence import Scored

    unit = np.asarray(vector, dtype=np.float32)
    return Scored(passage, text, 0, len(text), 0, score, 0.0, False, score, unit / np.linalg.norm(unit))


def _at(text: str, passage: int, score: float, vector: list[float], start: int) -> object:
    """``_scored`` at page offset ``start``."""
    from dataclasses import replace

    return replace(_scored(text, passage, score, vector), start=start, end=start + len(text))  # type: ignore[type-var]


def test_the_best_sentence_leads_and_weak_ones_are_left_out() -> None:
    from alignment_qa.engine.evidence import choose

    scored = [
        _scored("best", 2, 0.9, [1, 0, 0]),
        _scored("near copy of best", 0, 0.88, [1, 0.01, 0]),
        _scored("good", 0, 0.8, [0, 1, 0]),
        _scored("weak", 1, 0.5, [0, 0, 1]),
    ]
    chosen = choose(scored, 4, 0.8)  # type: ignore[arg-type]
    assert [item.text for item in chosen] == ["best", "good"]  # best first, copy skipped, weak dropped
    again = choose(scored, 4, 0.8, lambda sentence: sentence == "best")  # type: ignore[arg-type]
    assert next(item.text for item in again) == "near copy of best"


def test_a_sentence_two_pages_hold_is_quoted_once_from_the_copy_that_fits_the_question() -> None:
    """A quote box a chapter's overview repeats: the same words, a vector from each context (not near-duplicates by
    cosine), different titles. Quoted once, at the best copy's score, with the attribution that carries the asked
    kind of token ("How many countries signed …?": the title "signed by 28 countries")."""
    from dataclasses import replace

    from alignment_qa.engine.evidence import choose

    said = "“Substantial risks may arise from potential intentional misuse.”"
    first = replace(_scored(said, 0, 0.9, [1, 0, 0]), speaker="The Bletchley Declaration (Nations, 2023)")  # type: ignore[type-var]
    other = _scored("Another claim.", 1, 0.8, [0, 1, 0])
    copy = replace(_scored(said, 3, 0.7, [1, 1, 0]), typed=True, speaker="The Declaration (signed by 28 countries)")  # type: ignore[type-var]
    chosen = choose([first, other, copy], 4, 0.5)  # type: ignore[list-item]
    assert [(item.text, item.passage, item.speaker) for item in chosen] == [
        (said, 3, "The Declaration (signed by 28 countries)"),
        ("Another claim.", 1, ""),
    ]
    assert chosen[0].score == 0.9  # the best copy's score: it still leads
    untyped = replace(copy, typed=False)  # type: ignore[type-var]
    assert [item.passage for item in choose([first, other, untyped], 4, 0.5)] == [0, 1]  # type: ignore[list-item]


def test_the_best_sentences_follower_in_its_passage_comes_right_after_it() -> None:
    from dataclasses import replace

    from alignment_qa.engine.evidence import choose

    lead = replace(_scored("A well-known example is a chest X-ray classifier.", 0, 0.9, [1, 0, 0, 0]), position=4)  # type: ignore[type-var]
    follower = replace(_scored("It used scanner marks, not lungs.", 0, 0.5, [0, 1, 0, 0]), position=5)  # type: ignore[type-var]
    other = _scored("Another page's close second.", 1, 0.8, [0, 0, 1, 0])
    unrelated = replace(_scored("The next section starts here.", 0, 0.3, [0, 0, 0, 1]), position=5)  # type: ignore[type-var]
    chosen = choose([lead, other, follower], 4, 0.8, follow_ratio=0.5)  # type: ignore[list-item]
    assert [item.text for item in chosen] == [lead.text, follower.text, other.text]  # type: ignore[attr-defined]
    assert [item.text for item in choose([lead, other, follower], 4, 0.8)] == [lead.text, other.text]  # type: ignore[list-item, attr-defined]
    assert [item.text for item in choose([lead, other, unrelated], 4, 0.8, follow_ratio=0.5)] == [lead.text, other.text]  # type: ignore[list-item, attr-defined]


def test_a_glossary_label_the_sentence_repeats_is_not_quoted() -> None:
    """ "Reward tampering: Reward tampering refers to …" is quoted from its second "Reward tampering", offsets too."""
    from dataclasses import replace

    from alignment_qa.engine.evidence import choose

    labelled = "Reward tampering: Reward tampering refers to an agent influencing its own reward."
    item = replace(_scored(labelled, 0, 1.0, [1, 0]), start=100, end=100 + len(labelled))  # type: ignore[type-var]
    other = replace(_scored("Key insight: agents game rewards.", 1, 0.9, [0, 1]), start=5, end=38)  # type: ignore[type-var]
    quoted = choose([item, other], 4, 0.5)  # type: ignore[list-item]
    assert quoted[0].text == "Reward tampering refers to an agent influencing its own reward."
    assert (quoted[0].start, quoted[0].end) == (118, 100 + len(labelled))
    assert quoted[1].text == "Key insight: agents game rewards." and quoted[1].start == 5  # a label of its own stays


def test_the_first_of_what_a_chosen_sentence_announces_follows_it_when_there_is_room() -> None:
    """ "The Act takes a dual approach …" says nothing alone; "First, there's a computational threshold …" right after
    it in its passage joins the answer behind it when it scores at least ``follow_ratio`` of the best, but does not
    push out a sentence scoring higher than it."""
    from dataclasses import replace

    from alignment_qa.engine.evidence import choose

    def at(text: str, passage: int, score: float, vector: list[float], position: int) -> object:
        return replace(_scored(text, passage, score, vector), position=position)  # type: ignore[type-var]

    lead = at("The EU AI Act addresses general purpose AI models.", 0, 1.0, [1, 0, 0, 0, 0], 0)
    announcing = at(
        "The Act takes a dual approach to identifying models with systemic risk.", 0, 0.9, [0, 1, 0, 0, 0], 1
    )
    first = at("First, there's a computational threshold of 10^25 FLOPs.", 0, 0.6, [0, 0, 1, 0, 0], 2)
    other = at("Fines reach 3% of global turnover.", 1, 0.85, [0, 0, 0, 1, 0], 0)
    weak = at("The AI Office enforces the rules.", 2, 0.55, [0, 0, 0, 0, 1], 0)
    scored = [lead, announcing, other, first, weak]
    texts = [item.text for item in choose(scored, 4, 0.8, follow_ratio=0.5)]  # type: ignore[arg-type, attr-defined]
    assert texts == [lead.text, announcing.text, first.text, other.text]  # type: ignore[attr-defined]
    full = [item.text for item in choose(scored, 3, 0.8, follow_ratio=0.5)]  # type: ignore[arg-type, attr-defined]
    assert full == [lead.text, announcing.text, other.text]  # type: ignore[attr-defined]
    alone = [item.text for item in choose(scored, 4, 0.8)]  # type: ignore[arg-type, attr-defined]
    assert first.text not in alone  # type: ignore[attr-defined]


def test_a_sentence_that_points_back_is_quoted_after_the_one_it_points_to() -> None:
    """ "None of them solve inner alignment." alone says nothing: the sentence before it in its page comes along (or
    it moves right after that one), both within ``max_sentences``; the best sentence stays first."""
    from dataclasses import replace

    from alignment_qa.engine.evidence import _POINTS_BACK, choose

    before = _at("RLHF, Constitutional AI, and IRL all aim to specify a better objective.", 0, 0.4, [1, 0, 0, 0], 100)
    pointing = _at("None of them solve inner alignment.", 0, 0.9, [0, 1, 0, 0], 173)
    other = _at("Inner alignment is about the learned goal.", 1, 0.8, [0, 0, 1, 0], 0)
    weak = _at("Outer alignment is about the written objective.", 2, 0.7, [0, 0, 0, 1], 0)
    texts = [item.text for item in choose([pointing, other, before], 4, 0.5)]  # type: ignore[list-item]
    assert texts == [before.text, pointing.text, other.text]  # type: ignore[attr-defined]
    texts = [item.text for item in choose([other, pointing, before], 4, 0.3)]  # type: ignore[list-item]
    assert texts == [other.text, before.text, pointing.text]  # chosen on its own merit, and moved
    texts = [item.text for item in choose([pointing, other, weak, before], 3, 0.5)]  # type: ignore[list-item]
    assert texts == [before.text, pointing.text, other.text]  # type: ignore[attr-defined]
    texts = [item.text for item in choose([other, pointing, weak, before], 2, 0.5)]  # type: ignore[list-item]
    assert texts == [other.text, weak.text]  # the pair does not fit; the next sentence does  # type: ignore[attr-defined]
    # the pair does not fit in one sentence: the best would point to nothing quoted, so the next best leads
    assert [item.text for item in choose([pointing, before], 1, 0.3)] == [before.text]  # type: ignore[list-item, attr-defined]
    assert [item.text for item in choose([pointing], 1, 0.3)] == [pointing.text]  # type: ignore[list-item, attr-defined]
    lead = _at("RLHF, Constitutional AI, and IRL all aim to specify a better objective.", 0, 0.9, [1, 0, 0, 0], 100)
    follows = replace(pointing, score=0.5, position=1)  # type: ignore[type-var]
    side = replace(_at("Outer alignment is about the written objective.", 2, 0.6, [0, 0, 0, 1], 0), side=1)  # type: ignore[type-var]
    texts = [item.text for item in choose([lead, side, follows], 3, 0.3, follow_ratio=0.5, side_ratio=0.5)]  # type: ignore[list-item]
    assert texts == [lead.text, follows.text, side.text]  # the best stays first, its pair stays whole  # type: ignore[attr-defined]
    filler = _at("Specification is hard.", 1, 0.7, [0, 0, 1, 0], 0)
    texts = [item.text for item in choose([lead, filler, side, follows], 4, 0.7, follow_ratio=0.5, side_ratio=0.5)]  # type: ignore[list-item]
    assert texts == [lead.text, follows.text, side.text, filler.text]  # the side's sentence does not split the pair  # type: ignore[attr-defined]
    context = _at("Context comes first here.", 1, 0.2, [0, 1, 0, 0], 0)
    shows = replace(_at("This shows the first side is hard too.", 1, 0.75, [0, 0, 1, 0], 26), side=0)  # type: ignore[type-var]
    first = replace(_at("Lead sentence about the first side.", 0, 0.9, [1, 0, 0, 0], 0), side=0)  # type: ignore[type-var]
    texts = [item.text for item in choose([first, shows, side, context], 3, 0.7, side_ratio=0.5)]  # type: ignore[list-item]
    assert texts == [first.text, context.text, shows.text]  # a side's sentence does not break a pair up  # type: ignore[attr-defined]
    assert not _POINTS_BACK.match("This section explains evaluations.") and _POINTS_BACK.match("This is why.")
    assert not _POINTS_BACK.match("Both Anthropic and OpenAI publish policies.")
    assert not _POINTS_BACK.match("Those who build it decide.") and _POINTS_BACK.match("Those models fail.")
    assert _POINTS_BACK.match("And that Hinton, Bengio, and LeCun are the recipients of the Turing Award.")
    assert _POINTS_BACK.match("But this fails.") and not _POINTS_BACK.match("Andrew Ng disagrees.")
    assert _POINTS_BACK.match("Predictably, this led to complete deforestation.")  # after a sentence adverb
    assert _POINTS_BACK.match("However, these developments also raise significant challenges and risks.")
    assert not _POINTS_BACK.match("However, reward models are trained on human labels.")
    assert not _POINTS_BACK.match("Thusly, thistle grows.") and not _POINTS_BACK.match("Finally, theories differ.")
    assert _POINTS_BACK.match("In other words, the agents learned distribution of actions should generalize.")
    assert not _POINTS_BACK.match("In other fields, words matter.")
    assert not _POINTS_BACK.match("However, this section covers RLHF.")  # the exclusions hold after an adverb
    assert not _POINTS_BACK.match("However, those who build it decide.")
    assert not _POINTS_BACK.match("Italy, they said, is fine.") and not _POINTS_BACK.match("July, they noted.")
    assert _POINTS_BACK.match("Which means it learned the correct goal but was incapable.")
    assert _POINTS_BACK.match("To put this in perspective, training such a model costs millions.")
    assert not _POINTS_BACK.match("Whichever lab trains first wins.")
    assert _POINTS_BACK.match("It is said to cost 50M in training.") and _POINTS_BACK.match("It was trained on text.")
    assert not _POINTS_BACK.match("It is believed that scaling helps.") and not _POINTS_BACK.match("It is possible.")
    far = _at("None of them solve inner alignment.", 0, 0.9, [0, 1, 0, 0], 300)  # not right after it in the page
    assert [item.text for item in choose([far, before], 4, 0.3)] == [far.text, before.text]  # type: ignore[list-item, attr-defined]
    plain = _at("It is widely believed that outer alignment comes first.", 0, 0.9, [0, 1, 0, 0], 173)
    assert [item.text for item in choose([plain, before], 4, 0.3)] == [plain.text, before.text]  # type: ignore[list-item, attr-defined]


def test_a_sentence_going_on_from_the_one_before_comes_after_it_when_both_fit_else_alone() -> None:
    """ "However, models may hide the wrong goal." goes on from the sentence before it: quoted after that sentence
    when both fit, alone when they do not (what it says stands without it). "Second, and more worryingly, …" and
    "Therefore, …" point back like "None of them …": left out when the pair does not fit. A sentence pointing back to
    a "However, …" sentence brings that one along, but not the one before it; a "However, …" sentence whose
    predecessor points back in turn goes in alone."""

    from alignment_qa.engine.evidence import _GOES_ON, _POINTS_BACK, choose

    before = _at("Training rewards models for honest answers.", 0, 0.4, [1, 0, 0, 0], 100)
    going_on = _at("However, models may learn to hide their goals.", 0, 0.9, [0, 1, 0, 0], 144)
    other = _at("Goal misgeneralization is a capability generalizing without the goal.", 1, 0.8, [0, 0, 1, 0], 0)
    texts = [item.text for item in choose([going_on, other, before], 4, 0.3)]  # type: ignore[list-item]
    assert texts == [before.text, going_on.text, other.text]  # type: ignore[attr-defined]
    texts = [item.text for item in choose([going_on, other, before], 1, 0.3)]  # type: ignore[list-item]
    assert texts == [going_on.text]  # type: ignore[attr-defined]  # the pair does not fit: alone
    then = _at("This makes deception hard to detect.", 0, 1.0, [0, 0, 0, 1], 191)
    texts = [item.text for item in choose([then, going_on, other, before], 2, 0.3)]  # type: ignore[list-item]
    assert texts == [going_on.text, then.text]  # type: ignore[attr-defined]
    # the sentence before points back in turn: the "However, …" sentence goes in alone, not with a chain of three
    evolve = _at("Tool AIs could evolve into agents.", 2, 0.3, [1, 0, 0, 0], 0)
    driven = _at("This evolution could be driven by economics.", 2, 0.3, [0, 0, 1, 0], 35)
    safer = _at("However, tool AIs are considered safer.", 2, 0.9, [0, 1, 0, 0], 81)
    assert [item.text for item in choose([safer, driven, evolve], 4, 0.5)] == [safer.text]  # type: ignore[list-item, attr-defined]
    second = _at("Second, and more worryingly, they may hide the wrong goal.", 0, 0.9, [0, 1, 0, 0], 144)
    assert [item.text for item in choose([second, before], 1, 0.3)] == [before.text]  # type: ignore[list-item, attr-defined]
    assert _GOES_ON.match("However, it’s worth noting that the lens explains nothing.")
    assert not _GOES_ON.match("However the gap is small.") and not _GOES_ON.match("Instead of X, use Y.")
    assert _POINTS_BACK.match("Therefore, during training, SGD could find one.")
    assert not _POINTS_BACK.match("However, models may learn to hide their goals.")


def test_a_sentence_pointing_back_comes_with_its_neighbour_even_when_their_vectors_are_near_duplicates() -> None:
    """In-context vectors of neighbouring sentences can be closer than ``DUPLICATE_COSINE`` ("Informally, the
    behavioral objective is …" and "This is in contrast to the mesa-objective, …" at 0.92): the sentence a quote
    points back to is its companion, not its copy; a true copy elsewhere is still skipped."""

    from alignment_qa.engine.evidence import choose

    before = _at(
        "Informally, the behavioral objective is what the behaviour appears to optimize.", 0, 0.7, [1, 0.3, 0], 0
    )
    pointing = _at("This is in contrast to the mesa-objective, the one actually used.", 0, 0.9, [1, 0.32, 0], 82)
    other = _at("A mesa-optimizer is a learned algorithm that is itself an optimizer.", 1, 0.8, [0, 0, 1], 0)
    texts = [item.text for item in choose([pointing, other, before], 4, 0.5)]  # type: ignore[list-item]
    assert texts == [before.text, pointing.text, other.text]  # type: ignore[attr-defined]
    copy = _at("This is in contrast to the mesa-objective, the one actually used, again.", 2, 0.85, [1, 0.31, 0], 0)
    texts = [item.text for item in choose([pointing, copy, other, before], 4, 0.5)]  # type: ignore[list-item]
    assert texts == [before.text, pointing.text, other.text]  # type: ignore[attr-defined]


def test_a_question_asking_for_several_things_quotes_the_list_a_best_sentence_introduces() -> None:
    """ "What advantages do red teams have …?": the best sentence introduces a list whose items score lower than other
    passages' sentences; the items follow it in page order (each item's first sentence, from one passage, scoring at
    least ``LIST_FLOOR`` of the best), up to ``max_sentences``. An open question keeps the usual choice."""
    from dataclasses import replace

    from alignment_qa.engine.answer_type import asks_for_several
    from alignment_qa.engine.evidence import SAME_PASSAGE_MAX, choose

    lead_in = "Red teams have structural advantages over actual scheming models. These advantages include:"
    intro = replace(
        _scored("Red teams have structural advantages over actual scheming models.", 0, 1.0, [1, 0, 0, 0, 0, 0]),
        start=0,
    )  # type: ignore[type-var]

    def item(text: str, score: float, start: int, opens: bool = True) -> object:
        vector = [0.0] * 6
        vector[start // 100] = 1.0  # each its own direction: no near-duplicates
        return replace(_scored(text, 0, score, vector), start=start, lead_in=lead_in, opens_item=opens)  # type: ignore[type-var]

    first = item("The red team has complete information about the safety measures.", 0.75, 100)
    more = item("It knows every monitor.", 0.74, 170, opens=False)  # the same item's second sentence
    second = item("The red team can spend much more time analyzing attacks.", 0.72, 200)
    third = item("The red team can learn from failed attempts.", 0.71, 300)
    weak = item("Blue teams exist too.", 0.3, 400)  # below the floor
    other = _scored("Control evaluations need capable red teams.", 1, 0.9, [0, 0, 0, 0, 0, 1])
    scored = [intro, other, first, more, second, third, weak]
    texts = [chosen.text for chosen in choose(scored, 4, 0.8, several=True)]  # type: ignore[arg-type]
    assert texts == [intro.text, first.text, second.text, third.text]  # type: ignore[attr-defined]
    assert SAME_PASSAGE_MAX < 4  # the list's items are not held to the per-passage limit
    assert [chosen.text for chosen in choose(scored, 4, 0.8)] == [intro.text, other.text]  # type: ignore[arg-type, attr-defined]
    assert asks_for_several("What advantages do red teams have over a real scheming model?")
    assert asks_for_several("How does RLHF work, step by step?") and asks_for_several("What are the three sections?")
    assert not asks_for_several("What is reward hacking?") and not asks_for_several("Why does RLHF fail?")


def test_a_chain_of_sentences_pointing_back_is_quoted_whole_or_not_at_all() -> None:
    """ "These are also commonly called instrumentally convergent goals." points back through three sentences that each
    point back too, to "Any agent … will tend to develop some common subgoals.": the whole chain fits in five
    sentences and is quoted in page order; in four it does not, and a sentence that reads on its own leads instead."""
    from dataclasses import replace

    from alignment_qa.engine.evidence import choose

    texts = [
        "Any agent pursuing any goal will tend to develop some common subgoals.",
        "These behavioral patterns come about in addition to the ones we want.",
        "These are called convergent subgoals.",
        "This is fundamentally different from specification failures.",
        "These are also commonly called instrumentally convergent goals.",
    ]
    chain = []
    start = 0
    for number, (text, score) in enumerate(zip(texts, (0.5, 0.4, 0.6, 0.45, 0.95), strict=True)):
        vector = [0.0] * 6
        vector[number] = 1.0
        chain.append(replace(_scored(text, 0, score, vector), start=start, end=start + len(text)))  # type: ignore[type-var]
        start += len(text) + 1
    later = "Several instrumental values can be identified which are convergent."
    other = replace(_scored(later, 0, 0.9, [0, 0, 0, 0, 0, 1]), start=1000, end=1000 + len(later))  # type: ignore[type-var]
    ranked = sorted([*chain, other], key=lambda item: -item.score)  # type: ignore[attr-defined]
    assert [item.text for item in choose(ranked, 5, 0.3)] == texts  # type: ignore[arg-type]
    shorter = [item.text for item in choose(ranked, 4, 0.3)]  # type: ignore[arg-type]
    assert shorter[0] == later and texts[-1] not in shorter


def test_when_the_best_sentence_cannot_be_quoted_its_follower_does_not_lead_and_a_list_comes_introduced() -> None:
    """The best sentence's chain does not fit: the sentence after it in its page is no longer taken whatever its
    score. A list introduced by the second-best sentence comes after the best one with its lead-in first."""
    from dataclasses import replace

    from alignment_qa.engine.evidence import choose

    def at(text: str, passage: int, score: float, axis: int, start: int, position: int = 0) -> object:
        vector = [0.0] * 8
        vector[axis] = 1.0
        item = replace(_scored(text, passage, score, vector), start=start, end=start + len(text), position=position)  # type: ignore[type-var]
        return item

    first = at("Any agent develops subgoals.", 0, 0.5, 0, 0, 0)
    second = at("These are called convergent subgoals.", 0, 0.4, 1, 29, 1)
    best = at("These are also commonly called instrumental goals.", 0, 1.0, 2, 67, 2)
    follower = at("Power seeking is one of them.", 0, 0.55, 3, 119, 3)
    strong = at("Several instrumental values are convergent.", 1, 0.9, 4, 0)
    texts = [item.text for item in choose([best, strong, follower, first, second], 2, 0.8, follow_ratio=0.5)]  # type: ignore[list-item, attr-defined]
    assert texts == [strong.text]  # type: ignore[attr-defined]  # not [follower, …]: the follower rode on the best

    lead_in = "Red teams have structural advantages. These include:"
    intro = at("Red teams have structural advantages.", 1, 0.8, 5, 0)
    items = [
        replace(at(text, 1, 0.75 - 0.01 * number, 6 + number, 100 * (number + 1)), lead_in=lead_in, opens_item=True)  # type: ignore[type-var]
        for number, text in enumerate(("They know every safety measure.", "They can iterate on failed attempts."))
    ]
    top = at("Control evaluations pit a red team against a blue team.", 0, 0.9, 0, 0)
    texts = [item.text for item in choose([top, intro, *items], 4, 0.95, several=True)]  # type: ignore[list-item, attr-defined]
    assert texts == [top.text, intro.text, *(item.text for item in items)]  # type: ignore[attr-defined]
    lonely = [items[0]]  # a "list" of one item is no list
    assert [item.text for item in choose([top, intro, *lonely], 4, 0.95, several=True)] == [top.text]  # type: ignore[list-item, attr-defined]


def test_a_comparison_answer_speaks_of_both_sides() -> None:
    """The best sentences all speak of one side (or of both at once): the other side's best sentence joins, in
    place of the weakest, when it scores at least ``side_ratio`` of the best."""
    from dataclasses import replace

    from alignment_qa.engine.evidence import BOTH_SIDES, choose, side_terms, which_side
    from alignment_qa.index.lexical import Analyzer

    own = side_terms(("a unipolar takeoff", "a multipolar takeoff"), Analyzer())
    assert own is not None and side_terms(("alignment", "outer alignment"), Analyzer()) is None
    analyzer = Analyzer()
    assert which_side(analyzer.term_set("In a unipolar takeoff, one lab leads."), own) == 0
    assert which_side(analyzer.term_set("Both unipolar and multipolar worlds risk misuse."), own) == BOTH_SIDES
    both = replace(_scored("Both unipolar and multipolar worlds risk misuse.", 0, 0.9, [1, 0, 0, 0]), side=BOTH_SIDES)  # type: ignore[type-var]
    left = replace(_scored("In a unipolar takeoff, one lab leads.", 0, 0.8, [0, 1, 0, 0]), side=0)  # type: ignore[type-var]
    right = replace(_scored("In a multipolar takeoff, many labs keep pace.", 1, 0.5, [0, 0, 1, 0]), side=1)  # type: ignore[type-var]
    filler = _scored("Takeoff speed matters.", 1, 0.75, [0, 0, 0, 1])
    scored = [both, left, filler, right]
    texts = [item.text for item in choose(scored, 3, 0.7)]  # type: ignore[arg-type]
    assert texts == [both.text, left.text, filler.text]  # type: ignore[attr-defined]
    texts = [item.text for item in choose(scored, 3, 0.7, side_ratio=0.5)]  # type: ignore[arg-type]
    assert texts == [both.text, left.text, right.text]  # type: ignore[attr-defined]
    texts = [item.text for item in choose(scored, 4, 0.7, side_ratio=0.5)]  # type: ignore[arg-type]
    assert texts == [both.text, left.text, filler.text, right.text]  # room left: nothing is replaced  # type: ignore[attr-defined]
    assert [item.text for item in choose(scored, 1, 0.7, side_ratio=0.5)] == [both.text]  # type: ignore[arg-type, attr-defined]
    follower = replace(_scored("It is then locked in.", 0, 0.6, [0, 0, 0.7, 0.7]), position=1)  # type: ignore[type-var]
    with_follower = [both, left, follower, right]
    texts = [item.text for item in choose(with_follower, 3, 0.7, follow_ratio=0.5, side_ratio=0.5)]  # type: ignore[arg-type]
    assert texts == [both.text, left.text, right.text]  # the follower gives way; left is its side's only one  # type: ignore[attr-defined]
    texts = [item.text for item in choose(scored, 3, 0.7, side_ratio=0.6)]  # type: ignore[arg-type]
    assert texts == [both.text, left.text, filler.text]  # too weak a sentence for its side  # type: ignore[attr-defined]


def test_names_of_several_words_are_looked_up_in_chunks() -> None:
    from alignment_qa.engine.abstain import name_phrases, unheard_names, unknown_names
    from alignment_qa.index.keyword import KeywordIndex

    plain = {
        "what",
        "is",
        "the",
        "who",
        "why",
        "did",
        "frontier",
        "model",
        "forum",
        "machine",
        "intelligence",
    }.__contains__
    assert name_phrases("What is the Frontier Model Forum and which labs founded it?", plain) == [
        "Frontier Model Forum"
    ]
    assert name_phrases("Why did DeepMind's Chinchilla paper say 20?", plain) == []  # a possessive ends a name
    assert name_phrases("Who won the 2018 FIFA World Cup?", plain) == ["FIFA World Cup"]  # a year is a date
    assert name_phrases("What does NIST AI RMF 1.0 say?", plain) == ["NIST AI RMF 1.0"]
    assert name_phrases("What Is The Difference Between Inner And Outer Alignment?", plain) == []  # title case
    assert name_phrases("What did Anthropic publish in March 2024?", plain) == []  # a date is not a name
    assert name_phrases("What did OpenAI 2023 say about AlphaFold 3?", plain) == []  # one word of letters each
    assert name_phrases("the Frontier Model Forum", plain, whole_question=False) == ["Frontier Model Forum"]
    assert name_phrases("What did Jan Leike say on May 5 2024?", plain) == ["Jan Leike"]  # a month only by a number
    assert name_phrases("What was agreed at the November AI Safety Summit?", plain) == ["AI Safety Summit"]
    assert name_phrases("What does the 1²3 Foo Bar say?", plain) == ["1²3 Foo Bar"]  # "²" is a digit, not a day
    assert name_phrases("What did Theresa May say about the risks of the Frontier Model Forum?", plain) == [
        "Theresa May",
        "Frontier Model Forum",
    ]
    records = [
        ("1", "Models", "Frontier model developers publish a post about the AI Office of the EU."),
        ("2", "Labs", "MIRI studies agent foundations, and so do research groups in universities."),
        ("3", "Acronyms", "MIRI was founded early; the Department of Energy funds the UK AI Safety Institute forum."),
        ("4", "Sparse", "Sparse autoencoders find features."),
    ]
    index = KeywordIndex.build(records, "r1", Analyzer())
    assert index.in_one_chunk("frontier model") and index.in_one_chunk("Office AI") and index.in_one_chunk("forum")
    assert not index.in_one_chunk("Frontier Model Forum")  # each word is there, never all in one chunk
    assert not index.in_one_chunk("sparse forum")
    assert index.in_one_chunk("Sparse Auto-Encoders") and index.in_one_chunk("sparse autoencoders")
    assert unheard_names("What is the Frontier Model Forum?", index, plain) == ["the Frontier Model Forum"]
    assert unheard_names("Why can the AI Office of the EU fine labs?", index, plain) == []
    assert unheard_names("what did the Machine Intelligence Research Institute publish?", index, plain) == []  # MIRI
    assert unknown_names("What is the Frontier Model Forum?", index, plain) == []  # not a decline: see decide


def test_unknown_names_are_named_and_typos_are_not() -> None:
    from alignment_qa.engine.abstain import unknown_names, unknown_words
    from alignment_qa.index.keyword import KeywordIndex

    analyzer = Analyzer()
    records = [
        ("1", "Principles", "AI principles were written by researchers about the difference between goals."),
        ("2", "Institutes", "The UK AI Safety Institute evaluates frontier models before deployment."),
        ("3", "Orders", "Executive Order 14110 sets compute thresholds for 100 labs."),
        ("4", "Go", "AlphaGo beat Lee Sedol."),
    ]
    index = KeywordIndex.build(records, "r1", analyzer)
    plain = {"what", "do", "the", "say", "whats", "difference"}.__contains__
    # a compound the pages write joined is known in either spelling ("Se-dol"), its parts too; not one they never write
    assert unknown_words("What did Lee Se-dol say?", index, plain) == []
    assert unknown_names("What did Lee Se-dol say?", index, plain) == []
    assert unknown_words("What did Lee Se-zorp say?", index, plain) == ["se", "zorp"]
    assert unknown_words("What did Lee Se-dol—Zorp-lab say?", index, plain) == ["zorp"]  # one compound each
    assert unknown_names("What do the 2017 Asilomar AI Principles say?", index, plain) == ["the Asilomar AI Principles"]
    assert unknown_names("whats the diffrence between goals", index, plain) == []  # a typo, not a name
    assert unknown_names("why do models end up sycophantic?", index, plain) == []  # a lower-case word is no name
    assert unknown_names("What does the UK AI Safety Institute evaluate?", index, plain) == []
    # a name written with a hyphen is still a name when one of its parts is unknown
    # ("the" is left out of a one-word name that qualifies a noun: "the UK-Zorp protocol")
    assert unknown_names("Are goals and the UK-Zorp protocol the same?", index, plain) == ["UK-Zorp"]
    assert unknown_names("Are goals and the UK-Zorp the same?", index, plain) == ["the UK-Zorp"]
    assert unknown_names("What does the UK-AI Safety Institute evaluate?", index, plain) == []
    assert unknown_names("Pre-traning goals?", index, plain) == []  # a capital that only starts the question
    assert unknown_names("UK-Zorp goals?", index, plain) == ["UK-Zorp"]
    # a number no page has names something after an acronym, unless it is a year; a quantity names nothing
    assert unknown_names("What does ISO/IEC 42001 say about goals?", index, plain) == ["ISO IEC 42001"]
    assert unknown_names("What does the UK 2031 plan say?", index, plain) == []
    assert unknown_names("What did the 300 researchers or 2,778 experts say?", index, plain) == []
    assert unknown_names("Does Zorp differ from Zorpex Labs?", index, plain) == ["Zorp", "Zorpex Labs"]
    # a code number a page has vouches for the acronym before it, which pages spell out ("Executive Order 14110")
    assert unknown_names("What did EO 14110 say?", index, plain) == []
    assert unknown_words("What did EO 14110 say?", index, plain) == []
    assert unknown_words("What did EO 14111 say?", index, plain) == ["eo"]
    assert unknown_names("What are EO 14110's and EO-14110's thresholds?", index, plain) == []
    assert unknown_words("What does the FTSE 100 say?", index, plain) == ["ftse"]  # a short number vouches for nothing


def test_evidence_mode_is_a_synthesizer_without_an_llm() -> None:
    from dataclasses import replace

    from llama_index.core import Settings as LlamaSettings

    from alignment_qa.engine.evidence import EvidenceSynthesizer

    nodes = [_node("a.md", "S", 0, 0, "first", 0.9), _node("b.md", "S", 0, 0, "second", 0.8)]
    scored = [_scored("The best sentence [3] of all.", 1, 0.9, [1, 0]), _scored("The next one.", 0, 0.85, [0, 1])]
    synthesizer = EvidenceSynthesizer(
        lambda bundle, passages: scored, max_sentences=4, keep_ratio=0.8, follow_ratio=None
    )  # type: ignore[arg-type, return-value]
    response = synthesizer.synthesize("a question", nodes)
    assert response.response == "The best sentence of all [1]. The next one [2]."
    assert response.source_nodes == nodes and response.metadata is not None
    assert response.metadata["draft"].parsed.order == [1, 0]  # passages in order of first citation
    history = [{"role": "assistant", "content": "The best sentence of all [1]."}]
    again = synthesizer.synthesize("a question", nodes, scored=scored, history=history)  # type: ignore[arg-type]
    assert again.response == "The next one [1]."  # what an earlier answer quoted is left out
    # a follow-up asking for a kind of token ("who proposed it, and in what year?") that only the sentence said before
    # carries, at any score near it, gets that sentence again, not a fresh one that lacks it
    named = [replace(scored[0], typed=True), scored[1], replace(_scored("Coined in 2019.", 0, 0.5, [1, 1]), typed=True)]  # type: ignore[type-var]
    again = synthesizer.synthesize("who, and when?", nodes, scored=named, history=history)  # type: ignore[arg-type]
    assert again.response == "The best sentence of all [1]. The next one [2]."
    named[2] = replace(named[2], score=0.85)  # type: ignore[type-var]
    again = synthesizer.synthesize("who, and when?", nodes, scored=named, history=history)  # type: ignore[arg-type]
    assert again.response == "The next one [1]. Coined in 2019 [1]."  # a fresh one has it too
    assert synthesizer.synthesize("who?", nodes, scored=[], history=history).response == ""  # nothing to quote
    assert LlamaSettings._llm is None  # no LLM was looked for


def test_a_streaming_answer_ends_with_the_checked_text() -> None:
    from alignment_qa.engine.answer import Answer, AnswerEvent, TokenEvent
    from alignment_qa.engine.query_engine import StreamingAnswer

    answer = Answer(question="q", standalone_question="q", text="Checked [1].", mode="llm")
    streamed = StreamingAnswer.relaying(iter([TokenEvent("Raw "), TokenEvent("[7]"), AnswerEvent(answer)]), [])
    assert list(streamed.response_gen) == ["Raw ", "[7]"]
    assert str(streamed) == "Checked [1]." and streamed.metadata == {"answer": answer}
    quoted = StreamingAnswer.relaying(iter([AnswerEvent(answer)]), [])
    assert quoted.get_response().response == "Checked [1]."  # nothing streamed: the answer in one piece
    assert list(StreamingAnswer.relaying(iter([AnswerEvent(answer)]), []).response_gen) == ["Checked [1]."]


def test_british_spellings_are_read_the_way_the_pages_write_them_and_other_words_are_not() -> None:
    from alignment_qa.engine.spelling import applied, corrections
    from alignment_qa.index.keyword import KeywordIndex

    records = [
        (str(number), "Page", text)
        for number, text in enumerate(
            [
                "The defense of the center relies on modeling and labeled data; analyze the colorful behavior.",
                "A defense center: modeling labeled scores, analyze it, colorful behavior, improve and score.",
                "Scoring filed reports improves the score; we filed and improved them.",
                "Scoring and improving are what we improve.",
            ]
        )
    ]
    index = KeywordIndex.build(records, "r1", Analyzer())
    known = {"defence", "centre", "modelling", "labelled", "analyse", "colourful", "behaviour", "scouring", "filled"}
    known |= {"improvise", "what", "is", "the", "a", "in", "of"}

    def corrected(question: str) -> str:
        return applied(question, corrections(question, index, known.__contains__, lambda pattern: False))

    assert corrected("the defence of the centre") == "the defense of the center"
    assert corrected("modelling labelled data") == "modeling labeled data"
    assert corrected("analyse a Colourful behaviour") == "analyze a Colorful behavior"
    # a word no British spelling of another: "scouring" is no "scoring", "filled" no "filed", and "improvize" stems
    # as "improve" does but is no word the pages write
    for untouched in ("scouring the web", "filled forms", "can models improvise"):
        assert corrected(untouched) == untouched


def test_typos_are_read_as_the_words_the_pages_use() -> None:
    from alignment_qa.engine.spelling import applied, corrections, one_edit, read_as
    from alignment_qa.index.keyword import KeywordIndex

    records = [
        ("1", "Corrigibility", "Corrigibility lets humans correct a system. Corrigibility is hard."),
        ("2", "Constitutional AI", "Constitutional AI trains on principles; causal models help."),
        ("3", "Generalization", "Goal generalization and capability generalization differ from corrigibility."),
        ("4", "Generalization again", "Generalization out of distribution can fail; causal stories too."),
        ("5", "Critiques", "Constitutional rules guide critiques."),
        ("6", "Cloning", "Behavior cloning copies actions; corrigibility can be a behavior."),
        ("7", "Cloning again", "Behavior cloning needs expert demonstrations."),
    ]
    index = KeywordIndex.build(records, "r1", Analyzer())
    known = {"what", "does", "mean", "constitutional", "hard", "shard", "causal", "quality", "behaviour", "defence"}
    plain = known.__contains__

    def corrected(question: str) -> tuple[str, str]:
        fixes = corrections(question, index, plain, lambda pattern: False)
        return applied(question, fixes), read_as(fixes)

    assert "corrigibility" in one_edit("corrigibilty") and "corrigibilty" not in one_edit("corrigibilty")
    assert corrected("what does corrigibilty mean?") == (
        "what does corrigibility mean?",
        "Read “corrigibilty” as “corrigibility”.",
    )
    assert corrected("how is constitutonal AI trained")[0] == "how is constitutional AI trained"
    assert corrected("weak to strong generalisation")[0] == "weak to strong generalization"
    # a British spelling no page uses, capitalised too (a name's word, which is otherwise no typo) or one the model
    # knows ("behaviour"), is read the American way when the pages use that; one the pages use is left alone
    assert corrected("What is Weak-to-Strong Generalisation?") == (
        "What is Weak-to-Strong Generalization?",
        "Read “Generalisation” as “Generalization”.",
    )
    assert corrected("how does behaviour cloning work")[0] == "how does behavior cloning work"
    assert corrected("what is Behaviour Cloning")[0] == "what is Behavior Cloning"
    assert corrected("is corrigibility a defence")[0] == "is corrigibility a defence"  # no page says "defense"
    # names, short words, chat spellings and words the pages or the model know are left alone; a correction must
    # be a word the model knows or the pages spell, and keep the first letter ("acausal" is a word of its own, not a
    # typo of "causal"); a stem is no word ("corrig", the stem of "corrigibility", for "corrigx")
    for untouched in ("What is Corrigibilty?", "whats a shard", "is corrigibility hard", "what is acausal trade"):
        assert corrected(untouched) == (untouched, "")
    assert corrected("what is corrigx")[0] == "what is corrigx"
    assert corrected("what is corrigibilizy")[0] == "what is corrigibilizy"  # one of the last two letters: left alone
    assert corrected("generalizaton")[0] == "generalization"  # the model does not know it; the pages spell it
    assert corrected("x" * 40 + " corrigibilty")[0].endswith("corrigibility")  # a 40-letter "word" is skipped
    # one edit from two words of one stem ("actual" and "actually" for "actualy"): the one ending as the typo does
    pages = [("8", "Actually", "It actually works."), ("9", "Actual", "The actual result.")]
    actually = KeywordIndex.build(pages, "r2", Analyzer())
    fixes = corrections("how does it actualy work", actually, {"actual", "actually"}.__contains__, lambda _: False)
    assert fixes == {"actualy": "actually"}
    many = " ".join(f"corrigibilt{letter}x" for letter in "abcdefghij")  # more unknown words than typos
    assert corrections(many + " corrigibilty", index, plain, lambda pattern: False) == {}


def test_a_long_word_two_edits_from_a_page_word_is_read_as_it() -> None:
    from alignment_qa.engine.spelling import corrections
    from alignment_qa.index.keyword import KeywordIndex

    texts = ["Criticisms of interpretability abound.", "Two criticisms stand out.", "Sourdough is bread."]
    index = KeywordIndex.build([(str(n), "Page", text) for n, text in enumerate(texts)], "r1", Analyzer())
    plain = {"what", "are", "the", "main", "of"}.__contains__
    assert corrections("what are the main critisims of it", index, plain, lambda pattern: False) == {
        "critisims": "criticisms"
    }
    assert corrections("what are the main critisms", index, plain, lambda pattern: False) == {
        "critisms": "criticisms"
    }  # one edit
    assert corrections("what is crxtxcxsms", index, plain, lambda pattern: False) == {}  # three edits away


def test_two_words_run_together_are_read_apart_when_the_pages_write_them_so() -> None:
    import re

    from alignment_qa.engine.spelling import applied, corrections, read_as
    from alignment_qa.index.keyword import KeywordIndex

    texts = [
        "GPT-4 hired a Task Rabbit worker to solve a task it could not.",
        "The task was a CAPTCHA; the worker was paid.",
        "A rabbit is an animal; sour cream and dough are food.",
        "Dough and sour notes.",
    ]
    index = KeywordIndex.build([(str(n), "Page", text) for n, text in enumerate(texts)], "r1", Analyzer())
    plain = {"what", "did", "do", "to", "the", "task", "rabbit", "worker", "sour", "dough", "bread"}.__contains__

    def matches(pattern: str) -> bool:
        return any(re.search(pattern, text) for text in texts)

    fixes = corrections("what did gpt-4 do to the taskrabbit worker?", index, plain, matches)
    assert fixes == {"taskrabbit": "task rabbit"} and read_as(fixes) == "Read “taskrabbit” as “task rabbit”."
    assert applied("the taskrabbit worker", fixes) == "the task rabbit worker"
    # both words in one chunk, never written side by side: no reading; never in one chunk: none either
    assert corrections("sourdough bread", index, plain, matches) == {}
    assert corrections("workerdough", index, plain, lambda pattern: True) == {}


def test_the_near_miss_notice_names_only_words_no_quote_has() -> None:
    """An evidence answer's quotes vouch for a word the best sentences lacked; an LLM's own words do not."""
    from alignment_qa.engine.citations import ParsedAnswer
    from alignment_qa.engine.evidence import Draft, Evidence
    from alignment_qa.engine.query_engine import unquoted

    quote = Evidence(0, "Even so, the participants managed to move the behavior of the model.", 0, 10, 1.0, 0.5)
    words = ["took", "participants", "part"]
    assert unquoted(words, Draft(ParsedAnswer([], [], []), {0: quote}), Analyzer()) == ["took", "part"]
    # an LLM's draft quotes nothing: "The sources do not say how many participants took part [1]."
    assert unquoted(words, Draft(ParsedAnswer([], [], [])), Analyzer()) == words
