"""Clean a page's text and find its structure: title, metadata and sections with anchors.

Input formats: markdown (including mkdocs extras: admonitions, attribute lists, footnotes,
HTML blocks and figures), plain-text wiki exports (bare heading lines, ``-`` list lines) and
HTML. Output: one plain ``CleanPage.text`` whose character offsets citations point into, and
the sections of that text, each with its heading path and link anchor. Noise is removed
(reading-time blocks, ``{: #01}`` attribute lists, images, markup, control and invisible format
characters); content is kept (admonition titles and bodies, figure captions, tables as text,
footnote text). A source URL (front matter,
``> Source:`` header, HTML meta) is kept only when it is one http(s) address with a host
(``url_problem``); otherwise it is dropped with a warning. Chunking is left to ``chunk``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from alignment_qa.ingest.html_text import FENCE, closing_fence, escape_non_html, html_to_text

HEADER_KEYS = ("source", "url", "updated", "categories", "tags", "date", "last updated")


@dataclass(frozen=True)
class Section:
    """A span of the clean text under one heading (the page intro has an empty path)."""

    path: tuple[str, ...]
    anchor: str
    start: int
    end: int


@dataclass
class CleanPage:
    """A page after cleaning: plain text, sections and metadata."""

    title: str
    text: str
    sections: list[Section]
    url: str | None = None
    categories: list[str] = field(default_factory=list)
    updated: str | None = None
    warnings: list[str] = field(default_factory=list)  # metadata that was dropped, and why


@dataclass
class _Block:
    kind: str  # "heading" | "text"
    text: str
    level: int = 0
    anchor: str | None = None


# -- inline markup ----------------------------------------------------------------------------

# bracketed parts exclude "[" as well as "]", and emphasis spans at most 500 characters: otherwise each of 30,000
# "[" or "**a " scans to the end of the line (quadratic time)
_INLINE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"!\[[^\[\]]*\]\([^)]*\)"), ""),  # images
    # attribute lists {: #01} { loading=lazy } {#id} {.class}; not a formula's {t=0}
    (re.compile(r"\{(?::|\s*[#.]|\s+\w+=)[^{}\n]*\}"), ""),
    (re.compile(r"\[\^[^\[\]\s]+\]"), ""),  # footnote references [^1]
    (re.compile(r"\[\[([^\[\]|]+)(?:\|([^\[\]]+))?\]\]"), r"\1"),  # wiki links [[target]]
    (re.compile(r"\[([^\[\]]+)\]\((?:[^()]|\([^()]*\)){0,2000}\)"), r"\1"),  # links [text](url)
    (re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),  # reference links [text][ref]
    (re.compile(r"`([^`]+)`"), r"\1"),  # inline code
    (re.compile(r"\*\*(?=\S)(.{1,500}?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.{1,500}?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=[^\s_])(.{1,500}?)(?<=[^\s_])_(?![\w_])"), r"\1"),
    # bold with a space inside its markers ("which** **can", "**Task: **Indirect"): mkdocs (Python-Markdown) shows
    # any pair of markers in a line as bold; a lone one stays ("**kwargs", "2 ** 3")
    (re.compile(r"\*\*(.{0,500}?)\*\*"), r"\1"),
    # what is left of emphasis with a space inside its markers: "a lower-dimensional *latent space *and then",
    # "Prompt:* *“When" (not "2 * 3", "(*)", "f(*args, **kwargs)", "*.py and *.md")
    (re.compile(r"(?<![\w*(,])\*+([A-Za-z“\"][^*\n]{0,200}?)\s\*+(?=[\w“\"—(])"), r"\1 "),
    (re.compile(r"(?<![\w*(,])\*+([A-Za-z“\"][^*\n]{0,200}?)\s\*+(?=[.,;:!?)])"), r"\1"),
    (re.compile(r"(?<=\S)\*+\s\*+(?=[\w“\"—])"), " "),
    (re.compile(r"(?<![\w*])\*(?=\S)([^*]{1,500}?)(?<=\S)\*(?![\w*])"), r"\1"),  # a pair the bold rules left
]


def clean_inline(text: str) -> str:
    """Remove inline markdown markup, keeping the visible words."""
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def slugify(text: str) -> str:
    """Anchor for a heading, as mkdocs' default ``toc`` extension makes it."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


# -- metadata ---------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_HEADER_LINE = re.compile(r"^\s*>\s*([A-Za-z][A-Za-z ]{0,20}):\s*(.+?)\s*$")


