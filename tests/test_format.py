"""The chat page's pure formatting: escaping, citation links, unsupported marks, text fragments."""

from __future__ import annotations

import io

from rich.console import Console

from alignment_qa.app.format import answer_html, highlight, sources_html, status_line, text_fragment_link
from alignment_qa.app.render import print_answer
from alignment_qa.engine.answer import Answer, Citation, RetrievedPassage, SentenceVerdict

EVIL = "<img src=x onerror=alert(1)>"


def _answer(**extra: object) -> Answer:
    citation = Citation(
        n=1,
        page_id="wiki/a.md",
        title=EVIL,
        section="A > B",
        anchor="b",
        url="https://example.org/a",
        quote="Reward hacking exploits a flawed reward signal.",
        start=0,
        end=46,
    )
    data: dict[str, object] = {
        "question": "q",
        "standalone_question": "what is reward hacking",
        "text": "t",
        "mode": "evidence",
        "citations": [citation],
        "sentences": [
            SentenceVerdict(
                text="Reward hacking exploits a flawed reward signal.", citations=[1], supported=True, score=1.0
            ),
            SentenceVerdict(text=f"It was invented in 1850 {EVIL}.", citations=[], supported=False, score=0.0),
        ],
        "retrieved": [
            RetrievedPassage(
                page_id="wiki/a.md", title=EVIL, section="A > B", score=0.03, rank=1, text=f"passage {EVIL}", cited=True
            )
        ],
    }
    data.update(extra)
    return Answer.model_validate(data)


def test_corpus_and_model_text_is_inert() -> None:
    answer = _answer()
    for rendered in (answer_html(answer), sources_html(answer, show_retrieved=True)):
        assert "<img" not in rendered and "&lt;img src=x onerror=alert(1)&gt;" in rendered


def test_citations_link_to_their_source_cards_and_unsupported_is_marked() -> None:
    message = answer_html(_answer(), key="3")
    assert '<a class="aqa-cite" href="#source-3-1" data-card="source-3-1">[1]</a>' in message
    assert message.count("aqa-unsupported") == 1 and "(unsupported)" in message
    assert "Quoted evidence" in message
    panel = sources_html(_answer(), key="3")
    assert 'id="source-3-1"' in panel and "A &gt; B" in panel
    assert "https://example.org/a#:~:text=" in panel
    assert 'id="source-1"' in sources_html(_answer())  # no key: plain ids


def test_text_fragment_for_long_and_short_quotes() -> None:
    short = text_fragment_link("https://example.org/p#old", "a self-contained quote")
    assert short == "https://example.org/p#:~:text=a%20self%2Dcontained%20quote"
    words = " ".join(f"w{i}" for i in range(30))
    long = text_fragment_link("https://example.org/p", words)
    assert long.endswith("#:~:text=w0%20w1%20w2%20w3%20w4%20w5%20w6%20w7,w22%20w23%20w24%20w25%20w26%20w27%20w28%20w29")
    assert text_fragment_link("", "anything") == ""
    assert text_fragment_link("https://example.org/p", "") == "https://example.org/p"  # no empty fragment


def test_highlight_marks_shared_content_words_only() -> None:
    marked = highlight("The reward is a proxy & more", ["what is the reward proxy"])
    assert marked == "The <mark>reward</mark> is a <mark>proxy</mark> &amp; more"


def test_not_covered_lists_nearest_pages_and_all_retrieved_shows_scores() -> None:
    answer = _answer(covered=False, citations=[], sentences=[])
    panel = sources_html(answer, show_retrieved=True)
    assert "Nearest pages" in panel and 'href="/page/wiki/a.md"' in panel  # no source URL: the local view
    answer.retrieved[0].url = "https://example.org/a"
    assert 'href="https://example.org/a"' in sources_html(answer)  # a page link, no empty text fragment
    assert "cited; fused 0.0300" in panel


def test_a_decline_names_each_nearest_page_once_on_every_surface() -> None:
    def passage(page: str, section: str, rank: int) -> RetrievedPassage:
        return RetrievedPassage(page_id=page, title=page.upper(), section=section, score=0.1, rank=rank)

    pages = ["atlas/04/05.md", "atlas/04/05.md", "atlas/04/06.md", "wiki/a.md", "wiki/b.md"]
    retrieved = [passage(page, f"S{rank}", rank) for rank, page in enumerate(pages, 1)]
    declined = _answer(covered=False, citations=[], sentences=[], retrieved=retrieved)
    assert [p.rank for p in declined.nearest_pages] == [1, 3, 4]  # the best passage of each page, three pages
    assert _answer(retrieved=retrieved).nearest_pages == []  # a covered answer names none
    assert sources_html(declined).count("ATLAS/04/05.MD") == 1
    out = io.StringIO()
    print_answer(Console(file=out, width=200), declined)
    printed = out.getvalue().split("Nearest pages", 1)[1]
    assert printed.count("ATLAS/04/05.MD") == 1 and "ATLAS/04/06.MD" in printed and "WIKI/B.MD" not in printed


def test_status_line() -> None:
    assert "No index yet" in status_line(None, "evidence")
    info = {"pages": 7, "chunks": 26, "embed_model": "sentence-transformers/all-MiniLM-L6-v2"}
    assert status_line(info, "evidence") == "7 pages · 26 chunks · all-MiniLM-L6-v2 · default mode: evidence"


def test_only_web_urls_become_links() -> None:
    answer = _answer()
    answer.citations[0].url = "javascript:alert(1)"
    panel = sources_html(answer)
    assert "javascript:" not in panel and 'href="/page/wiki/a.md#b"' in panel


def test_an_unsupported_sentence_shows_its_reason_escaped() -> None:
    reason = f"the claim names {EVIL}, which the passage does not mention"
    wrong = SentenceVerdict(text="Claude wrote it.", citations=[1], supported=False, score=0.2, reason=reason)
    message = answer_html(_answer(sentences=[wrong]))
    assert "(unsupported: the claim names &lt;img src=x onerror=alert(1)&gt;, which the passage" in message
    assert "<img" not in message
    assert "(unsupported)" in answer_html(_answer())  # no reason: the plain mark
