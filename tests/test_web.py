"""The chat page and the HTTP API: the API in-process, the page served for real and driven by a real browser.

`alignment-qa serve` runs in its own process over a temp index of the sample corpus plus a page
whose title is an HTML injection attempt; the browser is Debian's chromium driven by Playwright
(the screenshot lands in test-output/). The API tests call the same app (`create_app`) over the
same index in-process through Starlette's `TestClient`; the empty server that indexes from the
page is served by uvicorn in a thread of this process.
"""

from __future__ import annotations

import base64
import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignment_qa.engine.assistant import Assistant
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import ingest
from alignment_qa.settings import Settings, load_settings
from app_servers import ENV, start_serve
from conftest import REPO, SAMPLE_CORPUS, CliRunner, serving_app

pytest.importorskip("gradio", reason="the ui extra is not installed (pip install -e .[ui])")
from fastapi.testclient import TestClient

from alignment_qa.app.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
XSS_TITLE = "<img src=x onerror=alert(1)> Zorblax safety audits"
OUTPUT = REPO / "test-output"
LOCAL = "http://127.0.0.1"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def _basic(auth: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


def _settings(work: Path, **overrides: object) -> Settings:
    return load_settings(None, {"store.data_dir": str(work / ".alignment-qa"), **overrides}).settings


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    work = tmp_path_factory.mktemp("web")
    corpus = work / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    # tags are stripped at ingest, but an escaped tag becomes literal markup in the title
    escaped = XSS_TITLE.replace("<", "&lt;").replace(">", "&gt;")
    (corpus / "xss.md").write_text(f"# {escaped}\n\nZorblax safety audits check frontier models every week.\n")
    settings = _settings(work)
    ingest([corpus], settings, embedder, ChunkStore(settings.store))
    return work


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[str]:
    """The one real `alignment-qa serve` process: the command's wiring, for the browser."""
    process, url = start_serve(workdir, ENV)
    yield url
    process.terminate()
    process.wait(timeout=30)


def _client(workdir: Path, embedder: Embedder, **serve: object) -> TestClient:
    overrides = {f"serve.{key}": value for key, value in serve.items()}
    settings = _settings(workdir, **{"serve.feedback_db": str(workdir / "api-feedback.sqlite"), **overrides})
    return TestClient(create_app(Assistant.open(settings, embedder=embedder), settings, embedder), base_url=LOCAL)


@pytest.fixture(scope="module")
def api(workdir: Path, embedder: Embedder) -> Iterator[TestClient]:
    with _client(workdir, embedder) as client:
        yield client


def test_api_answers_with_citations(api: TestClient) -> None:
    response = api.post("/api/ask", json={"question": "Is RLHF an inner alignment fix?", "top_k": 4})
    assert response.status_code == 200
    answer = response.json()
    assert answer["citations"] and len(answer["retrieved"]) <= 4
    assert {"text", "mode", "notice", "citations", "sentences", "retrieved", "timings_ms"} <= set(answer)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"question": "  "}, "the question is empty"),
        ({"question": ""}, "the question is empty"),  # the same message as for blanks
        ({"question": "x" * 2001}, "2001"),
        ({"question": "x", "top_k": 0}, "top_k"),
        ({"question": "x", "mode": "magic"}, "mode"),
        ({}, "question"),
    ],
)
def test_api_validation_is_422_with_a_message(api: TestClient, body: dict[str, object], fragment: str) -> None:
    response = api.post("/api/ask", json=body)
    assert response.status_code == 422 and fragment in response.text


