"""The chat page and the HTTP API, served for real on 127.0.0.1 and driven by a real browser.

The server is `alignment-qa serve` in its own process over a temp index of the sample corpus
plus a page whose title is an HTML injection attempt. The browser is Debian's chromium driven by
Playwright; the screenshot lands in test-output/.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignment_qa.index.embedder import Embedder
from alignment_qa.settings import load_settings
from app_servers import ENV, ingest_cli, start_serve
from conftest import REPO, SAMPLE_CORPUS
from llm_servers import free_port

pytest.importorskip("gradio", reason="the ui extra is not installed (pip install -e .[ui])")

CHROMIUM = Path("/usr/bin/chromium")
XSS_TITLE = "<img src=x onerror=alert(1)> Zorblax safety audits"
OUTPUT = REPO / "test-output"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def _post(url: str, body: dict[str, object], auth: str | None = None) -> tuple[int, bytes]:
    headers = {"content-type": "application/json"}
    if auth:
        headers["authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("web")
    corpus = work / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    # tags are stripped at ingest, but an escaped tag becomes literal markup in the title
    escaped = XSS_TITLE.replace("<", "&lt;").replace(">", "&gt;")
    (corpus / "xss.md").write_text(f"# {escaped}\n\nZorblax safety audits check frontier models every week.\n")
    ingest_cli(work, corpus)
    return work


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[str]:
    process, url = start_serve(workdir, ENV)
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_api_answers_with_citations(server: str) -> None:
    status, body = _post(f"{server}/api/ask", {"question": "Is RLHF an inner alignment fix?", "top_k": 4})
    assert status == 200
    answer = json.loads(body)
    assert answer["citations"] and len(answer["retrieved"]) <= 4
    assert {"text", "mode", "notice", "citations", "sentences", "retrieved", "timings_ms"} <= set(answer)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"question": "  "}, "empty"),
        ({"question": "x" * 2001}, "2001"),
        ({"question": "x", "top_k": 0}, "top_k"),
        ({"question": "x", "mode": "magic"}, "mode"),
        ({}, "question"),
    ],
)
def test_api_validation_is_422_with_a_message(server: str, body: dict[str, object], fragment: str) -> None:
    status, raw = _post(f"{server}/api/ask", body)
    assert status == 422 and fragment in raw.decode()


def test_api_stream_health_stats_and_schema(server: str) -> None:
    status, raw = _post(f"{server}/api/ask/stream", {"question": "What is Goodhart's law?"})
    assert status == 200
    events = [block for block in raw.decode().split("\n\n") if block.strip()]
    assert events[0].startswith("event: status") and events[-1].startswith("event: answer")
    final = json.loads(events[-1].split("data: ", 1)[1])
    assert final["citations"][0]["page_id"] == "wiki/goodharts-law.md"
    with urllib.request.urlopen(f"{server}/api/health", timeout=10) as response:
        assert json.load(response)["index"] is True
    with urllib.request.urlopen(f"{server}/api/stats", timeout=10) as response:
        assert json.load(response)["pages"] == 8
    with urllib.request.urlopen(f"{server}/openapi.json", timeout=10) as response:
        assert "/api/ask" in json.load(response)["paths"]
    with pytest.raises(urllib.error.HTTPError, match="404"):  # Swagger's page would load from a CDN
        urllib.request.urlopen(f"{server}/docs", timeout=10)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install -y chromium)")
def test_chat_page_in_a_real_browser(server: str, workdir: Path) -> None:
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
    result = subprocess.run(
        [sys.executable, "-m", "alignment_qa", "feedback", "export", str(exported)],
        cwd=workdir,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    kinds = [json.loads(line)["kind"] for line in exported.read_text().splitlines()]
    assert "up" in kinds


def test_api_feedback(server: str) -> None:
    status, body = _post(f"{server}/api/ask", {"question": "What is Goodhart's law?"})
    answer = json.loads(body)
    status, body = _post(f"{server}/api/feedback", {"kind": "up", "answer": answer})
    assert status == 200 and json.loads(body)["id"] >= 1
    status, body = _post(f"{server}/api/feedback", {"kind": "wrong_source", "answer": answer, "citation": 99})
    assert status == 422 and "no citation [99]" in body.decode()
    status, body = _post(f"{server}/api/feedback", {"kind": "up", "answer": {"text": 1}})
    assert status == 422 and "question" in body.decode()  # a malformed answer is the caller's mistake


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


def test_login_protects_the_api(workdir: Path) -> None:
    env = {**ENV, "ALIGNMENT_QA_SERVE__AUTH": "ada:s3cret-pass"}
    process, url = start_serve(workdir, env)
    try:
        status, _ = _post(f"{url}/api/ask", {"question": "What is reward hacking?"})
        assert status == 401
        status, _ = _post(f"{url}/api/ask", {"question": "What is reward hacking?"}, auth="ada:wrong")
        assert status == 401
        status, _ = _post(f"{url}/api/ask", {"question": "What is reward hacking?"}, auth="ada:пароль")
        assert status == 401  # not a 500 for a non-ASCII password
        status, body = _post(f"{url}/api/ask", {"question": "What is reward hacking?"}, auth="ada:s3cret-pass")
        assert status == 200 and json.loads(body)["citations"]
        page_id = json.loads(body)["citations"][0]["page_id"]
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(f"{url}/openapi.json", timeout=10)
        # a browser signed in to the chat page opens source pages without a second login
        jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with pytest.raises(urllib.error.HTTPError, match="401"):
            jar.open(f"{url}/page/{page_id}", timeout=10)
        form = urllib.parse.urlencode({"username": "ada", "password": "s3cret-pass"}).encode()
        jar.open(f"{url}/login", data=form, timeout=10).close()
        with jar.open(f"{url}/page/{page_id}", timeout=10) as response:
            assert response.status == 200 and b"<h1>" in response.read()
    finally:
        process.terminate()
        process.wait(timeout=30)
    bad = subprocess.run(
        [sys.executable, "-m", "alignment_qa", "serve", "--port", str(free_port())],
        cwd=workdir,
        env={**ENV, "ALIGNMENT_QA_SERVE__AUTH": "ada-without-password"},
        capture_output=True,
        text=True,
        timeout=120,
    )
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
def test_empty_server_says_how_to_add_pages_then_indexes(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    process, url = start_serve(tmp_path, {**ENV, "ALIGNMENT_QA_SERVE__INDEX_ROOTS": json.dumps([str(SAMPLE_CORPUS)])})
    try:
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
        status, body = _post(f"{url}/api/ask", {"question": "What is Goodhart's law?"})
        assert status == 200 and json.loads(body)["citations"]  # the API answers from the new index too
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_page_builds_around_an_empty_slot(tmp_path: Path, embedder: Embedder) -> None:
    from alignment_qa.app.assistant_slot import AssistantSlot
    from alignment_qa.app.web import build_ui

    settings = load_settings(None, {"store.data_dir": str(tmp_path / "data")}).settings
    ui = build_ui(AssistantSlot(), settings, embedder)
    assert ui.analytics_enabled is False and len(ui.fns) >= 9  # ask, submit and their follow-ups, select, like...
