"""Turn HTML, or markdown with HTML blocks in it, into markdown-like plain text.

Text outside tags passes through unchanged (so markdown survives), tags are removed, headings
become ``#`` lines, list items ``-`` lines and table rows ``| a | b |`` lines. Whole elements
that are page furniture are dropped: scripts, iframes, buttons, images, and mkdocs blocks such
as ``<div class="section-meta">`` (reading time) or the audio player. Label/value pairs found in
mkdocs meta blocks (``Last Updated``, ``Authors``) are kept as metadata. Figure captions, table
cells and every other text are kept. This is not a general HTML renderer: no CSS, no layout.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "button",
        "audio",
        "video",
        "svg",
        "noscript",
        "template",
        "select",
        "nav",
        "object",
        "canvas",
        "math",
    }
)
DROP_CLASSES = frozenset(
    {
        "section-meta",
        "chapter-meta",
        "meta-grid",
        "action-buttons",
        "atlas-audio-player",
        "errors-toggle-container",
        "headerlink",
    }
)
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "tab"}
)
BLOCK_TAGS = frozenset(
    {
        "div",
        "p",
        "figure",
        "figcaption",
        "section",
        "article",
        "aside",
        "ul",
        "ol",
        "table",
        "thead",
        "tbody",
        "blockquote",
        "pre",
        "header",
        "footer",
        "main",
        "details",
        "summary",
        "dl",
        "dt",
        "dd",
        "body",
        "html",
        "center",
    }
)
HEADING_TAGS = {f"h{level}": level for level in range(1, 7)}
INLINE_TAGS = frozenset(
    {
        "a",
        "b",
        "i",
        "em",
        "strong",
        "span",
        "code",
        "sub",
        "sup",
        "small",
        "u",
        "s",
        "mark",
        "abbr",
        "cite",
        "q",
        "kbd",
        "li",
        "tr",
        "td",
        "th",
        "title",
        "head",
        "font",
        "del",
        "ins",
        "label",
        "time",
        "picture",
    }
)
KNOWN_TAGS = DROP_TAGS | VOID_TAGS | BLOCK_TAGS | INLINE_TAGS | frozenset(HEADING_TAGS)
_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)(?=[\s>/])")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def closing_fence(lines: list[str], start: int, fence: str) -> int | None:
    """Index of the line closing the fence opened at ``start``; ``None`` if it is never closed.

    An unclosed fence is not code: callers treat its line as ordinary text.
    """
    for index in range(start + 1, len(lines)):
        if lines[index].strip().startswith(fence[0] * len(fence)):
            return index
    return None


def _closed_tags(source: str) -> frozenset[str]:
    """Names of the tags that have a closing tag somewhere in ``source``."""
    return frozenset(tag.lower() for tag in re.findall(r"</\s*([A-Za-z][A-Za-z0-9]*)", source))


def escape_non_html(source: str) -> str:
    """Escape every ``<`` that does not open a known HTML tag or comment, and all of them inside
    code fences and inline code, so that ``n<N``, ``Vec<T>`` or ``<https://…>`` stay text."""
    unclosed_drops = (DROP_TAGS | {"head"}) - _closed_tags(source)  # keep what follows them as text
    lines = source.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        closing = closing_fence(lines, index, match.group(1)) if match else None
        if closing is not None:
            out.extend(line.replace("<", "&lt;") for line in lines[index : closing + 1])
            index = closing + 1
            continue
        parts = re.split(r"(`[^`]*`)", lines[index])
        for position, part in enumerate(parts):
            parts[position] = part.replace("<", "&lt;") if position % 2 else _escape_unknown_tags(part, unclosed_drops)
        out.append("".join(parts))
        index += 1
    return "\n".join(out)


def _escape_unknown_tags(text: str, unclosed_drops: frozenset[str]) -> str:
    pieces = text.split("<")
    result = [pieces[0]]
    for piece in pieces[1:]:
        tag = _TAG_START.match("<" + piece)
        name = tag.group(2).lower() if tag else ""
        known = piece.startswith("!--") or (name in KNOWN_TAGS and name not in unclosed_drops)
        result.append(("<" if known else "&lt;") + piece)
    return "".join(result)