_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f<>\[\]\"`{}|\\^]")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a page's source link (one http(s) address with a host), or None."""
    bad = _URL_FORBIDDEN.search(url)
    if bad:
        what = "a space" if bad.group().isspace() else f"the character {bad.group()!r}"
        return f"it contains {what}; a source URL must be one http(s) address"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        return f"it is not a valid address ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "it is not an http(s) address"
    if not host:
        return "it has no host"
    if url.count("(") != url.count(")"):
        return "its parentheses are unbalanced"
    return None


def _source_url(meta: dict[str, str], warnings: list[str]) -> str | None:
    url = (meta.get("source") or meta.get("url") or "").strip()
    if url.startswith("<") and url.endswith(">"):  # a Markdown autolink, <https://...>
        url = url[1:-1].strip()
    if not url:
        return None
    problem = url_problem(url)
    if problem:
        shown = url if len(url) <= 80 else url[:79] + "…"
        warnings.append(f"source URL dropped: {problem}: {shown!r}")
        return None
    return url


def _split_list(value: str) -> list[str]:
    value = value.strip().strip("[]")
    return [item.strip().strip("'\"") for item in value.split(",") if item.strip().strip("'\"")]


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    last_key = None
    for line in match.group(1).splitlines():
        item = re.match(r"^([A-Za-z_][\w -]*):\s*(.*)$", line)
        if item:
            last_key = item.group(1).strip().lower()
            meta[last_key] = item.group(2).strip().strip("'\"")
        elif last_key and re.match(r"^\s*-\s+", line):  # YAML block list
            meta[last_key] = ", ".join(filter(None, [meta[last_key], line.strip()[1:].strip()]))
    return meta, text[match.end() :]


def _header_block(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Parse and remove a ``> Source: URL`` / ``> Updated:`` block near the top of a page."""
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].lstrip().startswith("#")):
        start += 1
        if start > 3:
            return {}, lines
    end = start
    while end < len(lines) and lines[end].lstrip().startswith(">"):
        end += 1
    meta: dict[str, str] = {}
    for line in lines[start:end]:
        match = _HEADER_LINE.match(line)
        if match and match.group(1).strip().lower() in HEADER_KEYS:
            meta[match.group(1).strip().lower()] = match.group(2)
    if len(meta) < 2:  # a quote that merely mentions "Source:" is content, not a header
        return {}, lines
    return meta, lines[:start] + lines[end:]


# -- plain-text wiki export ---------------------------------------------------------------------


def _looks_like_heading(line: str, previous: str, following: str) -> bool:
    words = line.split()
    return (
        0 < len(words) <= 8
        and len(line) <= 60
        and line[0].isupper()
        and line[-1] not in ".:;,!?"
        and not line.startswith("-")
        and " — " not in line
        and previous.strip() != "-"
        and (not previous.strip() or previous.rstrip()[-1] in '.!?:;)"”’' or _is_heading_line(previous))
        and bool(following.strip())
        and not following.strip()[0].islower()  # a wrapped sentence goes on in lower case
    )


def _is_heading_line(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 8 and line.strip()[-1] not in ".:;,!?"


def text_export_to_markdown(text: str) -> str:
    """Give a plain-text wiki export markdown structure: title, ``##`` headings, list items."""
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    seen_title = False
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        following = next((item for item in lines[index + 1 :] if item.strip()), "")
        previous = lines[index - 1] if index else ""
        if not line:
            out.append("")
        elif not seen_title:
            seen_title = True
            out.extend([f"# {line}"] if _is_heading_line(line) and len(line) <= 120 else ["", line, ""])
        elif line == "-" or line in ("•", "*"):
            # an item marker alone on its line: the item text is the next line
            nxt = index + 1
            while nxt < len(lines) and not lines[nxt].strip():
                nxt += 1
            if nxt < len(lines):
                out.append(f"- {lines[nxt].strip()}")
                index = nxt
        elif line.startswith(("- ", "• ", "* ")):
            out.append(f"- {line[2:].strip()}")
        elif _looks_like_heading(line, previous, following):
            out.extend(["", f"## {line}", ""])
        else:
            out.extend(["", line, ""])
        index += 1
    return "\n".join(out)


# -- markdown structure ---------------------------------------------------------------------------

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*$")
_HEADING_ATTR = re.compile(r"\{\s*:?\s*#([\w.-]+)[^}]*\}\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_DEFINITION_TITLE = re.compile(r"^Definitions?\s*:\s*(\S.*)$", re.I)
_ADMONITION = re.compile(r'^(\s*)(?:!!!|\?\?\?\+?)\s*([\w-]+)?(?:\s+"([^"]*)")?\s*$')
_FOOTNOTE = re.compile(r"^\[\^([^\]]+)\]:\s*(.*)$")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])(?:\s+(.*)|\s*$)")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^\s*>\s?(.*)$")


