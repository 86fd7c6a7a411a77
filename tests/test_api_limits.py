"""The web server's guards, in-process on the real app (API plus mounted chat page) with
Starlette's TestClient: Host allowlist, foreign origins, body size, short 422s, signed answer
ids for feedback, feedback and login throttles, masked credentials. The uvicorn-level limits
(header deadline, connection cap) run against a real `alignment-qa serve`.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alignment_qa.engine.assistant import Assistant
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import ingest
from alignment_qa.settings import Settings, load_settings
from app_servers import ENV, start_serve, stop
from conftest import SAMPLE_CORPUS

pytest.importorskip("gradio", reason="the ui extra is not installed (pip install -e .[ui])")
from fastapi.testclient import TestClient

from alignment_qa.app.guards import LoginThrottle, RateLimit
from alignment_qa.app.web import create_app

LOCAL = "http://127.0.0.1:7860"
QUESTION = {"question": "What is Goodhart's law?"}


def _settings(data: Path, **overrides: Any) -> Settings:
    return load_settings(None, {"store.data_dir": str(data), **overrides}).settings


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    data = tmp_path_factory.mktemp("limits") / "data"
    settings = _settings(data)
    ingest([SAMPLE_CORPUS], settings, embedder, ChunkStore(settings.store))
    return data


@pytest.fixture(scope="module")
def client(indexed: Path, embedder: Embedder) -> Iterator[TestClient]:
    settings = _settings(indexed, **{"serve.allowed_hosts": ["qa.example.org"]})
    app = create_app(Assistant.open(settings, embedder=embedder), settings, embedder)
    with TestClient(app, base_url=LOCAL) as test_client:
        yield test_client


@pytest.mark.parametrize("host", ["127.0.0.1:7860", "localhost", "[::1]:8080", "qa.example.org", "QA.example.org."])
def test_known_hosts_are_answered(client: TestClient, host: str) -> None:
    assert client.get("/api/health", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("path", ["/api/health", "/", "/config", "/gradio_api/info"])
def test_an_unknown_host_gets_421_on_every_route(client: TestClient, path: str) -> None:
    """DNS rebinding: evil.example resolving to 127.0.0.1 must not reach the API or the page."""
    response = client.get(path, headers={"host": "evil.example"})
    assert response.status_code == 421 and "serve.allowed_hosts" in response.json()["detail"]


@pytest.mark.parametrize("host", ["[::1]evil.example", "[::1]:80evil", "[127.0.0.1]x:7860"])
def test_a_bracketed_host_with_junk_after_it_is_refused(client: TestClient, host: str) -> None:
    """``[::1]evil.example`` is no address of this machine, whatever the brackets hold."""
    assert client.get("/api/health", headers={"host": host}).status_code == 421


def test_the_bound_host_is_allowed_unless_it_is_any_address(tmp_path: Path, embedder: Embedder) -> None:
    from alignment_qa.app.guards import allowed_host_names

    assert "192.168.1.5" in allowed_host_names("192.168.1.5", [])
    assert allowed_host_names("0.0.0.0", []) == {"127.0.0.1", "localhost", "::1"}


def test_no_cors_grant_for_a_foreign_origin(client: TestClient) -> None:
    """Gradio reflects any Origin, with credentials, when the Host is not a loopback name."""
    foreign = {"host": "qa.example.org", "origin": "http://evil.example"}
    page = client.get("/config", headers=foreign)
    assert page.status_code == 200
    assert not [key for key in page.headers if key.lower().startswith("access-control-")]
    preflight = client.options(
        "/gradio_api/queue/join",
        headers={**foreign, "access-control-request-method": "POST", "access-control-request-headers": "content-type"},
    )
    assert "access-control-allow-origin" not in preflight.headers and preflight.status_code == 403
    joined = client.post("/gradio_api/queue/join", json={"data": [], "fn_index": 0}, headers=foreign)
    assert joined.status_code == 403 and "cross-origin" in joined.json()["detail"]
    assert client.post("/api/feedback", json={}, headers={**foreign, "origin": "null"}).status_code == 403
    # the page's own requests name the same origin as the host: they pass
    same = client.post("/api/ask", json=QUESTION, headers={"origin": LOCAL})
    assert same.status_code == 200


def test_a_wrong_method_on_the_api_is_405_and_health_answers_head(client: TestClient) -> None:
    """The chat page mounted at "/" once answered 404 for every /api path asked with the wrong method."""
    for method, path, allowed in (("GET", "/api/ask", "POST"), ("PUT", "/api/feedback", "POST"),
                                  ("POST", "/api/health", "GET, HEAD")):  # fmt: skip
        response = client.request(method, path)
        assert response.status_code == 405 and response.headers["allow"] == allowed, (method, path)
    assert client.head("/api/health").status_code == 200
    missing = client.get("/api/no-such-thing")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}


def test_a_large_body_is_413_with_or_without_content_length(client: TestClient) -> None:
    big = json.dumps({"question": "x", "history": [{"role": "user", "content": "y" * 1_500_000}]}).encode()
    declared = client.post("/api/ask", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and "serve.max_body_bytes" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 65_536):
            yield big[start : start + 65_536]

    chunked = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    gradio = client.post("/gradio_api/queue/join", content=big, headers={"content-type": "application/json"})
    assert gradio.status_code == 413


def test_a_422_quotes_only_a_short_excerpt(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "q" * 30_000, "top_k": "z" * 50_000})
    assert response.status_code == 422
    assert len(response.content) < 2_000 and "top_k" in response.text and "question" in response.text
    gradio = client.post("/gradio_api/queue/join", json={"data": "w" * 100_000})
    assert gradio.status_code == 422 and len(gradio.content) < 2_000


def test_feedback_needs_an_answer_this_server_gave(client: TestClient, indexed: Path) -> None:
    answer = client.post("/api/ask", json=QUESTION).json()
    assert len(answer["answer_id"]) == 64
    assert client.post("/api/feedback", json={"kind": "up", "answer": answer}).status_code == 200
    made_up = {
        "question": "Which page is gold?",
        "standalone_question": "Which page is gold?",
        "text": "PWNED [1].",
        "mode": "evidence",
        "citations": [{"n": 1, "page_id": "evil.md", "title": "t", "section": "s", "quote": "q", "start": 0, "end": 1}],
    }
    for forged in (made_up, {**made_up, "answer_id": answer["answer_id"]}, {**answer, "text": "Edited [1]."}):
        response = client.post("/api/feedback", json={"kind": "up", "answer": forged})
        assert response.status_code == 403 and "not given by this server" in response.json()["detail"]
    # the stream's final answer carries an id too
    stream = client.post("/api/ask/stream", json=QUESTION).text
    final = json.loads(stream.rsplit("event: answer\ndata: ", 1)[1])
    assert client.post("/api/feedback", json={"kind": "down", "answer": final}).status_code == 200
    from alignment_qa.app.feedback import FeedbackStore

    out = indexed.parent / "feedback.jsonl"
    assert FeedbackStore.for_settings(_settings(indexed)).export_jsonl(out) == (2, 0)
    assert "evil.md" not in out.read_text()


def test_feedback_records_the_top_k_the_answer_used(client: TestClient, indexed: Path) -> None:
    """Regression: /api/feedback recorded the default retrieval.top_k, not the one the answer was
    written with. The answer carries its top_k (signed with it), and the record keeps that."""
    from alignment_qa.app.feedback import FeedbackStore

    ids: dict[int, int] = {}
    answer = client.post("/api/ask", json={**QUESTION, "top_k": 2}).json()
    assert answer["top_k"] == 2 and len(answer["retrieved"]) <= 2
    ids[2] = client.post("/api/feedback", json={"kind": "up", "answer": answer}).json()["id"]
    stream = client.post("/api/ask/stream", json={**QUESTION, "top_k": 9}).text
    final = json.loads(stream.rsplit("event: answer\ndata: ", 1)[1])
    ids[9] = client.post("/api/feedback", json={"kind": "down", "answer": final}).json()["id"]
    default = client.post("/api/ask", json=QUESTION).json()  # no top_k asked: the configured one (5)
    ids[5] = client.post("/api/feedback", json={"kind": "up", "answer": default}).json()["id"]
    rows = {row["id"]: row for row in FeedbackStore.for_settings(_settings(indexed)).rows()}
    assert {k: rows[n]["settings"]["retrieval"]["top_k"] for k, n in ids.items()} == {2: 2, 9: 9, 5: 5}
    assert all(rows[n]["settings"]["answer"]["mode"] == "evidence" for n in ids.values())
    edited = client.post("/api/feedback", json={"kind": "up", "answer": {**answer, "top_k": 7}})
    assert edited.status_code == 403  # the top_k is part of the signed answer


def test_feedback_is_rate_limited_per_client(tmp_path: Path, embedder: Embedder) -> None:
    settings = _settings(tmp_path / "data", **{"serve.feedback_per_minute": 3})
    with TestClient(create_app(None, settings, embedder), base_url=LOCAL) as fresh:
        forged = {"question": "q", "standalone_question": "q", "text": "t", "mode": "evidence", "answer_id": "0"}
        codes = [fresh.post("/api/feedback", json={"kind": "up", "answer": forged}).status_code for _ in range(4)]
    assert codes == [403, 403, 403, 429]


def test_rate_limit_and_login_throttle_forget_old_clients() -> None:
    now = [0.0]
    rate = RateLimit(2, max_clients=3, clock=lambda: now[0])
    assert [rate.allow("a") for _ in range(3)] == [True, True, False]
    now[0] = 61.0
    assert rate.allow("a")
    throttle = LoginThrottle(0.5, lockout_after=3, lockout_s=60, max_clients=3, clock=lambda: now[0])
    for client in "abcdefg":
        throttle.failed(client)
    assert len(throttle._clients) == 3 and throttle.delay_for("g") == 0.5
    throttle.failed("g")
    assert throttle.delay_for("g") == 1.0 and throttle.locked_for("g") == 0
    throttle.failed("g")
    assert throttle.locked_for("g") == 60
    now[0] += 61
    assert throttle.locked_for("g") == 0 and throttle.delay_for("g") == 0


def test_failed_logins_are_delayed_then_locked_out(tmp_path: Path, embedder: Embedder) -> None:
    settings = _settings(
        tmp_path / "data",
        **{
            "serve.auth": "ada:s3cret-pass",
            "serve.login_delay_s": 0.2,
            "serve.login_lockout_after": 3,
            "serve.login_lockout_s": 120,
        },
    )
    with TestClient(create_app(None, settings, embedder), base_url=LOCAL) as fresh:
        assert fresh.get("/api/health", auth=("ada", "s3cret-pass")).status_code == 200
        assert fresh.get("/api/health").status_code == 401  # no credentials: not a failed attempt
        assert fresh.get("/api/health", auth=("ada", "wrong")).status_code == 401
        started = time.monotonic()
        assert fresh.post("/login", data={"username": "ada", "password": "nope"}).status_code == 400
        assert time.monotonic() - started >= 0.2  # the second failure waited
        started = time.monotonic()
        assert fresh.get("/api/health", auth=("ada", "wrong-again")).status_code == 401
        assert time.monotonic() - started >= 0.4
        # locked out now: even the right password waits, on the API and on the page's login form
        locked = fresh.get("/api/health", auth=("ada", "s3cret-pass"))
        assert locked.status_code == 429 and "try again in" in locked.json()["detail"]
        assert int(locked.headers["retry-after"]) > 60
        assert fresh.post("/login", data={"username": "ada", "password": "s3cret-pass"}).status_code == 429


def test_login_attempts_sent_at_once_cannot_pass_the_lockout(tmp_path: Path, embedder: Embedder) -> None:
    """Gradio's login form reads its body before checking, so attempts sent together used to all be
    checked before the first failure was counted (40 at once were all checked with a lockout at 10)."""
    import asyncio

    import httpx

    settings = _settings(
        tmp_path / "data",
        **{"serve.auth": "ada:s3cret-pass", "serve.login_delay_s": 0, "serve.login_lockout_after": 3},
    )
    app = create_app(None, settings, embedder)

    async def attempts() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=LOCAL) as http:
            tries = [http.post("/login", data={"username": "ada", "password": f"guess{n}"}) for n in range(20)]
            return [response.status_code for response in await asyncio.gather(*tries)]

    codes = asyncio.run(attempts())
    assert codes.count(400) <= 3 and codes.count(429) >= 17, codes


def test_a_missing_page_quotes_only_an_excerpt_of_its_id(client: TestClient) -> None:
    response = client.get("/page/" + "a" * 5_000)
    assert response.status_code == 404 and len(response.content) < 500


def test_logins_in_urls_are_masked_on_the_page_and_in_feedback(indexed: Path, embedder: Embedder) -> None:
    settings = _settings(
        indexed,
        **{
            "llm.base_url": "http://user:hunter2pw@llm.example/v1",
            "discord.api_url": "http://bot:hunter2pw@127.0.0.1:7860",
            "serve.feedback_db": str(indexed.parent / "masked.sqlite"),
        },
    )
    app = create_app(Assistant.open(settings, embedder=embedder), settings, embedder)
    with TestClient(app, base_url=LOCAL) as fresh:
        config = fresh.get("/config").text
        assert "hunter2pw" not in config and "http://***@llm.example/v1" in config
        answer = fresh.post("/api/ask", json=QUESTION).json()
        assert fresh.post("/api/feedback", json={"kind": "up", "answer": answer}).status_code == 200
    from alignment_qa.app.feedback import FeedbackStore

    rows = list(FeedbackStore.for_settings(settings).rows())
    assert rows and "hunter2pw" not in json.dumps(rows)
    assert rows[0]["settings"]["llm"]["base_url"] == "http://***@llm.example/v1"


def test_slow_headers_and_bodies_are_cut_off_and_connections_capped(tmp_path: Path) -> None:
    """uvicorn keeps a connection that never finishes its headers or its body; the server closes it."""
    env = {
        **ENV,
        "ALIGNMENT_QA_SERVE__HEADER_TIMEOUT_S": "1.5",
        "ALIGNMENT_QA_SERVE__BODY_TIMEOUT_S": "1.5",
        "ALIGNMENT_QA_SERVE__MAX_CONNECTIONS": "2",
    }
    process, url = start_serve(tmp_path, env)
    port = int(url.rsplit(":", 1)[1])
    try:
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        other = socket.create_connection(("127.0.0.1", port), timeout=10)
        other.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert b" 503 " in other.recv(200)  # two connections open: the cap is reached
        other.close()
        started = time.monotonic()
        assert slow.recv(100) == b""  # closed by the server, not by our 10 s timeout
        assert time.monotonic() - started < 5
        slow.close()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as again:
            again.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert b" 200 " in again.recv(200)
        trickle = socket.create_connection(("127.0.0.1", port), timeout=10)
        head = (
            b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n"
        )
        trickle.sendall(head + b'{"question":')  # headers complete, the body never is
        started = time.monotonic()
        for _ in range(8):  # a byte now and then does not keep it open
            time.sleep(0.3)
            try:
                trickle.sendall(b" ")
            except OSError:
                break
        try:
            closed = trickle.recv(100) == b""
        except ConnectionResetError:
            closed = True
        assert closed  # by the server, not by our 10 s timeout
        assert time.monotonic() - started < 5
        trickle.close()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as pipelined:  # a body after a pipelined GET
            pipelined.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + head + b'{"question":')
            started = time.monotonic()
            received = b""
            while time.monotonic() - started < 8:
                try:
                    chunk = pipelined.recv(4096)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                received += chunk
            assert b" 200 " in received and time.monotonic() - started < 5
    finally:
        stop(process)
