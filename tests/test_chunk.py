"""Chunks fit the model window (counted with the model's tokenizer) and point into the page."""

from __future__ import annotations

from collections.abc import Callable

from alignment_qa.index.embedder import Embedder
from alignment_qa.ingest.chunk import chunk_page, split_sentences
from alignment_qa.ingest.clean import clean_page
from conftest import SAMPLE_CORPUS


def test_sentence_split_respects_abbreviations() -> None:
    text = "Hubinger et al. argue this, e.g. in 2019. Then J. Smith replied (see Fig. 3). Done!\nNext line"
    spans = split_sentences(text, 0, len(text))
    assert [text[s:e] for s, e in spans] == [
        "Hubinger et al. argue this, e.g. in 2019.",
        "Then J. Smith replied (see Fig. 3).",
        "Done!",
        "Next line",
    ]


def test_a_citation_after_the_stop_ends_the_sentence_it_cites() -> None:
    """ "… values. (OpenAI, 2023) A prime example …" was one quote running into the next sentence."""
    text = (
        "It is part of a strategy. (OpenAI, 2023) A prime example is ChatGPT. See the figure. (a) The left part. "
        "He said so. (In 1984 Orwell wrote a book.) Then more."
    )
    spans = split_sentences(text, 0, len(text))
    assert [text[s:e] for s, e in spans] == [
        "It is part of a strategy. (OpenAI, 2023)",
        "A prime example is ChatGPT.",
        "See the figure. (a) The left part.",  # no year, no "et al": not a citation
        "He said so. (In 1984 Orwell wrote a book.)",  # a sentence in brackets is no citation: as before
        "Then more.",
    ]
    quoted = "“... [We define the] problem as the inner alignment problem.” (Hubinger et al., 2019) Next."
    assert [quoted[s:e] for s, e in split_sentences(quoted, 0, len(quoted))] == [
        "“... [We define the] problem as the inner alignment problem.” (Hubinger et al., 2019)",  # quote kept whole
        "Next.",
    ]


def test_chunks_fit_window_and_offsets_are_exact(embedder: Embedder, count_pieces: Callable[[str], int]) -> None:
    long_sentence = " ".join(["interpretability"] * 400)  # one sentence longer than the window
    body = " ".join(f"Sentence number {i} talks about reward models and oversight." for i in range(120))
    raw = f"# A page\n\n## First part\n\n{body}\n\n## Second part\n\n{long_sentence}.\n"
    page = clean_page(raw, "a.md", ".md")
    chunks = chunk_page(page, 128, embedder)
    assert len(chunks) > 4
    for position, chunk in enumerate(chunks):
        assert chunk.index == position
        assert page.text[chunk.start : chunk.end] == chunk.text
        assert count_pieces(chunk.embed_text) <= 128  # special tokens included
        assert chunk.prefix.startswith("A page > ")
    assert {chunk.section_path for chunk in chunks} == {("First part",), ("Second part",)}
    # nothing is lost: every word of the page body is in some chunk
    covered = " ".join(chunk.text for chunk in chunks)
    assert covered.count("interpretability") == 400
    assert covered.count("Sentence number") == 120


def test_default_window_is_the_models(embedder: Embedder) -> None:
    raw = (SAMPLE_CORPUS / "textbook/rlhf.md").read_text()
    page = clean_page(raw, "rlhf.md", ".md")
    chunks = chunk_page(page, embedder.max_tokens, embedder)
    assert embedder.max_tokens == 256
    assert all(chunk.tokens + embedder.special_tokens <= 256 for chunk in chunks)
    assert chunks[0].prefix == "6.2 Learning from human feedback\n"
    assert any("Reinforcement Learning from Human Feedback: " in chunk.text for chunk in chunks)  # the definition


def test_a_chunk_cut_inside_a_caption_line_says_so(embedder: Embedder) -> None:
    """A long caption line cut between two chunks: the second opens with the caption's rest ("Input tokens are
    written at the bottom …"), which must not read as the page's own words; the chunk says it opens in a caption."""
    caption = "Figure 9.14: An example of the Logit Lens. " + " ".join(
        f"Input tokens number {n} are written at the bottom of the plot." for n in range(60)
    )
    body = " ".join(f"The logit lens reads the residual stream at layer {n}." for n in range(40))
    markdown = f"# Lens\n\n{body}\n\n{caption}\n\n{body}\n"
    page = clean_page(markdown, "lens.md", ".md")
    chunks = chunk_page(page, 128, embedder)
    assert len(chunks) > 3
    for chunk in chunks:
        line_start = page.text.rfind("\n", 0, chunk.start) + 1
        inside = line_start < chunk.start and page.text[line_start:].startswith("Figure 9.14")
        assert chunk.opens_in_caption is inside, (chunk.index, page.text[chunk.start : chunk.start + 40])
    assert any(chunk.opens_in_caption for chunk in chunks)