def _indent_width(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip())


def _dedent(lines: list[str], width: int) -> list[str]:
    result = []
    for line in lines:
        expanded = line.expandtabs(4)
        cut = min(width, len(expanded) - len(expanded.lstrip()))
        result.append(expanded[cut:])
    return result


# a paragraph's bold lead-in with no stop of its own, then a capitalised sentence ("**The Road Ahead** The …"): read
# as one, the sentence would start with the heading's words; not one ending in ".", "?" or ":", nor a bold claim
# followed by its citation ("**There are various criticisms …** (Wasil, 2022)")
_BOLD_LEAD = re.compile(r"^\*\*([^*\n]{3,120}?[^\s.?!:;,*])\*\*\s+(?=[A-Z“\"])")


def _table_lines(rows: list[str]) -> list[str]:
    cells = [
        [clean_inline(cell.replace("\\|", "|")) for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]
        for row in rows
        if not _TABLE_RULE.match(row)
    ]
    has_header = len(rows) > 1 and bool(_TABLE_RULE.match(rows[1]))
    if has_header and cells and all(len(row) == 2 for row in cells):
        return [f"{key}: {value}" for key, value in cells[1:] if key or value]
    return [" | ".join(cell for cell in row if cell) for row in cells if any(row)]


def _parse_markdown(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []  # lines of the text block being built (one per list item/paragraph)
    paragraph_open = False

    def flush() -> None:
        nonlocal paragraph_open
        text = "\n".join(filter(None, (clean_inline(line) for line in current)))
        if text:
            blocks.append(_Block("text", text))
        current.clear()
        paragraph_open = False

    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        fence_match = FENCE.match(line)
        closing = closing_fence(lines, index, fence_match.group(1)) if fence_match else None
        if closing is not None:
            flush()
            code = "\n".join(item.rstrip() for item in lines[index + 1 : closing] if item.strip())
            if code:
                blocks.append(_Block("text", code))
            index = closing + 1
            continue
        setext = _SETEXT.match(lines[index + 1]) if index + 1 < len(lines) else None
        if setext and stripped and not current and not _LIST_ITEM.match(stripped) and not _TABLE_ROW.match(line):
            flush()
            blocks.append(_Block("heading", clean_inline(stripped), 1 if setext.group(1)[0] == "=" else 2))
            index += 2
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            raw = heading.group(2).rstrip("#").rstrip()
            attr = _HEADING_ATTR.search(raw)
            title = clean_inline(raw[: attr.start()] if attr else raw)
            if title:
                blocks.append(_Block("heading", title, len(heading.group(1)), attr.group(1) if attr else None))
            index += 1
            continue
        admonition = _ADMONITION.match(line)
        if admonition:
            flush()
            indent = _indent_width(line)
            kind, label = admonition.group(2) or "note", admonition.group(3)
            title = label if label else kind.capitalize()
            body_lines = []
            index += 1
            while index < len(lines) and (not lines[index].strip() or _indent_width(lines[index]) > indent):
                body_lines.append(lines[index])
                index += 1
            body = _parse_markdown(_dedent(body_lines, indent + 4))
            if kind == "quote" and label and any(block.kind == "text" for block in body):
                title = f"Quote: {label}"  # an empty quote box says nothing, and what follows it is not its words
            shown = clean_inline(title)
            term = _DEFINITION_TITLE.match(shown)
            if term and body and body[0].kind == "text":
                # "Definition: Corrigibility" over "The property of an AI system that …": the definition names its
                # term, so that it reads (and is found) on its own: "Corrigibility: The property of …"
                body[0] = replace(body[0], text=f"{term.group(1)}: {body[0].text}")
            else:
                blocks.append(_Block("text", shown))
            blocks.extend(body)
            continue
        footnote = _FOOTNOTE.match(stripped)
        if footnote and not line.startswith(" "):
            flush()
            current.append(f"Footnote {footnote.group(1)}: {footnote.group(2)}")
            paragraph_open = True
            index += 1
            continue
        if _TABLE_ROW.match(line):
            flush()
            rows = []
            while index < len(lines) and _TABLE_ROW.match(lines[index]):
                rows.append(lines[index])
                index += 1
            current.extend(_table_lines(rows))
            flush()
            continue
        if not stripped or _RULE.match(line):
            flush()
            index += 1
            continue
        quote = _QUOTE.match(line)
        if quote:
            stripped = quote.group(1).strip()
            if not stripped:
                flush()
                index += 1
                continue
        item = _LIST_ITEM.match(stripped)
        if item and not quote:
            marker = item.group(1)
            current.append(f"{'-' if marker in '-*+' else marker} {item.group(2) or ''}".rstrip())
            paragraph_open = True
        elif paragraph_open and current:
            current[-1] = f"{current[-1]} {stripped}"
        else:
            lead = _BOLD_LEAD.match(stripped)
            if lead:  # "**Reward hacking in feedback methods** While …": the lead-in is a heading on a line of its own
                current.extend([lead.group(1), stripped[lead.end() :]])
            else:
                current.append(stripped)
            paragraph_open = True
        index += 1
    flush()
    return blocks


# -- assembling the page ------------------------------------------------------------------------


def _assemble(blocks: list[_Block], fallback_title: str) -> tuple[str, str, list[Section]]:
    """Join blocks into the clean text and compute the sections' spans and anchors."""
    title = next((block.text for block in blocks if block.kind == "heading" and block.level == 1), None)
    title = title or fallback_title
    parts: list[str] = []
    offset = 0
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    used_anchors: dict[str, int] = {}
    current_path: tuple[str, ...] = ()
    current_anchor = ""
    body_start: int | None = None
    title_seen = False

    def close(end: int) -> None:
        if body_start is not None and end > body_start:
            sections.append(Section(current_path, current_anchor, body_start, end))

    for block in blocks:
        repeated_title = block.kind == "heading" and block.level == 1 and block.text == title
        if repeated_title and title_seen:
            continue  # wiki exports repeat the title heading; the intro section goes on
        if parts:
            parts.append("\n\n")
            offset += 2
        if block.kind == "heading":
            close(offset - 2 if parts else offset)
            body_start = None
            if repeated_title:
                title_seen = True
                current_path, current_anchor = (), ""
            else:
                while stack and stack[-1][0] >= block.level:
                    stack.pop()
                stack.append((block.level, block.text))
                current_path = tuple(text for _, text in stack)
                anchor = block.anchor or slugify(block.text)
                count = used_anchors.get(anchor, 0)
                used_anchors[anchor] = count + 1
                current_anchor = anchor if count == 0 else f"{anchor}_{count}"
        else:
            if body_start is None:
                body_start = offset
        parts.append(block.text)
        offset += len(block.text)
    close(offset)
    return title, "".join(parts), sections


# control characters (a terminal escape "\x1b[31m", NUL) and invisible format characters (zero-width spaces, bidi
# overrides, soft hyphens): a page's text reaches terminals and search, and none of them is a word
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_LINE_BREAKS = re.compile(r"[\x0b\x0c\x85\u2028\u2029]")  # vertical tab, form feed (a PDF page break), NEL


def clean_page(text: str, file_name: str, suffix: str) -> CleanPage:
    """Clean one page. ``suffix`` picks the format (``.md``, ``.txt``, ``.html``...)."""
    text = _LINE_BREAKS.sub("\n", _INVISIBLE.sub("", text))
    meta, body = _front_matter(text)
    html_title: str | None = None
    meta_pairs: list[tuple[str, str]] = []
    if suffix == ".txt":
        body = text_export_to_markdown(body)
    if suffix not in (".html", ".htm"):
        body = escape_non_html(body)
    body, html_title, meta_pairs = html_to_text(body)
    for label, value in meta_pairs:
        meta.setdefault(label.strip().lower(), value)
    header, lines = _header_block(body.split("\n"))
    for key, value in header.items():
        meta.setdefault(key, value)
    blocks = _parse_markdown(lines)
    fallback = meta.get("title") or html_title or file_name.rsplit(".", 1)[0]
    title, clean_text, sections = _assemble(blocks, clean_inline(fallback))
    categories = _split_list(meta.get("categories") or meta.get("tags") or "")
    updated = meta.get("updated") or meta.get("last updated") or meta.get("date")
    warnings: list[str] = []
    return CleanPage(
        title=title,
        text=clean_text,
        sections=sections,
        url=_source_url(meta, warnings),
        categories=categories,
        updated=updated,
        warnings=warnings,
    )
