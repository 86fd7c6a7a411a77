"""The Model Context Protocol server (``alignment-qa mcp``), on the official ``mcp`` SDK (extra ``mcp``).

Tools: ``ask(question, history?)`` returns the ``Answer`` JSON every surface gets; ``search(query,
k?)`` the retrieved passages with page, section and scores; ``get_page(page_id)`` a page's cleaned
text by section. The resource ``alignment-qa://pages`` lists the indexed pages. Descriptions name
what the corpus holds (page count, a few titles), so an agent knows when to call the tools. A bad
argument or a missing index is an error result with a message (``isError``), never a traceback.
Transport: stdio by default, or streamable HTTP on 127.0.0.1 (``/mcp``). No login on HTTP: it
binds this machine only. Building the assistant is left to ``cli``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import FunctionResource
from pydantic import BaseModel, Field

from alignment_qa import __version__
from alignment_qa.engine.answer import Answer, RetrievedPassage
from alignment_qa.errors import AlignmentQAError

if TYPE_CHECKING:
    from alignment_qa.engine.assistant import Assistant

PAGES_URI = "alignment-qa://pages"
SAMPLE_TITLES = 6
NO_INDEX = "there is no index yet: add pages with `alignment-qa ingest PATH` and restart the MCP server"


class Turn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class SearchResult(BaseModel):
    """The passages retrieved for a query, best first."""

    query: str
    passages: list[RetrievedPassage]


class PageSection(BaseModel):
    """One section of a page: its path ('Page > Section'), anchor and cleaned text."""

    section: str
    anchor: str = ""
    text: str


class PageText(BaseModel):
    """A page's cleaned text, section by section, as indexed."""

    page_id: str
    title: str
    url: str = ""
    sections: list[PageSection]


class PageInfo(BaseModel):
    """An indexed page."""

    page_id: str
    title: str
    url: str = ""


def list_pages(assistant: Assistant) -> list[PageInfo]:
    """Every indexed page (id, title, URL), sorted by id."""
    states = assistant.page_states()
    return [
        PageInfo(page_id=page_id, title=states[page_id].title or page_id, url=states[page_id].url)
        for page_id in sorted(states)
    ]


def page_text(assistant: Assistant, page_id: str) -> PageText | None:
    """The page's chunks joined back into its sections (``None`` when it is not indexed)."""
    chunks = assistant.page(page_id)
    if not chunks:
        return None
    sections: list[PageSection] = []
    for text, meta in chunks:
        section = str(meta.get("section", ""))
        if sections and sections[-1].section == section:
            sections[-1].text += "\n\n" + text
        else:
            sections.append(PageSection(section=section, anchor=str(meta.get("anchor", "")), text=text))
    first = chunks[0][1]
    return PageText(
        page_id=page_id, title=str(first.get("title", page_id)), url=str(first.get("url", "") or ""), sections=sections
    )


def describe_corpus(pages: list[PageInfo]) -> str:
    """'12 indexed pages on AI alignment, e.g. "RLHF", "Inner alignment", ...'."""
    if not pages:
        return "The index is empty: there are no pages yet."
    titles = ", ".join(f'"{page.title}"' for page in pages[:SAMPLE_TITLES])
    more = ", ..." if len(pages) > SAMPLE_TITLES else ""
    return f"The corpus is {len(pages)} indexed AI-alignment pages, e.g. {titles}{more}."


def build_server(assistant: Assistant | None) -> MCPServer:
    """The MCP server around ``assistant`` (``None``: every tool says there is no index yet)."""
    pages = list_pages(assistant) if assistant is not None else []
    corpus = describe_corpus(pages) if assistant is not None else "There is no index yet."
    server: MCPServer = MCPServer(
        "alignment-qa",
        version=__version__,
        instructions=(
            f"Citation-grounded answers from a local corpus of AI-alignment pages. {corpus} Use `ask` for an answer "
            "whose every sentence cites a checked source, `search` for the raw passages, `get_page` to read a page."
        ),
        log_level="WARNING",
    )

    def need() -> Assistant:
        if assistant is None:
            raise ToolError(NO_INDEX)
        return assistant

    def ask(
        question: Annotated[str, Field(min_length=1, description="The question, in plain words.")],
        history: Annotated[
            list[Turn] | None, Field(max_length=50, description="Earlier turns, oldest first, for follow-ups.")
        ] = None,
    ) -> Answer:
        turns = [turn.model_dump() for turn in history or []]
        try:
            return need().ask(question, turns)
        except AlignmentQAError as exc:
            raise ToolError(str(exc)) from exc

    def search(
        query: Annotated[str, Field(min_length=1, description="What to look for.")],
        k: Annotated[int, Field(ge=1, le=50, description="Number of passages.")] = 5,
    ) -> SearchResult:
        try:
            return SearchResult(query=query, passages=need().search(query, k))
        except AlignmentQAError as exc:
            raise ToolError(str(exc)) from exc

    def get_page(
        page_id: Annotated[str, Field(min_length=1, description="A page id, as in citations or the page list.")],
    ) -> PageText:
        try:
            found = page_text(need(), page_id)
        except AlignmentQAError as exc:
            raise ToolError(str(exc)) from exc
        if found is None:
            raise ToolError(f"no page '{page_id[:200]}' in the index; the page list is the resource {PAGES_URI}")
        return found

    server.add_tool(
        ask,
        description=(
            "Answer a question about AI alignment from the indexed pages, with numbered citations whose quotes "
            "were checked against the sources; says so (and names the nearest pages) when the pages do not "
            f"cover it. Returns the Answer JSON: text with [n] markers, citations, per-sentence support. {corpus}"
        ),
    )
    server.add_tool(
        search,
        description=f"Hybrid search (embeddings + BM25) over the indexed AI-alignment pages: the passages with page, "
        f"section and scores, best first, without writing an answer. {corpus}",
    )
    server.add_tool(
        get_page,
        description="The cleaned text of one indexed page, section by section (page ids appear in citations, "
        f"search results and the {PAGES_URI} resource).",
    )

    def page_list() -> str:
        return json.dumps([page.model_dump() for page in (list_pages(assistant) if assistant else [])], indent=1)

    server.add_resource(
        FunctionResource(
            uri=PAGES_URI,
            name="pages",
            title="Indexed pages",
            description=f"Every indexed page: page_id, title, url. {corpus}",
            mime_type="application/json",
            fn=page_list,
        )
    )
    return server


def run(assistant: Assistant | None, http: bool = False, port: int = 8765) -> None:
    """Serve over stdio, or streamable HTTP on 127.0.0.1:``port`` at ``/mcp``; returns when stopped."""
    server = build_server(assistant)
    if http:
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run("stdio")