def test_api_stream_health_stats_and_schema(api: TestClient) -> None:
    response = api.post("/api/ask/stream", json={"question": "What is Goodhart's law?"})
    assert response.status_code == 200
    events = [block for block in response.text.split("\n\n") if block.strip()]
    assert events[0].startswith("event: status") and events[-1].startswith("event: answer")
    final = json.loads(events[-1].split("data: ", 1)[1])
    assert final["citations"][0]["page_id"] == "wiki/goodharts-law.md"
    assert api.get("/api/health").json()["index"] is True
    assert api.get("/api/stats").json()["pages"] == 8
    assert "/api/ask" in api.get("/openapi.json").json()["paths"]
    assert api.get("/docs").status_code == 404  # Swagger's page would load from a CDN


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install -y chromium)")
def test_chat_page_in_a_real_browser(server: str, workdir: Path, cli: CliRunner) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    OUTPUT.mkdir(exist_ok=True)
    dialogs: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server, timeout=60_000)
        page.locator("#aqa-status").wait_for(timeout=60_000)
        assert "8 pages" in page.locator("#aqa-status").inner_text()

        page.locator("#aqa-input textarea").fill("Is RLHF an inner alignment fix?")
        page.locator("#aqa-ask").click()
        first_cite = page.locator("#aqa-chat a.aqa-cite").first
        first_cite.wait_for(timeout=60_000)
        first_cite.click()
        card = page.locator("#aqa-sources .aqa-source.aqa-active")
        card.wait_for(timeout=10_000)
        assert card.get_attribute("id") == "source-1-1"  # answer in message 1, source [1]
        cited_title = card.locator(".aqa-source-head a").inner_text()
        assert cited_title in {"Outer and inner alignment", "6.2 Learning from human feedback"}
        page.locator('#aqa-chat button[aria-label="Like"]').first.click()
        page.get_by_text("feedback saved").wait_for(timeout=10_000)

        page.locator("#aqa-input textarea").fill("and what about goal misgeneralization?")
        page.locator("#aqa-ask").click()
        page.wait_for_function(
            "document.querySelectorAll('#aqa-chat .aqa-label, #aqa-chat .aqa-notice').length >= 2 && "
            "!document.querySelector('#aqa-chat').innerText.includes('Searching the pages')",
            timeout=60_000,
        )
        assert "goal" in page.locator("#aqa-sources").inner_text().lower()
        page.screenshot(path=str(OUTPUT / "chat.png"), full_page=True)
        # a citation of the first answer shows and highlights the first answer's card, not the second's
        page.locator("#aqa-chat a.aqa-cite").first.click()
        page.locator("#aqa-sources #source-1-1.aqa-active").wait_for(timeout=10_000)
        assert page.locator("#aqa-sources .aqa-source.aqa-active").count() == 1
        assert page.locator("#aqa-sources .aqa-source-head a").first.inner_text() == cited_title

        # Markdown in a question is not rendered: a javascript: link stays text
        page.locator("#aqa-input textarea").fill("[click me](javascript:alert(1)) what is reward hacking?")
        page.locator("#aqa-ask").click()
        page.wait_for_function(
            "document.querySelectorAll('#aqa-chat .aqa-label, #aqa-chat .aqa-notice, #aqa-chat .aqa-not-covered')"
            ".length >= 3 && "
            "!document.querySelector('#aqa-chat').innerText.includes('Searching the pages')",
            timeout=60_000,
        )
        assert "[click me](javascript:alert(1))" in page.locator("#aqa-chat").inner_text()
        assert page.locator('#aqa-chat a[href^="javascript"]').count() == 0

        page.locator("#aqa-input textarea").fill("What do Zorblax safety audits check?")
        page.locator("#aqa-ask").click()
        page.get_by_text("onerror=alert(1)", exact=False).first.wait_for(timeout=60_000)
        assert page.locator("#aqa-sources img").count() == 0  # the title is text, not an element
        browser.close()
    assert dialogs == []
    exported = workdir / "feedback.jsonl"
    result = cli("feedback", "export", str(exported), cwd=workdir)
    assert result.returncode == 0, result.stderr
    kinds = [json.loads(line)["kind"] for line in exported.read_text().splitlines()]
    assert "up" in kinds


def test_api_feedback(api: TestClient) -> None:
    answer = api.post("/api/ask", json={"question": "What is Goodhart's law?"}).json()
    response = api.post("/api/feedback", json={"kind": "up", "answer": answer})
    assert response.status_code == 200 and response.json()["id"] >= 1
    response = api.post("/api/feedback", json={"kind": "wrong_source", "answer": answer, "citation": 99})
    assert response.status_code == 422 and "no citation [99]" in response.text
    response = api.post("/api/feedback", json={"kind": "wrong_source", "answer": answer})
    assert response.status_code == 422 and "names the citation it disputes" in response.text
    response = api.post("/api/feedback", json={"kind": "up", "answer": {"text": 1}})
    assert response.status_code == 422 and "question" in response.text  # a malformed answer is the caller's mistake


def test_index_tab_folders_are_limited(tmp_path: Path) -> None:
    from alignment_qa.app.web import folder_refusal

    def refusal(folder: Path, **serve: object) -> str | None:
        overrides = {f"serve.{key}": value for key, value in serve.items()}
        return folder_refusal(folder, load_settings(None, overrides).settings)

    assert "upload pages instead" in (refusal(tmp_path) or "")  # no roots: off, even on 127.0.0.1
    assert "upload pages instead" in (refusal(tmp_path, host="0.0.0.0") or "")
    allowed = tmp_path / "pages"
    (allowed / "sub").mkdir(parents=True)
    assert refusal(allowed / "sub", host="0.0.0.0", index_roots=[str(allowed)]) is None
    assert "outside" in (refusal(allowed / ".." / "..", index_roots=[str(allowed)]) or "")


