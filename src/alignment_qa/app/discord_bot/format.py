"""Pure functions that turn an ``Answer`` into Discord messages within Discord's documented limits.

Each reply starts with the question quoted (``> ...``), which is also how the bot recognises its
own answers when it reads a thread's history back. The answer keeps its ``[n]`` markers;
unsupported sentences are flagged; sources go in embeds (title, section, link, quote). Long
answers split between sentences, and a sentence too long for one message splits between words
with its markers kept whole at its end, so no message ever cuts a citation. All corpus and
question text is escaped (Markdown and mass mentions), and a link is used only when it is one
http(s) address with a host, with every character that could end it or start Markdown
percent-encoded (``safe_link``). Sending is left to ``bot``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from alignment_qa.app.format import source_link
from alignment_qa.engine.answer import Answer, Citation

# https://discord.com/developers/docs/resources/message#create-message and
# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
MESSAGE_CHARS = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE_CHARS = 256
EMBED_DESCRIPTION_CHARS = 4096
EMBED_FIELDS = 25
FIELD_NAME_CHARS = 256
FIELD_VALUE_CHARS = 1024
FOOTER_CHARS = 2048
EMBED_TOTAL_CHARS = 6000  # title, description, field names and values, footer, author: all embeds of a message
THREAD_NAME_CHARS = 100

QUESTION_CHARS = 300  # the quoted question at the top of a reply
QUOTE_CHARS = 300  # a source's quote in its embed field
UNSUPPORTED = "⚠️ *(unsupported)*"
EVIDENCE_LABEL = "-# Quoted evidence from the pages (no language model)"
SOURCES_COLOUR = 0x2B6CB0
NEAREST_COLOUR = 0x999999

_MARKDOWN = re.compile(r"([\\*_~`|\[\]<>#])")
_MASS_MENTION = re.compile(r"@(everyone|here)")
_LIST_START = re.compile(r"^(\d+)\.(?=\s)|^-(?=\s)")
_URL = re.compile(r"https?://[^\s<>]+[^\s<>.,;:!?)\]'\"]")


@dataclass
class Reply:
    """One Discord message: its text and its embeds (as Discord's embed JSON)."""

    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)


def escape(text: str) -> str:
    """``text`` shown literally, on one line: Markdown characters escaped, a leading "- " or "1. "
    kept from starting a list, @everyone/@here defused, and web addresses left intact (in ``<>``,
    so they stay clickable without a preview)."""
    text = " ".join(text.split())
    parts: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        parts.append(_escape_plain(text[last : match.start()]))
        parts.append(f"<{match.group()}>")
        last = match.end()
    parts.append(_escape_plain(text[last:]))
    escaped = "".join(parts)
    escaped = _LIST_START.sub(lambda m: f"{m.group(1)}\\." if m.group(1) else "\\-", escaped)
    return _MASS_MENTION.sub("@\u200b\\1", escaped)


# Characters a link keeps as they are: unreserved, reserved and "%" (existing escapes). Spaces,
# controls, non-ASCII and ( ) [ ] < > * ` | \ " { } ^ are percent-encoded, so nothing can close
# the link early or format text after it.
_LINK_SAFE = "-._~:/?#@!$&'+,;=%"


