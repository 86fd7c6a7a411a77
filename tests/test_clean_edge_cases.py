"""Inputs that once lost text or crashed: each keeps its content now."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alignment_qa.index.embedder import Embedder
from alignment_qa.ingest.chunk import chunk_page
from alignment_qa.ingest.clean import clean_page


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        ("# T\n\nFor all n<N we have bounds.\n\nMore prose that matters.\n", ["n<N we have", "More prose"]),
        ("# T\n\nIf x<y and y>z then x<z.\n", ["If x<y and y>z then x<z."]),
        ("# T\n\nUse Vec<T> and Option<String>.\n", ["Vec<T> and Option<String>"]),
        ("# T\n\nSee <https://example.com/paper> for details.\n", ["https://example.com/paper"]),
        ("# T\n\n```\nList<int> xs;\n```\n\nAfter.\n", ["List<int> xs;", "After."]),
        ("# T\n\nIntro.\n\n<script>var a = 1;\n\n## Later\n\nImportant body.\n", ["Important body."]),
        ("# T\n\n<button>Click\n\nAll the rest.\n\n## Section 2\n\nBody 2.\n", ["All the rest.", "Body 2."]),
        ("# T\n\nLogo: <![logo](l.png)> stays.\n", ["stays."]),
        ("# T\n\n> The best way to predict the future is to invent it.\n> Source: Alan Kay\n\nBody\n", ["invent it"]),
        ("Title\n=====\n\nBody under a setext title.\n", ["Body under a setext title."]),
        ("# T\n\n````\n```\ninner fence\n```\n````\n\nAfter.\n", ["inner fence", "After."]),
        ("# T\n\nThe __init__ method.\n", ["__init__"]),
        ("# T\n\n| a | b \\| c |\n| --- | --- |\n| x | y |\n", ["x: y"]),
        ("# T\n\n$$G = \\sum_{t=0}^{T} r_t$$ and a dict {a=1} inline.\n", ["\\sum_{t=0}^{T}", "{a=1} inline"]),
        ("# T\n\nSeen by a CNN, which** **can help.\n", ["a CNN, which can help."]),
        ("# T\n\n**Task: **Indirect Object Identification.\n", ["Task: Indirect Object Identification."]),
        ("# T\n\nIn Python, x**2 squares x.\n", ["x**2 squares"]),
        ("# T\n\nA lone marker: def f(*args, **kwargs) stays.\n", ["f(*args, **kwargs) stays"]),
    ],
)
def test_markdown_content_is_kept(source: str, kept: list[str]) -> None:
    page = clean_page(source, "t.md", ".md")
    for text in kept:
        assert text in page.text


def test_setext_title_is_the_title() -> None:
    assert clean_page("Title\n=====\n\nBody.\n", "t.md", ".md").title == "Title"


def test_html_headings_tables_and_pre() -> None:
    source = (
        '<h1>Doc</h1><h2 id="01">1.1 Intro<a class="headerlink" href="#01">¶</a></h2>'
        "<p>Text.</p><table><tr><td>RLHF with <b>human</b> feedback<td>Ouyang <i>et al.</i> 2022</table>"
        "<p>Para after.</p><pre><code># not a heading\nx = 1</code></pre><h2>Next</h2><p>End.</p>"
    )
    page = clean_page(source, "d.html", ".html")
    assert page.sections[0].path == ("1.1 Intro",) and page.sections[0].anchor == "01"
    assert "RLHF with human feedback" in page.text and "Ouyang et al. 2022" in page.text
    assert "Para after." in page.text and "# not a heading" in page.text
    assert [section.path for section in page.sections] == [("1.1 Intro",), ("Next",)]


def test_plain_text_export_with_long_first_line_keeps_it_as_content() -> None:
    first = "This export starts with a long paragraph instead of a title line, " * 3
    page = clean_page(first + "\nSecond paragraph.\n", "x.txt", ".txt")
    assert page.title == "x" and first.strip()[:40] in page.text


def test_hard_wrapped_line_is_not_a_heading() -> None:
    raw = "Title\nThe decomposition matters because the field intuitions about\nalignment are mostly outer ones.\n"
    page = clean_page(raw, "x.txt", ".txt")
    assert all(section.path == () for section in page.sections)


def test_unbreakable_text_and_huge_titles_are_chunked(embedder: Embedder, count_pieces: Callable[[str], int]) -> None:
    cjk = "# T\n\n" + "人工智能对齐是一个重要的研究领域" * 60 + "\n"
    url = "# T\n\nhttps://example.com/" + "a" * 3000 + "\n"
    title = "# " + "A very long title word " * 80 + "\n\nBody text.\n"
    for source in (cjk, url, title):
        page = clean_page(source, "t.md", ".md")
        chunks = chunk_page(page, 256, embedder)
        assert chunks
        assert all(count_pieces(chunk.embed_text) <= 256 for chunk in chunks)
        assert all(page.text[chunk.start : chunk.end] == chunk.text for chunk in chunks)
