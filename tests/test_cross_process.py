"""A running assistant keeps answering while another process ingests the same folder, and answers from
the new pages within ``store.refresh_seconds``: embedded store and `chroma run` server, in the test
process and as a real `alignment-qa serve` over HTTP. Every ingest here is a real `alignment-qa ingest`
subprocess; every loop is bounded in count and time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import Any

import pytest

from alignment_qa.engine.assistant import Assistant
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import ingest
from alignment_qa.settings import load_settings
from app_servers import start_serve, stop
from chroma_servers import ChromaServer
from conftest import ONNX_MODELS, SAMPLE_CORPUS

REFRESH_S = 0.5
FILES = ["wiki/reward-hacking.md", "wiki/goodharts-law.md", "wiki/outer-vs-inner-alignment.txt", "textbook/rlhf.md"]
NEW_PAGE = "wiki/quuxing.md"
NEW_TEXT = (
    "# Quuxing\n\nQuuxing is the practice of training a model to resist gradient hacking by adding "
    "calibrated noise to its activations during fine-tuning.\n"
)
EDITED_PAGE = "wiki/reward-hacking.md"
EDIT = "\n\nThe zorblax protocol measures reward hacking by replaying boat racing episodes with hidden targets.\n"
REMOVED_PAGE = "wiki/goodharts-law.md"
QUESTIONS = ["What is reward hacking?", "What is quuxing?", "What is Goodhart's law?", "What is the zorblax protocol?"]

# page ids cited and page ids retrieved, for one question
Ask = Callable[[str], tuple[list[str], list[str]]]


@dataclass
class Run:
    """What the asking loop saw while and after the other process ingested."""

    errors: list[str] = field(default_factory=list)
    asked_during: int = 0
    new_page_after_s: float | None = None


def make_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    for name in FILES:
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE_CORPUS / name, corpus / name)
    return corpus


def change_corpus(corpus: Path) -> None:
    """Edit one page, add one, remove one: every kind of write an ingest makes."""
    edited = corpus / EDITED_PAGE
    edited.write_text(edited.read_text(encoding="utf-8") + EDIT, encoding="utf-8")
    (corpus / NEW_PAGE).write_text(NEW_TEXT, encoding="utf-8")
    (corpus / REMOVED_PAGE).unlink()


def overrides(tmp_path: Path, chroma_url: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "store.data_dir": str(tmp_path / "data"),
        "store.refresh_seconds": REFRESH_S,
        "answer.mode": "evidence",
    }
    if chroma_url:
        values["store.chroma_url"] = chroma_url
    return values


def env_for(values: dict[str, Any]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ALIGNMENT_QA_")}
    env.update({"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"})
    env["ALIGNMENT_QA_EMBEDDING__CACHE_DIR"] = str(ONNX_MODELS)  # the session's export, not one per data directory
    for key, value in values.items():
        env["ALIGNMENT_QA_" + key.upper().replace(".", "__")] = str(value)
    return env


def first_ingest(tmp_path: Path, corpus: Path, values: dict[str, Any], embedder: Embedder) -> None:
    settings = load_settings(None, values).settings
    with ChunkStore(settings.store) as store:  # closed, so this process holds no client of its own
        assert len(ingest([corpus], settings, embedder, store).added) == len(FILES)


def ingest_in_another_process(corpus: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "alignment_qa", "ingest", str(corpus)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def ask_through_ingest(ask: Ask, process: subprocess.Popen[str]) -> Run:
    """Ask round-robin while ``process`` runs; then, one refresh interval after it ended, once more."""
    run = Run()
    questions = cycle(QUESTIONS)
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline and run.asked_during < 3000:
        question = next(questions)
        try:
            ask(question)
        except Exception as exc:
            run.errors.append(f"during ingest, {question!r}: {exc}")
        run.asked_during += 1
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    finished = time.monotonic()
    time.sleep(REFRESH_S)  # one refresh interval after the ingest, the next answer must know the new page
    try:
        cited, _ = ask("What is quuxing?")
    except Exception as exc:
        run.errors.append(f"after ingest: {exc}")
        cited = []
    if NEW_PAGE in cited:
        run.new_page_after_s = time.monotonic() - finished
    return run


def check_answers_after(ask: Ask) -> None:
    cited, _ = ask("What is the zorblax protocol?")
    assert cited and cited[0] == EDITED_PAGE
    _, retrieved = ask("What is Goodhart's law?")
    assert REMOVED_PAGE not in retrieved
    cited, _ = ask("What is reward hacking?")
    assert EDITED_PAGE in cited


def assistant_asker(assistant: Assistant) -> Ask:
    def ask(question: str) -> tuple[list[str], list[str]]:
        answer = assistant.ask(question)
        return [c.page_id for c in answer.citations], [p.page_id for p in answer.retrieved]

    return ask


def http_asker(url: str) -> Ask:
    def ask(question: str) -> tuple[list[str], list[str]]:
        body = json.dumps({"question": question, "mode": "evidence"}).encode()
        request = urllib.request.Request(
            f"{url}/api/ask", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"HTTP {exc.code}: {exc.read()[:300]!r}") from None
        return [c["page_id"] for c in answer["citations"]], [p["page_id"] for p in answer["retrieved"]]

    return ask


@pytest.fixture(params=["embedded", "server"])
def chroma_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    if request.param == "embedded":
        yield None
        return
    server = ChromaServer(tmp_path / "server-data").start()
    try:
        yield server.url
    finally:
        server.stop()


def test_assistant_answers_during_and_after_another_process_ingests(
    tmp_path: Path, chroma_url: str | None, embedder: Embedder
) -> None:
    corpus = make_corpus(tmp_path)
    values = overrides(tmp_path, chroma_url)
    first_ingest(tmp_path, corpus, values, embedder)
    assistant = Assistant.open(load_settings(None, values).settings, embedder=embedder)
    ask = assistant_asker(assistant)
    assert ask("What is Goodhart's law?")[0][0] == REMOVED_PAGE
    assert NEW_PAGE not in ask("What is quuxing?")[0]

    change_corpus(corpus)
    run = ask_through_ingest(ask, ingest_in_another_process(corpus, env_for(values), tmp_path))

    assert run.errors == []
    assert run.asked_during > 0
    assert run.new_page_after_s is not None, f"the new page was not answered {REFRESH_S} s after the ingest"
    check_answers_after(ask)
    assistant.store.close()


def test_serve_answers_over_http_while_another_process_ingests(tmp_path: Path, embedder: Embedder) -> None:
    """The reported case: `serve` on an embedded index, an ingest from a second shell, then /api/ask."""
    corpus = make_corpus(tmp_path)
    values = overrides(tmp_path, None)
    first_ingest(tmp_path, corpus, values, embedder)
    env = env_for(values)
    process, url = start_serve(tmp_path, env)
    try:
        ask = http_asker(url)
        assert ask("What is Goodhart's law?")[0][0] == REMOVED_PAGE

        change_corpus(corpus)
        run = ask_through_ingest(ask, ingest_in_another_process(corpus, env, tmp_path))

        assert run.errors == []
        assert run.new_page_after_s is not None, f"the new page was not answered {REFRESH_S} s after the ingest"
        check_answers_after(ask)
    finally:
        stop(process)


class _PausingStore(ChunkStore):
    """A real store whose next search waits at a gate, so a refresh can be started mid-search."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.armed = False
        self.in_search = threading.Event()
        self.go_on = threading.Event()

    def collection(self, model: str, name: str | None = None) -> Any:
        found = super().collection(model, name)
        return None if found is None else _GatedCollection(found, self)


