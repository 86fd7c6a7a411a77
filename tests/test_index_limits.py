"""What the Index tab and ingest may read: folders only inside serve.index_roots, uploads only
from Gradio's upload route (deleted once indexed), single files under the folder-walk rules,
no symlink out of a root; and the condensed follow-up question is capped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alignment_qa.engine.condense import condense
from alignment_qa.index.embedder import Embedder
from alignment_qa.ingest.discover import discover
from alignment_qa.settings import Settings, load_settings
from app_servers import ENV
from conftest import SAMPLE_CORPUS

EXTS = [".md", ".txt"]
PAGE = "# Zorblax\n\nZorblax audits check frontier models every week.\n"


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings(None, {"store.data_dir": str(tmp_path / "data"), **overrides}).settings


def test_a_single_file_obeys_the_folder_walk_rules(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    (tmp_path / ".env.md").write_text("SECRET=1\n")
    (tmp_path / "link.md").symlink_to(tmp_path / "passwd")
    (tmp_path / "ok.md").write_text(PAGE)
    found = discover([tmp_path / name for name in ("passwd", ".env.md", "link.md", "ok.md")], EXTS)
    assert [page.page_id for page in found.pages] == ["ok.md"]
    reasons = {Path(item.path).name: item.reason for item in found.skipped}
    assert "extension (none) is not one of ingest.extensions" in reasons["passwd"]
    assert reasons[".env.md"] == "hidden file: not indexed"
    assert "not one of ingest.extensions" in reasons["link.md"]  # judged by what it points to


def test_a_symlink_out_of_the_root_is_skipped_with_a_reason(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nNot for the index.\n")
    root = tmp_path / "pages"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text(PAGE)
    (root / "escape.md").symlink_to(outside / "secret.md")
    (root / "escape-dir").symlink_to(outside)
    (root / "sub" / "inside.md").symlink_to(root / ".draft.md")  # stays inside: followed
    (root / ".draft.md").write_text(PAGE)  # hidden: indexed only through the link
    (root / "0-alias.md").symlink_to(root / "a.md")  # another name for a page: one page, under the file's name
    found = discover([root], EXTS)
    assert sorted(page.page_id for page in found.pages) == ["a.md", "sub/inside.md"]
    reasons = {Path(item.path).name: item for item in found.skipped}
    assert "leads outside" in reasons["escape.md"].reason and "leads outside" in reasons["escape-dir"].reason
    # no page id to keep: a page once indexed under that name leaves the index, its text now lies outside
    assert reasons["escape.md"].page_id is None and reasons["escape-dir"].page_id is None


def test_cli_ingest_of_a_non_page_file_says_why(tmp_path: Path) -> None:
    (tmp_path / "hostname").write_text("box\n")
    result = subprocess.run(
        [sys.executable, "-m", "alignment_qa", "ingest", "--json", str(tmp_path / "hostname")],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["added"] == [] and "ingest.extensions" in summary["skipped"][0]["reason"]


def test_folder_box_only_inside_index_roots(tmp_path: Path) -> None:
    from alignment_qa.app.web import folder_refusal

    allowed = tmp_path / "pages"
    (allowed / "sub").mkdir(parents=True)
    (allowed / ".git").mkdir()
    (allowed / "out").symlink_to(tmp_path)
    off = folder_refusal(allowed, _settings(tmp_path))  # no roots: off, even on 127.0.0.1
    assert off and "off" in off and "serve.index_roots" in off and "ALIGNMENT_QA_SERVE__INDEX_ROOTS" in off
    with_roots = _settings(tmp_path, **{"serve.index_roots": [str(allowed)]})
    assert folder_refusal(allowed / "sub", with_roots) is None
    assert "outside" in (folder_refusal(Path("/etc"), with_roots) or "")
    assert "outside" in (folder_refusal(allowed / "out", with_roots) or "")  # a symlink out of the root
    assert "hidden" in (folder_refusal(allowed / ".git", with_roots) or "")


def test_index_pages_reads_only_received_uploads_and_deletes_them(tmp_path: Path, embedder: Embedder) -> None:
    from alignment_qa.app.api import AssistantSlot
    from alignment_qa.app.web import index_pages

    settings = _settings(tmp_path)
    slot = AssistantSlot()
    secret = tmp_path / "server-file.md"
    secret.write_text("# Server file\n\nThe server's own secret words.\n")
    forged = index_pages(slot, settings, embedder, "", [str(secret)], received=set())
    assert "not a file uploaded to this page" in forged and slot.current is None and secret.exists()
    folder = index_pages(slot, settings, embedder, str(SAMPLE_CORPUS), [])
    assert folder.startswith("**Not indexed:**") and "serve.index_roots" in folder
    upload = tmp_path / "gradio" / "abc123" / "upload.md"
    upload.parent.mkdir(parents=True)
    upload.write_text(PAGE)
    received = {str(upload)}
    summary = index_pages(slot, settings, embedder, "", [str(upload), str(secret)], received=received)
    assert "1 added" in summary and "server-file.md: not a file uploaded" in summary
    assert not upload.exists() and not upload.parent.exists() and received == set()  # no copy kept
    assert slot.current is not None
    assert slot.current.page("upload.md")
    assert not slot.current.page("server-file.md")
    too_many = [tmp_path / f"p{n}.md" for n in range(3)]
    for path in too_many:
        path.write_text(PAGE)
    names = {str(path) for path in too_many}
    capped = _settings(tmp_path, **{"serve.max_upload_files": 2})
    assert "at most 2" in index_pages(slot, capped, embedder, "", sorted(names), received=names)
    binary = tmp_path / "gradio" / "def456" / "scan.md"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"\x00\x01binary")
    skipped = index_pages(slot, settings, embedder, "", [str(binary)], received={str(binary)})
    assert "| scan.md | binary content" in skipped and "def456" not in skipped  # not the server's temporary path


def test_a_follow_up_after_a_long_turn_stays_within_the_question_limit(tmp_path: Path, embedder: Embedder) -> None:
    long_turn = "Tell me about reward hacking " + "and more " * 2_300  # about 20,000 characters
    assert len(condense("and what about it?", [long_turn])) > 20_000  # the rule itself joins them
    capped = condense("and what about it?", [long_turn], 2000)
    assert len(capped) <= 2000 and capped.endswith("and what about it?")
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.index.store import ChunkStore
    from alignment_qa.ingest.pipeline import ingest

    settings = _settings(tmp_path)
    ingest([SAMPLE_CORPUS], settings, embedder, ChunkStore(settings.store))
    assistant = Assistant.open(settings, embedder=embedder)
    answer = assistant.ask("and what about it?", [{"role": "user", "content": long_turn}])
    assert len(answer.standalone_question) <= settings.answer.max_question_chars


# --- through Gradio's own routes, in-process ---------------------------------------------------

gradio = pytest.importorskip("gradio", reason="the ui extra is not installed (pip install -e .[ui])")


@pytest.fixture
def page_client(tmp_path: Path, embedder: Embedder) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from alignment_qa.app.web import create_app

    settings = _settings(tmp_path, **{"serve.max_upload_mb": 0.01})
    with TestClient(create_app(None, settings, embedder), base_url="http://127.0.0.1:7860") as client:
        yield client


def _run_index(client: Any, files: list[dict[str, Any]]) -> dict[str, Any]:
    """Click Index through Gradio's queue; the completion message."""
    blocks = next(route.app for route in client.app.routes if hasattr(getattr(route, "app", None), "tokens"))
    blocks = blocks.get_blocks()
    fn_index = next(index for index, fn in blocks.fns.items() if fn.name == "run_index")
    session = uuid.uuid4().hex
    joined = client.post(
        "/gradio_api/queue/join", json={"data": ["", files], "fn_index": fn_index, "session_hash": session}
    )
    assert joined.status_code == 200, joined.text
    with client.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as events:
        for line in events.iter_lines():
            if line.startswith("data: "):
                message = json.loads(line[6:])
                if message.get("msg") == "process_completed":
                    return dict(message)
    raise AssertionError("the queue never completed")


