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


class _HtmlToText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.meta_pairs: list[tuple[str, str]] = []
        self.title: str | None = None
        self._drop_tag: str | None = None
        self._drop_depth = 0
        self._capture: str | None = None  # "label" | "value" | "title" | "heading"
        self._capture_depth = 0
        self._buffer: list[str] = []
        self._heading_level = 0
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
            self.out.append(f"\n\n{'#' * self._heading_level} {text}\n\n")
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
            if tag in VOID_TAGS:
                return
            self._drop_tag, self._drop_depth = tag, 1
            return
        if tag == "title":
            self._start_capture("title")
        elif tag in HEADING_TAGS and self._capture is None:
            self._heading_level = HEADING_TAGS[tag]
            self._start_capture("heading")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "tr":
            self.out.append("\n")
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
        if tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "tr":
            self.out.append("|\n")
            self._in_row = False
        elif tag in BLOCK_TAGS or tag == "li":
            self.out.append("\n\n" if tag != "li" else "\n")

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._buffer.append(data)
        elif self._drop_tag is None:
            self.out.append(" ".join(data.split()) if self._in_row else data)

    def handle_comment(self, data: str) -> None:
        """Comments are dropped."""


def html_to_text(source: str) -> tuple[str, str | None, list[tuple[str, str]]]:
    """Return ``(text, <title>, meta label/value pairs)`` for HTML or markdown-with-HTML."""
    if "<" not in source and "&" not in source:
        return source, None, []
    parser = _HtmlToText()
    parser.feed(source)
    parser.close()
    if parser._capture is not None:
        parser._finish_capture()
    text = "".join(parser.out)
    return re.sub(r"\n{3,}", "\n\n", text), parser.title, parser.meta_pairs