class _GatedCollection:
    """A real collection whose search waits at its store's gate when the store is armed."""

    def __init__(self, inner: Any, gate: _PausingStore) -> None:
        self._inner = inner
        self._gate = gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def search_many(self, vectors: Any, k: int, with_text: bool = True) -> Any:
        gate = self._gate
        if gate.armed:
            gate.armed = False
            gate.in_search.set()
            gate.go_on.wait(10)
        return self._inner.search_many(vectors, k, with_text)


def test_a_refresh_waits_for_a_search_in_flight(
    tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    """Reopening the embedded store never closes the client under a search: the refresh waits, and the
    search neither fails nor has to be retried."""
    corpus = make_corpus(tmp_path)
    values = overrides(tmp_path, None)
    first_ingest(tmp_path, corpus, values, embedder)
    settings = load_settings(None, values).settings
    store = _PausingStore(settings.store)
    assistant = Assistant.open(settings, embedder=embedder, store=store)
    answers: list[Any] = []
    store.armed = True
    asking = threading.Thread(target=lambda: answers.append(assistant.ask("What is reward hacking?")))
    asking.start()
    assert store.in_search.wait(30)
    with ChunkStore(settings.store) as other:  # what another process's ingest does first
        collection = other.collection(settings.embedding.identity)
        assert collection is not None
        collection.new_revision()
    refreshing = threading.Thread(target=assistant.refresh_if_stale, kwargs={"force": True})
    refreshing.start()
    time.sleep(0.5)  # the refresh has had time to close the client, if it does not wait
    store.go_on.set()
    asking.join(60)
    refreshing.join(60)
    assert answers and answers[0].citations
    assert not [r for r in caplog.records if "retrieval failed" in r.getMessage()]
    assert assistant.keyword_index.revision == assistant.collection.revision()  # the refresh happened
    store.close()
