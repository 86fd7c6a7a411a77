"""`/v1/chat/completions` and `/v1/models` driven by the official `openai` client against the real app.

The app (`create_app`, API plus chat page, as `alignment-qa serve` runs it) over the session's
index of the sample corpus, with a basic-auth login and two API keys, answers every test of the
module in-process: the `openai` client talks to it through Starlette's `TestClient` as its HTTP
client. A second app without an index gives the 503. The client's retries are off, so each error
is seen as the client's own typed exception at once. tests/test_web.py serves the app for real.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alignment_qa.engine.assistant import Assistant
from alignment_qa.index.embedder import Embedder
from alignment_qa.settings import load_settings
from conftest import BuiltIndex, CliRunner

pytest.importorskip("gradio", reason="the ui extra is not installed (pip install -e .[ui])")
from fastapi.testclient import TestClient

from alignment_qa.app.web import create_app

openai = pytest.importorskip("openai", reason="the dev extra is not installed (pip install -e .[dev])")

KEY = "sk-alignment-qa-test"
LOGIN = "reader:s3cret-pass"
QUESTION = "What is reward hacking?"
LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, sample_index: BuiltIndex, embedder: Embedder
) -> Iterator[TestClient]:
    overrides = {
        "store.data_dir": str(sample_index.settings.store.data_dir),
        "serve.feedback_db": str(tmp_path_factory.mktemp("openai") / "feedback.sqlite"),
        "serve.auth": LOGIN,
        "serve.api_keys": f"other-key,{KEY}",
    }
    settings = load_settings(None, overrides).settings
    app = create_app(Assistant.open(settings, embedder=embedder), settings, embedder)
    with TestClient(app, base_url=LOCAL) as client:
        yield client


def _client(server: TestClient, key: str = KEY, **options: Any) -> Any:
    return openai.OpenAI(base_url=f"{LOCAL}/v1", api_key=key, max_retries=0, timeout=120, http_client=server, **options)


def _ask(server: TestClient, messages: list[dict[str, str]], model: str = "alignment-qa-evidence") -> Any:
    return _client(server).chat.completions.create(model=model, messages=messages)


def test_models_lists_the_answer_modes(server: TestClient) -> None:
    names = {model.id for model in _client(server).models.list()}
    assert {"alignment-qa", "alignment-qa-evidence"} <= names
    assert "alignment-qa-llm" not in names  # no LLM is configured


def test_answer_has_cited_text_and_structured_citations(server: TestClient) -> None:
    completion = _ask(server, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}])
    assert completion.object == "chat.completion"
    message = completion.choices[0].message
    assert message.role == "assistant" and completion.choices[0].finish_reason == "stop"
    text = message.content
    assert "[1]" in text and "**Sources:**" in text
    citations = completion.model_extra["citations"]
    assert citations and {"n", "page_id", "title", "section", "url", "quote"} <= set(citations[0])
    for citation in citations:  # every source is in the numbered list, with a link
        assert f"\n{citation['n']}. [" in text
        assert citation["url"].startswith(("http://", "https://"))
    assert any("reward" in c["title"].lower() or "reward" in c["quote"].lower() for c in citations)


def test_streaming_sends_chunks_ending_with_the_checked_answer(server: TestClient) -> None:
    plain = _ask(server, [{"role": "user", "content": QUESTION}])
    stream = _client(server).chat.completions.create(
        model="alignment-qa-evidence", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert content == plain.choices[0].message.content  # the same checked text as without streaming
    thinking = "".join((chunk.choices[0].delta.model_extra or {}).get("reasoning_content", "") for chunk in chunks)
    assert "Searching" in thinking  # progress goes to reasoning_content, not into the answer
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == plain.model_extra["citations"]
    assert last.model_extra["alignment_qa"] == plain.model_extra["alignment_qa"]


def test_streaming_on_the_wire_ends_with_done(server: TestClient) -> None:
    body = {"model": "alignment-qa", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    response = server.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {KEY}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.split("\n\n") if line.strip()]
    assert all(event.startswith("data: ") for event in events)
    assert events[-1] == "data: [DONE]"


def test_follow_up_uses_the_earlier_turns(server: TestClient) -> None:
    first = _ask(server, [{"role": "user", "content": "What is RLHF?"}])
    follow_up = "Is it an inner alignment fix?"
    alone = _ask(server, [{"role": "user", "content": follow_up}])
    history = [
        {"role": "user", "content": "What is RLHF?"},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": follow_up},
    ]
    with_history = _ask(server, history)
    standalone = with_history.model_extra["alignment_qa"]["standalone_question"]
    assert standalone == "Is RLHF an inner alignment fix?"  # the earlier question's subject is carried over
    assert alone.model_extra["alignment_qa"]["standalone_question"] == follow_up
    assert with_history.model_extra["citations"]


def test_not_covered_is_an_ordinary_message_naming_the_nearest_pages(server: TestClient) -> None:
    completion = _ask(server, [{"role": "user", "content": "What is the best recipe for sourdough bread?"}])
    text = completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert "do not cover" in text and "**Nearest pages:**" in text
    assert "The nearest pages are" not in text  # listed once, as links
    assert completion.model_extra["citations"] == []
    assert completion.model_extra["alignment_qa"]["covered"] is False


def test_bad_requests_get_openai_errors(server: TestClient) -> None:
    client = _client(server)
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    error = unknown.value.body
    assert error["code"] == "model_not_found" and "alignment-qa-evidence" in error["message"]
    assert error["type"] == "invalid_request_error" and error["param"] == "model"
    with pytest.raises(openai.BadRequestError) as no_messages:
        client.chat.completions.create(model="alignment-qa", messages=[])
    assert no_messages.value.body["param"] == "messages"
    with pytest.raises(openai.BadRequestError) as not_user:
        client.chat.completions.create(model="alignment-qa", messages=[{"role": "assistant", "content": "Hi."}])
    assert "last message" in not_user.value.body["message"]
    with pytest.raises(openai.BadRequestError) as empty:
        client.chat.completions.create(model="alignment-qa", messages=[{"role": "user", "content": "  "}], stream=True)
    assert "question is empty" in empty.value.body["message"]


def test_login_is_required_and_both_kinds_work(server: TestClient) -> None:
    with pytest.raises(openai.AuthenticationError) as missing:
        _client(server, key="wrong-key").models.list()
    assert missing.value.status_code == 401 and missing.value.body["type"] == "authentication_error"
    basic = base64.b64encode(LOGIN.encode()).decode()
    with_basic = _client(server, key="unused", default_headers={"Authorization": f"Basic {basic}"})
    assert any(model.id == "alignment-qa" for model in with_basic.models.list())
    # the bearer key opens the rest of the API too
    stats = server.get("/api/stats", headers={"authorization": f"Bearer {KEY}"})
    assert stats.status_code == 200 and stats.json()["pages"] > 0
    assert server.get("/api/stats").status_code == 401


def test_too_large_a_body_is_413(server: TestClient) -> None:
    huge = "alignment " * 120_000  # 1.2 MB, over serve.max_body_bytes
    with pytest.raises(openai.APIStatusError) as too_large:
        _ask(server, [{"role": "user", "content": huge}])
    assert too_large.value.status_code == 413
    # in OpenAI's error shape, so the client shows the reason, not a raw {"detail": ...}
    assert too_large.value.body["type"] == "invalid_request_error"
    assert "serve.max_body_bytes" in too_large.value.body["message"]


def test_no_index_is_503(tmp_path: Path, embedder: Embedder) -> None:
    settings = load_settings(None, {"store.data_dir": str(tmp_path / "data")}).settings
    with TestClient(create_app(None, settings, embedder), base_url=LOCAL) as empty:
        client = _client(empty, key="any")
        with pytest.raises(openai.InternalServerError) as unavailable:
            client.chat.completions.create(model="alignment-qa", messages=[{"role": "user", "content": QUESTION}])
    assert unavailable.value.status_code == 503
    assert unavailable.value.body["code"] == "no_index" and "ingest" in unavailable.value.body["message"]


def test_api_keys_from_a_list_a_string_and_a_file_are_never_shown(tmp_path: Path, cli: CliRunner) -> None:
    from alignment_qa.app.openai_compat import load_api_keys
    from alignment_qa.settings import effective_values, load_settings

    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# one a line\nfile-key\n\n")
    listed = load_settings(None, {"serve.api_keys": ["k1", "k2"], "serve.api_keys_file": str(keys_file)}).settings
    assert load_api_keys(listed) == ["k1", "k2", "file-key"]
    joined = load_settings(None, {"serve.api_keys": " k1 , k2 "}).settings
    assert load_api_keys(joined) == ["k1", "k2"]
    assert effective_values(joined)["serve.api_keys"] == "**********"
    shown = cli("config", "--json", cwd=tmp_path, env={"ALIGNMENT_QA_SERVE__API_KEYS": KEY})
    assert shown.returncode == 0, shown.stderr
    assert KEY not in shown.stdout + shown.stderr
    assert json.loads(shown.stdout)["serve.api_keys"]["source"] == "env ALIGNMENT_QA_SERVE__API_KEYS"