def test_a_forged_upload_naming_a_server_file_is_refused(page_client: Any, tmp_path: Path) -> None:
    server_file = tmp_path / "hostname.md"
    server_file.write_text("# Host\n\nbox-1234 is this server's name.\n")
    forged = {"path": str(server_file), "orig_name": "hostname.md", "meta": {"_type": "gradio.FileData"}}
    done = _run_index(page_client, [forged])
    assert done["success"] is False and "not uploaded by a user" in json.dumps(done)
    assert page_client.get("/page/hostname.md").status_code == 503  # nothing was indexed


def test_an_upload_is_indexed_then_deleted(page_client: Any) -> None:
    sent = page_client.post("/gradio_api/upload", files=[("files", ("zorblax.md", PAGE.encode(), "text/markdown"))])
    assert sent.status_code == 200, sent.text
    path = sent.json()[0]
    done = _run_index(page_client, [{"path": path, "orig_name": "zorblax.md", "meta": {"_type": "gradio.FileData"}}])
    assert done["success"] is True and "1 added" in json.dumps(done)
    assert not Path(path).exists()
    assert page_client.get("/page/zorblax.md").status_code == 200
    big = page_client.post("/gradio_api/upload", files=[("files", ("big.md", b"x" * 20_000, "text/markdown"))])
    assert big.status_code == 413  # serve.max_upload_mb = 0.01
