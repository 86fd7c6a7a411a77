"""`alignment-qa mcp` driven by the official `mcp` SDK client, over stdio and streamable HTTP.

The server is the real CLI in its own process over a temp index of the sample corpus; the client
lists the tools and the page resource, calls every tool, and sends bad arguments, which must come
back as error results with a message, not a traceback.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app_servers import ENV
from conftest import BuiltIndex, copy_index
from llm_servers import free_port

pytest.importorskip("mcp.server.mcpserver", reason="the mcp extra is not installed (pip install -e .[mcp])")
from mcp import Client, StdioServerParameters

TOOLS = {"ask", "search", "get_page"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, sample_index: BuiltIndex) -> Path:
    """A folder whose default index is a copy of the session's sample index (the servers run there)."""
    return copy_index(sample_index, tmp_path_factory.mktemp("mcp"))


def _stdio(work: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "alignment_qa", "mcp"], cwd=work, env=ENV)


@pytest.fixture(scope="module")
def http_url(workdir: Path) -> Iterator[str]:
    port = free_port()
    log = (workdir / "mcp-http.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "alignment_qa", "mcp", "--http", "--port", str(port)],
        cwd=workdir,
        env=ENV,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except urllib.error.HTTPError:  # up: a bare GET is not an MCP request
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError((workdir / "mcp-http.log").read_text()) from None
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError("the MCP server did not start in 120 s")
    yield url
    process.terminate()
    process.wait(timeout=30)


def _text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def _session(server: Any) -> dict[str, Any]:
    """Everything a client does in one session, gathered for the assertions."""
    seen: dict[str, Any] = {}
    async with Client(server, read_timeout_seconds=120) as client:
        seen["instructions"] = client.instructions
        seen["tools"] = {tool.name: tool for tool in (await client.list_tools()).tools}
        resources = (await client.list_resources()).resources
        seen["resources"] = [str(resource.uri) for resource in resources]
        pages = await client.read_resource("alignment-qa://pages")
        seen["pages"] = json.loads(pages.contents[0].text)  # type: ignore[union-attr]
        seen["ask"] = await client.call_tool("ask", {"question": "What is reward hacking?"})
        seen["follow_up"] = await client.call_tool(
            "ask",
            {
                "question": "And how does it relate to Goodhart's law?",
                "history": [{"role": "user", "content": "What is reward hacking?"}],
            },
        )
        seen["search"] = await client.call_tool("search", {"query": "inner alignment", "k": 3})
        page_id = seen["pages"][0]["page_id"]
        seen["page"] = await client.call_tool("get_page", {"page_id": page_id})
        seen["bad_k"] = await client.call_tool("search", {"query": "inner alignment", "k": 0})
        seen["empty"] = await client.call_tool("ask", {"question": "   "})
        seen["no_page"] = await client.call_tool("get_page", {"page_id": "no/such/page.md"})
        seen["missing"] = await client.call_tool("ask", {})
    return seen


def _check(seen: dict[str, Any]) -> None:
    assert set(seen["tools"]) == TOOLS
    ask_tool = seen["tools"]["ask"]
    assert "indexed AI-alignment pages" in (ask_tool.description or "")
    assert seen["pages"] and {"page_id", "title", "url"} <= set(seen["pages"][0])
    assert f"{len(seen['pages'])} indexed" in ask_tool.description
    assert "alignment-qa://pages" in seen["resources"]
    assert seen["instructions"] and "ask" in seen["instructions"]

    answer = seen["ask"]
    assert not answer.is_error, _text(answer)
    data = answer.structured_content
    assert data["covered"] and data["citations"] and "[1]" in data["text"]
    assert {"n", "page_id", "title", "section", "url", "quote"} <= set(data["citations"][0])
    assert json.loads(_text(answer))["text"] == data["text"]  # the text content carries the same JSON

    follow = seen["follow_up"].structured_content
    assert "reward hacking" in follow["standalone_question"].lower()  # the history made it standalone

    search = seen["search"].structured_content
    assert 1 <= len(search["passages"]) <= 3
    assert {"page_id", "section", "score", "dense_score", "keyword_score", "text"} <= set(search["passages"][0])

    page = seen["page"].structured_content
    assert page["page_id"] == seen["pages"][0]["page_id"] and page["sections"]
    assert all(section["text"] for section in page["sections"])

    for name in ("bad_k", "empty", "no_page", "missing"):
        result = seen[name]
        assert result.is_error, name
        message = _text(result)
        assert message and "Traceback" not in message, message
    assert "no page 'no/such/page.md'" in _text(seen["no_page"])
    assert "question is empty" in _text(seen["empty"])
    assert "k" in _text(seen["bad_k"])


def test_mcp_over_stdio(workdir: Path) -> None:
    _check(asyncio.run(asyncio.wait_for(_session(_stdio(workdir)), timeout=300)))


def test_mcp_over_http(http_url: str) -> None:
    _check(asyncio.run(asyncio.wait_for(_session(http_url), timeout=300)))


def test_mcp_without_index_says_so(tmp_path: Path) -> None:
    async def ask() -> Any:
        async with Client(_stdio(tmp_path), read_timeout_seconds=120) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            return tools, await client.call_tool("search", {"query": "anything"})

    tools, result = asyncio.run(asyncio.wait_for(ask(), timeout=300))
    assert tools == TOOLS
    assert result.is_error and "no index yet" in _text(result)