def safe_link(url: str) -> str:
    """``url`` fit to stand inside ``[label](...)``, or "" when it is not one http(s) address with a host."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return ""
    return quote(url.strip(), safe=_LINK_SAFE)


def _escape_plain(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    cut = cut.rstrip("\\")  # never leave half an escape
    return cut + "…"


def thread_name(question: str) -> str:
    """A thread title from the question (Discord allows 100 characters)."""
    return shorten(" ".join(question.split()), THREAD_NAME_CHARS) or "Question"


def question_quote(question: str) -> str:
    """The first line of every answer: the question, quoted."""
    return "> " + shorten(escape(question), QUESTION_CHARS)


def _split_words(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, broken between words where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        if cut <= 0:  # one huge word: a hard cut, never between a backslash and what it escapes
            cut = limit
            run = len(text[:cut]) - len(text[:cut].rstrip("\\"))
            if run % 2:
                cut -= 1
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def sentence_units(answer: Answer) -> list[str]:
    """Each sentence as it is shown: escaped text, its ``[n]`` markers, and the flag when unsupported."""
    if not answer.sentences:
        return [escape(answer.shown_text)]  # a decline's nearest pages come as an embed
    units = []
    for sentence in answer.sentences:
        tail = "".join(f"[{n}]" for n in sentence.citations)
        if not sentence.supported:
            tail = f"{tail} {UNSUPPORTED}".strip()
        units.append(f"{escape(sentence.text)} {tail}".rstrip())
    return units


def pack(head: list[str], units: list[str], limit: int = MESSAGE_CHARS) -> list[str]:
    """Messages of at most ``limit`` characters: the ``head`` lines, then the units joined by
    spaces. Breaks fall between units; a unit longer than a message is split between words, with
    its trailing markers (``[n]`` and the flag) kept together in its last piece."""
    messages: list[str] = []
    current = "\n".join(head)
    separator = "\n" if current else ""
    for unit in units:
        for piece in _unit_pieces(unit, limit):
            if current and len(current) + len(separator) + len(piece) > limit:
                messages.append(current)
                current, separator = "", ""
            current += separator + piece
            separator = " "
    if current:
        messages.append(current)
    return messages


_TRAILING_MARKERS = re.compile(r"(?:\s*(?:\[\d+\])+)?(?:\s*" + re.escape(UNSUPPORTED) + r")?$")


def _unit_pieces(unit: str, limit: int) -> list[str]:
    if len(unit) <= limit:
        return [unit]
    tail = _TRAILING_MARKERS.search(unit)
    markers = tail.group().strip() if tail else ""
    body = unit[: tail.start()] if tail else unit
    pieces = _split_words(body, limit)
    if markers:
        if len(pieces[-1]) + 1 + len(markers) <= limit:
            pieces[-1] = f"{pieces[-1]} {markers}"
        else:
            pieces.append(markers)
    return pieces


SECTION_CHARS = 200
PAGE_ID_CHARS = 150


def _field_value(section: str, page_id: str, link: str, quote_text: str) -> str:
    """Section, linked page id, quote: each shortened on its own, so the link is never cut."""
    where = shorten(escape(section), SECTION_CHARS) if section else ""
    label = shorten(page_id.replace("`", ""), PAGE_ID_CHARS)
    link = safe_link(link) if link else ""
    if link and len(link) <= FIELD_VALUE_CHARS - len(where) - QUOTE_CHARS - 2 * PAGE_ID_CHARS:
        page = f"[{escape(label)}]({link})"
    else:  # no link, or one too long to fit: the page id alone
        page = f"`{label}`"
    head = f"{where}\n{page}" if where else page
    if not quote_text:
        return head
    return f"{head}\n> {shorten(escape(quote_text), min(QUOTE_CHARS, FIELD_VALUE_CHARS - len(head) - 3))}"


def citation_field(citation: Citation, page_base_url: str | None) -> dict[str, Any]:
    """One source as an embed field: ``[n] title``, then section, linked page id and quote."""
    link = source_link(citation, citation.quote, page_base_url or None)
    return {
        "name": shorten(f"[{citation.n}] {citation.title}", FIELD_NAME_CHARS),
        "value": _field_value(citation.section, citation.page_id, link, citation.quote),
        "inline": False,
    }


def nearest_fields(answer: Answer, page_base_url: str | None) -> list[dict[str, Any]]:
    """The nearest pages of a "not covered" answer, one field each."""
    return [
        {
            "name": shorten(passage.title or passage.page_id, FIELD_NAME_CHARS),
            "value": _field_value(
                passage.section, passage.page_id, source_link(passage, "", page_base_url or None), ""
            ),
            "inline": False,
        }
        for passage in answer.nearest_pages
    ]


def embed_length(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6,000 per message."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", ""))
    return total + sum(len(item["name"]) + len(item["value"]) for item in embed.get("fields", []))


def embed_messages(title: str, fields: list[dict[str, Any]], colour: int, footer: str = "") -> list[Reply]:
    """The fields in embeds titled ``title``: at most 25 fields an embed, 10 embeds and 6,000
    counted characters a message; more go to further messages."""
    replies: list[Reply] = []
    embeds: list[dict[str, Any]] = []
    used = 0  # counted characters of the message being filled
    current: dict[str, Any] | None = None
    for item in fields:
        size = len(item["name"]) + len(item["value"])
        if current is None or len(current["fields"]) >= EMBED_FIELDS or used + size > EMBED_TOTAL_CHARS:
            current = {"title": title if not (embeds or replies) else f"{title} (continued)", "color": colour}
            if footer:
                current["footer"] = {"text": shorten(footer, FOOTER_CHARS)}
            current["fields"] = []
            head = embed_length(current)
            if embeds and (len(embeds) >= EMBEDS_PER_MESSAGE or used + head + size > EMBED_TOTAL_CHARS):
                replies.append(Reply(embeds=embeds))
                embeds, used = [], 0
            embeds.append(current)
            used += head
        current["fields"].append(item)
        used += size
    if embeds:
        replies.append(Reply(embeds=embeds))
    return replies


def answer_replies(answer: Answer, page_base_url: str | None = None) -> list[Reply]:
    """The messages for ``answer``: quoted question, notice, the cited sentences (split between
    sentences to fit), and the sources (or nearest pages) as embeds on the last message."""
    head = [question_quote(answer.question)]
    if answer.notice:
        head.append("ℹ️ " + shorten(escape(answer.notice), 600))
    if answer.covered and answer.mode == "evidence" and answer.sentences:
        head.append(EVIDENCE_LABEL)
    texts = pack(head, sentence_units(answer))
    if answer.citations:
        footer = f"Checked by {answer.judge}" if answer.judge else ""
        fields = [citation_field(citation, page_base_url) for citation in answer.citations]
        embeds = embed_messages("Sources", fields, SOURCES_COLOUR, footer)
    elif not answer.covered and answer.retrieved:
        embeds = embed_messages("Nearest pages", nearest_fields(answer, page_base_url), NEAREST_COLOUR)
    else:
        embeds = []
    replies = [Reply(content=text) for text in texts]
    if embeds:  # the first sources embed rides on the last text message
        replies[-1].embeds = embeds[0].embeds
        replies.extend(embeds[1:])
    return replies