class _HtmlToText(HTMLParser):
    def __init__(self, closed_tags: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self._closed_tags = closed_tags
        self.out: list[str] = []
        self.meta_pairs: list[tuple[str, str]] = []
        self.title: str | None = None
        self._drop_tag: str | None = None
        self._drop_depth = 0
        self._capture: str | None = None  # "label" | "value" | "title" | "heading"
        self._capture_depth = 0
        self._buffer: list[str] = []
        self._heading_level = 0
        self._heading_id: str | None = None
        self._pending_label: str | None = None
        self._in_row = False

    # -- helpers -----------------------------------------------------------------------
    def _start_capture(self, kind: str) -> None:
        self._capture, self._capture_depth, self._buffer = kind, 1, []

    def _finish_capture(self) -> None:
        text = " ".join("".join(self._buffer).split())
        kind, self._capture = self._capture, None
        if kind == "title":
            self.title = self.title or text
        elif kind == "heading" and text:
            anchor = f" {{: #{self._heading_id}}}" if self._heading_id else ""
            self.out.append(f"\n\n{'#' * self._heading_level} {text}{anchor}\n\n")
        elif kind == "label":
            self._pending_label = text
        elif kind == "value" and self._pending_label:
            self.meta_pairs.append((self._pending_label, text))
            self._pending_label = None

    # -- parser callbacks --------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        if self._capture is not None and tag not in VOID_TAGS:
            self._capture_depth += 1
        if self._drop_tag is not None:
            if tag == self._drop_tag:
                self._drop_depth += 1
            if self._capture is None and tag == "title":
                self._start_capture("title")
            elif self._capture is None and "meta-label" in classes:
                self._start_capture("label")
            elif self._capture is None and "meta-value" in classes:
                self._start_capture("value")
            return
        if tag in DROP_TAGS or classes & DROP_CLASSES or tag == "head":
            if tag in VOID_TAGS or tag not in self._closed_tags:
                return  # never closed: dropping it would drop the rest of the page
            self._drop_tag, self._drop_depth = tag, 1
            return
        if tag == "title":
            self._start_capture("title")
        elif tag in HEADING_TAGS and self._capture is None:
            self._heading_level = HEADING_TAGS[tag]
            self._heading_id = dict(attrs).get("id")
            self._start_capture("heading")
        elif tag == "pre":
            self.out.append("\n\n```\n")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "tr":
            self.out.append("\n" if not self._in_row else "|\n")
            self._in_row = True
        elif tag in ("td", "th"):
            self.out.append("| ")
        elif tag in BLOCK_TAGS or tag == "hr":
            self.out.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._capture is not None:
            self._capture_depth -= 1
            if self._capture_depth <= 0:
                self._finish_capture()
                if self._drop_tag is None:
                    return
        if self._drop_tag is not None:
            if tag == self._drop_tag:
                self._drop_depth -= 1
                if self._drop_depth == 0:
                    self._drop_tag = None
                    self.out.append("\n\n")
            return
        if tag == "pre":
            self.out.append("\n```\n\n")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "table":
            self._in_row = False
            self.out.append("\n\n")
        elif tag == "tr":
            self.out.append("|\n")
            self._in_row = False
        elif tag in BLOCK_TAGS or tag == "li":
            self.out.append("\n\n" if tag != "li" else "\n")

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            if self._drop_tag is None or self._capture in ("label", "value", "title"):
                self._buffer.append(data)
        elif self._drop_tag is None:
            self.out.append(re.sub(r"\s+", " ", data) if self._in_row else data)

    def handle_comment(self, data: str) -> None:
        """Comments are dropped."""


# a "<" with no ">" (nor a quote, which may hold one) before the next "<" opens nothing: text. html.parser
# rescans to the end for each one, so 20,000 of them ("<a <a <a …") took a minute. A comment opener is left alone
# ("<!-- <div>draft</div> -->" is one comment)
_UNTERMINATED = re.compile(r"<(?!!--)(?=[^<>\"']*(?:<|\Z))")


def _escape_unclosed_comments(source: str) -> str:
    """``source`` with the "<!--" that no "-->" closes escaped, in one pass: html.parser looks for the end of each
    one to the end of the text (20,000 of them took seconds, a 5 MB page hours)."""
    parts: list[str] = []
    at = 0
    while (start := source.find("<!--", at)) != -1:
        end = source.find("-->", start + 4)
        if end == -1:  # no comment closes from here on: the rest is text
            parts.append(source[at:start])
            parts.append(source[start:].replace("<!--", "&lt;!--"))
            return "".join(parts)
        parts.append(source[at : end + 3])
        at = end + 3
    parts.append(source[at:])
    return "".join(parts)


def html_to_text(source: str) -> tuple[str, str | None, list[tuple[str, str]]]:
    """Return ``(text, <title>, meta label/value pairs)`` for HTML or markdown-with-HTML."""
    if "<" not in source and "&" not in source:
        return source, None, []
    source = _UNTERMINATED.sub("&lt;", _escape_unclosed_comments(source))
    parser = _HtmlToText(_closed_tags(source))
    try:
        parser.feed(source)
        parser.close()
    except AssertionError:  # html.parser gives up on some malformed markup: keep the text as it is
        return source, None, []
    if parser._capture is not None:
        parser._finish_capture()
    text = "".join(parser.out)
    return re.sub(r"\n{3,}", "\n\n", text), parser.title, parser.meta_pairs