def test_login_protects_the_api(workdir: Path, embedder: Embedder, cli: CliRunner) -> None:
    question = {"question": "What is reward hacking?"}
    with _client(workdir, embedder, auth="ada:s3cret-pass") as client:
        assert client.post("/api/ask", json=question).status_code == 401
        assert client.post("/api/ask", json=question, headers=_basic("ada:wrong")).status_code == 401
        # not a 500 for a non-ASCII password (httpx sends the header as bytes, as a browser would)
        non_ascii = "Basic " + base64.b64encode("ada:пароль".encode()).decode()
        assert client.post("/api/ask", json=question, headers={"authorization": non_ascii}).status_code == 401
        response = client.post("/api/ask", json=question, headers=_basic("ada:s3cret-pass"))
        assert response.status_code == 200 and response.json()["citations"]
        page_id = response.json()["citations"][0]["page_id"]
        assert client.get("/openapi.json").status_code == 401
        # a browser signed in to the chat page opens source pages without a second login
        assert client.get(f"/page/{page_id}").status_code == 401
        client.post("/login", data={"username": "ada", "password": "s3cret-pass"})
        page = client.get(f"/page/{page_id}")
        assert page.status_code == 200 and "<h1>" in page.text
    bad = cli("serve", "--port", "1", cwd=workdir, env={"ALIGNMENT_QA_SERVE__AUTH": "ada-without-password"})
    assert bad.returncode == 2 and "not 'user:password'" in bad.stderr
    assert "ada-without-password" not in bad.stderr + bad.stdout and "Traceback" not in bad.stderr


def test_index_pages_fills_an_empty_server(tmp_path: Path, embedder: Embedder) -> None:
    from alignment_qa.app.assistant_slot import AssistantSlot
    from alignment_qa.app.web import index_pages

    overrides = {"store.data_dir": str(tmp_path / "data"), "serve.index_roots": [str(tmp_path), str(SAMPLE_CORPUS)]}
    settings = load_settings(None, overrides).settings
    slot = AssistantSlot()
    missing = index_pages(slot, settings, embedder, str(tmp_path / "nowhere"), [])
    assert missing.startswith("**Not indexed:**") and "not found" in missing and slot.current is None
    upload = tmp_path / "upload.md"
    upload.write_text("# Zorblax\n\nZorblax audits check frontier models every week.\n")
    empty = tmp_path / "empty.md"
    empty.write_text("")
    uploads = [str(upload), str(empty)]
    summary = index_pages(slot, settings, embedder, str(SAMPLE_CORPUS), uploads, received=set(uploads))
    assert "8 added" in summary and "| Reason |" in summary and "empty.md" in summary
    assert slot.current is not None
    assert slot.current.ask("What do Zorblax audits check?").citations[0].page_id == "upload.md"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install -y chromium)")
def test_empty_server_says_how_to_add_pages_then_indexes(tmp_path: Path, embedder: Embedder) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    settings = _settings(tmp_path, **{"serve.index_roots": [str(SAMPLE_CORPUS)]})
    with serving_app(create_app(None, settings, embedder)) as url:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, timeout=60_000)
            page.get_by_text("No index yet").first.wait_for(timeout=60_000)
            page.get_by_role("tab", name="Index").click()
            page.locator("#aqa-folder textarea").fill(str(SAMPLE_CORPUS))
            page.locator("#aqa-reindex").click()
            page.get_by_text("7 added").wait_for(timeout=120_000)
            assert "7 pages" in page.locator("#aqa-status").inner_text()
            page.get_by_role("tab", name="Chat").click()
            page.locator("#aqa-input textarea").fill("What is reward hacking?")
            page.locator("#aqa-ask").click()
            page.locator("#aqa-chat a.aqa-cite").first.wait_for(timeout=60_000)
            browser.close()
        request = urllib.request.Request(
            f"{url}/api/ask", data=json.dumps({"question": "What is Goodhart's law?"}).encode(), method="POST"
        )
        request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=120) as response:
            assert json.load(response)["citations"]  # the API answers from the new index too


def test_the_page_builds_around_an_empty_slot(tmp_path: Path, embedder: Embedder) -> None:
    from alignment_qa.app.assistant_slot import AssistantSlot
    from alignment_qa.app.web import build_ui

    settings = load_settings(None, {"store.data_dir": str(tmp_path / "data")}).settings
    ui = build_ui(AssistantSlot(), settings, embedder)
    assert ui.analytics_enabled is False and len(ui.fns) >= 9  # ask, submit and their follow-ups, select, like...
