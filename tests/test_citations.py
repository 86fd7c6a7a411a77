"""Citation markers: parsing every accepted form, dropping dangling numbers, renumbering."""

from __future__ import annotations

from alignment_qa.engine.citations import CitedSentence, format_sentence, resolve, split_cited_sentences


def test_forms_of_markers_are_parsed() -> None:
    parsed = split_cited_sentences("Alpha is one [1]. Beta is two [2, 3]. Gamma is three [4][5]. Delta [6; 7].")
    assert [sentence.numbers for sentence in parsed] == [[1], [2, 3], [4, 5], [6, 7]]
    assert [sentence.text for sentence in parsed] == ["Alpha is one.", "Beta is two.", "Gamma is three.", "Delta."]


def test_marker_after_the_full_stop_belongs_to_the_sentence_before() -> None:
    parsed = split_cited_sentences("RLHF targets outer alignment. [2] It does not fix inner alignment. [1]")
    assert [(sentence.text, sentence.numbers) for sentence in parsed] == [
        ("RLHF targets outer alignment.", [2]),
        ("It does not fix inner alignment.", [1]),
    ]


def test_dangling_numbers_are_dropped_and_reported() -> None:
    parsed = resolve("First claim [3]. Second claim [9]. Third claim [0][3].", n_sources=4)
    assert parsed.dropped == [9, 0]
    assert [sentence.numbers for sentence in parsed.sentences] == [[1], [], [1]]
    assert parsed.order == [2]  # citation 1 is retrieved passage index 2 (source [3])


def test_renumbered_in_order_of_first_use_and_only_cited_sources_listed() -> None:
    parsed = resolve("A [3]. B [1][3]. C [3].", n_sources=5)
    assert parsed.order == [2, 0]
    assert parsed.text() == "A [1]. B [2][1]. C [1]."


def test_format_puts_markers_before_final_punctuation() -> None:
    assert format_sentence(CitedSentence("Claim.", [1, 2])) == "Claim [1][2]."
    assert format_sentence(CitedSentence("No punctuation", [3])) == "No punctuation [3]"
    assert format_sentence(CitedSentence("Uncited.", [])) == "Uncited."
    quoted = CitedSentence("It was to be “largely honest and helpful to its partners.”", [1])
    assert format_sentence(quoted) == "It was to be “largely honest and helpful to its partners.” [1]"  # not inside
    assert format_sentence(CitedSentence("It aligns with values. (OpenAI, 2023)", [2])) == (
        "It aligns with values. (OpenAI, 2023) [2]"
    )


def test_text_without_markers_has_no_citations() -> None:
    parsed = resolve("The sources do not cover this question.", n_sources=3)
    assert parsed.order == [] and parsed.sentences[0].numbers == []
