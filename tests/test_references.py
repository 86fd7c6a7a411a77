"""References to the collection itself ("according to the Atlas") are left out of what is searched."""

from __future__ import annotations

import pytest

from alignment_qa.engine.references import collection_names, reference_patterns, without_references
from alignment_qa.index.keyword import KeywordIndex
from alignment_qa.index.lexical import Analyzer

# the atlas's pages rarely say "atlas"; the governance folder's pages say "governance"
RECORDS = [
    *[(f"atlas/0{n}/01.md#a-{n}", "Atlas", f"Reward hacking and RLHF, part {n} of the chapter.") for n in range(8)],
    ("atlas/index.md#b-0", "AI Safety Atlas", "The AI Safety Atlas is a textbook."),
    ("wiki/rlhf.md#c-0", "RLHF", "RLHF fits a reward model to human preferences."),
    ("governance/a.md#d-0", "Governance", "National governance of frontier AI."),
    ("governance/b.md#d-1", "Governance", "International governance bodies."),
    ("other/c.md#f-0", "Other", "A folder named with a stop word."),
    ("loose.md#e-0", "Loose", "A page outside any folder."),
]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(RECORDS, "r1", Analyzer())


def test_a_folder_whose_pages_do_not_use_its_name_names_the_collection(index: KeywordIndex) -> None:
    assert collection_names(index) == {"atlas", "wiki"}  # not "governance": its pages are about it; not "other"


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        ("According to the Atlas, what is reward hacking?", "what is reward hacking?"),
        ("How does the Atlas's chapter define reward hacking?", "How does chapter define reward hacking?"),
        ("What does RLHF fit, according to the wiki?", "What does RLHF fit?"),
        ("In the wiki, what does RLHF fit?", "what does RLHF fit?"),
        ("Is RLHF brittle (per the Atlas)?", "Is RLHF brittle?"),
        ("The Atlas says RLHF is brittle; why?", "says RLHF is brittle; why?"),
        ("How does the Atlas define reward hacking?", "How define reward hacking?"),
        ("In the wiki page on RLHF, what is reward hacking?", "on RLHF, what is reward hacking?"),
        # questions about the collection itself are searched whole
        ("Who wrote the Atlas?", "Who wrote the Atlas?"),
        ("What does the Atlas cover?", "What does the Atlas cover?"),
        ("How is the wiki organised, according to the Atlas?", "How is the wiki organised, according to the Atlas?"),
        ("What is in the Atlas?", "What is in the Atlas?"),  # nothing would be left to search
        # not references
        ("What does the AI Safety Atlas say about RLHF?", "What does the AI Safety Atlas say about RLHF?"),
        ("What is in the Atlas of AI risks?", "What is in the Atlas of AI risks?"),
        ("Is a wiki-style page on RLHF enough?", "Is a wiki-style page on RLHF enough?"),
        ("What does national governance cover?", "What does national governance cover?"),
        ("What does f() return in RLHF?", "What does f() return in RLHF?"),  # no reference: not rewritten
    ],
)
def test_references_are_left_out_of_the_searched_text(index: KeywordIndex, question: str, searched: str) -> None:
    references = reference_patterns(sorted(collection_names(index)))
    assert without_references(question, references, index) == searched


def test_without_folders_nothing_is_left_out() -> None:
    flat = KeywordIndex.build([("a.md#0", "A", "The atlas of maps.")], "r2", Analyzer())
    assert reference_patterns(sorted(collection_names(flat))) is None
    assert without_references("According to the atlas, where is Rome?", None, flat) == (
        "According to the atlas, where is Rome?"
    )
