"""Pure functions that turn an ``Answer`` into the chat page's HTML: the message and the sources panel.

Everything that comes from the corpus or the model (titles, sections, quotes, answer text) is
HTML-escaped, so a page titled ``<img src=x onerror=alert(1)>`` shows as text. Citations in the
message are links to the matching source card (``#source-KEY-N``, KEY naming the answer, so the
cards of one answer are never confused with another's); unsupported sentences are marked.
A source with a URL links to it with a text fragment (``#:~:text=``) so the browser scrolls to
and highlights the quoted passage. No Gradio here: the UI module only wires these in.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from alignment_qa.engine.answer import Answer, Citation, RetrievedPassage
from alignment_qa.index.lexical import STOP_WORDS

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
FRAGMENT_WORDS = 8  # words at each end of a text fragment: enough to be unique, short enough to match


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def card_id(key: str, n: int) -> str:
    """The element id of source card ``n`` of the answer named ``key``."""
    return f"source-{key}-{n}" if key else f"source-{n}"


def text_fragment_link(url: str, quote_text: str) -> str:
    """``url`` with a ``#:~:text=start,end`` fragment for the quote (the whole quote when short;
    the bare URL without one)."""
    if not url:
        return ""
    words = quote_text.split()
    if not words:
        return url
    if len(words) <= 2 * FRAGMENT_WORDS:
        fragment = quote(" ".join(words), safe="")
    else:
        start = quote(" ".join(words[:FRAGMENT_WORDS]), safe="")
        end = quote(" ".join(words[-FRAGMENT_WORDS:]), safe="")
        fragment = f"{start},{end}"
    base = url.split("#", 1)[0]
    return f"{base}#:~:text={fragment.replace('-', '%2D')}"


def highlight(quote_text: str, claims: list[str]) -> str:
    """The quote, escaped, with the content words it shares with ``claims`` in ``<mark>``."""
    wanted = {word.lower() for claim in claims for word in _WORD.findall(claim) if word.lower() not in STOP_WORDS}
    parts: list[str] = []
    last = 0
    for match in _WORD.finditer(quote_text):
        parts.append(_esc(quote_text[last : match.start()]))
        word = match.group()
        parts.append(f"<mark>{_esc(word)}</mark>" if word.lower() in wanted else _esc(word))
        last = match.end()
    parts.append(_esc(quote_text[last:]))
    return "".join(parts)


def answer_html(answer: Answer, key: str = "") -> str:
    """The chat message: sentences with citation links to the cards of ``sources_html(answer,
    key=key)``; unsupported ones marked; the notice first."""
    parts: list[str] = []
    if answer.notice:
        parts.append(f'<div class="aqa-notice">{_esc(answer.notice)}</div>')
    if answer.covered and answer.mode == "evidence" and answer.sentences:
        parts.append('<div class="aqa-label">Quoted evidence from the pages (no language model)</div>')
    if not answer.sentences:
        css = "" if answer.covered else ' class="aqa-not-covered"'
        parts.append(f"<p{css}>{_esc(answer.text)}</p>")
        return "".join(parts)
    sentences = []
    for sentence in answer.sentences:
        marks = "".join(
            f'<a class="aqa-cite" href="#{card_id(key, n)}" data-card="{card_id(key, n)}">[{n}]</a>'
            for n in sentence.citations
        )
        body = f"{_esc(sentence.text)} {marks}".rstrip()
        if sentence.supported:
            sentences.append(f'<span class="aqa-sentence">{body}</span>')
        else:
            title = "Not supported by its cited sources" if sentence.citations else "No citation"
            flag = f"unsupported: {_esc(sentence.reason)}" if sentence.reason else "unsupported"
            sentences.append(
                f'<span class="aqa-sentence aqa-unsupported" title="{title}">{body} '
                f'<span class="aqa-flag">({flag})</span></span>'
            )
    parts.append("<p>" + " ".join(sentences) + "</p>")
    return "".join(parts)  # no newlines: the chat shows messages as HTML, not Markdown


def source_link(item: Citation | RetrievedPassage, quote_text: str, server: str | None = "") -> str:
    """The web link for a source: its own URL with a text fragment at the quote; else the
    ``/page`` view of ``server`` ("" for this server, a relative link); else (``server`` None) ''."""
    if item.url.lower().startswith(("https://", "http://")):  # never javascript: or data: from a page
        return text_fragment_link(item.url, quote_text)
    if server is None:
        return ""
    anchor = f"#{quote(item.anchor)}" if item.anchor else ""
    return f"{server}/page/{quote(item.page_id)}{anchor}"


def source_card(citation: Citation, claims: list[str], key: str = "") -> str:
    """One numbered source: title, section path, link, and the highlighted quote."""
    link = source_link(citation, citation.quote)
    return (
        f'<div class="aqa-source" id="{card_id(key, citation.n)}">'
        f'<div class="aqa-source-head"><span class="aqa-n">[{citation.n}]</span> '
        f'<a href="{_esc(link)}" target="_blank" rel="noopener noreferrer">{_esc(citation.title)}</a></div>'
        f'<div class="aqa-section">{_esc(citation.section)}</div>'
        f'<div class="aqa-page">{_esc(citation.page_id)}</div>'
        f'<blockquote class="aqa-quote">{highlight(citation.quote, claims)}</blockquote></div>'
    )


def sources_html(answer: Answer | None, show_retrieved: bool = False, key: str = "") -> str:
    """The sources panel: cited sources, or the nearest pages when not covered; with
    ``show_retrieved``, every retrieved passage with its scores, marked cited or not."""
    if answer is None:
        return '<div class="aqa-empty">Sources of the answer appear here.</div>'
    parts: list[str] = []
    for citation in answer.citations:
        claims = [sentence.text for sentence in answer.sentences if citation.n in sentence.citations]
        if answer.mode == "evidence":  # the claim is the quote itself: mark what answers the question
            claims = [answer.standalone_question]
        parts.append(source_card(citation, claims, key))
    if answer.nearest_pages:
        parts.append('<div class="aqa-label">Nearest pages</div>')
        for passage in answer.nearest_pages:
            link = source_link(passage, "")
            parts.append(
                f'<div class="aqa-nearest"><a href="{_esc(link)}" target="_blank" rel="noopener noreferrer">'
                f"{_esc(passage.title)}</a> — {_esc(passage.section)}</div>"
            )
    if show_retrieved and answer.retrieved:
        parts.append('<div class="aqa-label">All retrieved passages</div>')
        for passage in answer.retrieved:
            state = "cited" if passage.cited else "not cited"
            scores = [f"fused {passage.score:.4f}"]
            if passage.dense_score is not None:
                scores.append(f"cosine {passage.dense_score:.3f}")
            if passage.keyword_score is not None:
                scores.append(f"BM25 {passage.keyword_score:.2f}")
            snippet = passage.text if len(passage.text) <= 400 else passage.text[:400].rsplit(" ", 1)[0] + " …"
            parts.append(
                f'<div class="aqa-retrieved aqa-{state.replace(" ", "-")}">'
                f"<b>#{passage.rank}</b> {_esc(passage.title)} — {_esc(passage.section)} "
                f"<i>({state}; {', '.join(scores)})</i><div>{_esc(snippet)}</div></div>"
            )
    return "\n".join(parts) or '<div class="aqa-empty">No sources.</div>'


def status_line(info: dict[str, object] | None, mode: str) -> str:
    """ "7 pages · 26 chunks · all-MiniLM-L6-v2 · default mode: evidence", or how to add pages."""
    if not info:
        return "No index yet: run `alignment-qa ingest PATH` (try sample-corpus/), or use the Index tab."
    model = str(info.get("embed_model", "")).rsplit("/", 1)[-1]
    return f"{info.get('pages')} pages · {info.get('chunks')} chunks · {model} · default mode: {mode}"


def page_html(page_id: str, chunks: list[tuple[str, dict[str, object]]]) -> str:
    """A local view of a page from its stored chunks, with an anchor per section."""
    title = str(chunks[0][1].get("title", page_id)) if chunks else page_id
    parts = [f"<!doctype html><meta charset=utf-8><title>{_esc(title)}</title><h1>{_esc(title)}</h1>"]
    heading = None
    for text, meta in chunks:
        if (meta.get("section"), meta.get("anchor")) != heading:  # two sections may share a heading's words
            heading = (meta.get("section"), meta.get("anchor"))
            anchor = str(meta.get("anchor", ""))
            parts.append(f'<h2 id="{_esc(anchor)}">{_esc(str(heading[0] or ""))}</h2>')
        parts.append(f"<p style='white-space:pre-wrap'>{_esc(text)}</p>")
    return "\n".join(parts)
