"""The LLM answer modes against a real llama.cpp server running the packaged SmolLM2-135M-Instruct.

The model is tiny: it often cites nothing, or numbers no source has. The tests check structure and
verification (numbers checked, unsupported sentences flagged), never wisdom, and that every kind of
backend failure falls back to quoted evidence with a notice. Well-cited answers are pinned by the
scripted endpoint (test_llm_path).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alignment_qa.engine.answer import AnswerEvent, TokenEvent
from alignment_qa.engine.assistant import Assistant
from alignment_qa.engine.citations import resolve
from alignment_qa.index.embedder import Embedder
from alignment_qa.settings import load_settings
from conftest import BuiltIndex, llm_settings
from llm_servers import LlamaServer, free_port, misbehaving_endpoint
from test_assistant import page_text

pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed (pip install -e .[llamacpp])")

QUESTION = "Is RLHF an inner alignment fix?"


@pytest.mark.parametrize("question", [QUESTION, "What is Goodhart's law?"])
def test_streamed_answer_has_checked_citations(
    sample_index: BuiltIndex, embedder: Embedder, smollm2_server: LlamaServer, question: str
) -> None:
    """Whatever the small model writes, the answer is either its text with every citation checked,
    or (when it cited no real source) quoted evidence with a notice saying why."""
    settings = llm_settings(sample_index, smollm2_server.url)
    assistant = Assistant.open(settings, embedder=embedder)
    events = list(assistant.stream(question))
    tokens = [event.text for event in events if isinstance(event, TokenEvent)]
    assert len(tokens) > 3  # streamed piece by piece
    final = events[-1]
    assert isinstance(final, AnswerEvent)
    answer = final.answer
    streamed = resolve("".join(tokens), len(answer.retrieved))
    if answer.mode == "evidence":  # the model's citations all pointed nowhere (or it wrote nothing)
        assert streamed.order == [] and "language model failed" in answer.notice
        assert "cited no source" in answer.notice or "no text" in answer.notice
        assert answer.citations and all(sentence.supported for sentence in answer.sentences)
    else:
        assert answer.mode == "llm"
        assert [s.text for s in streamed.sentences] == [s.text for s in answer.sentences]
        assert streamed.dropped == answer.dropped_citations
        assert all(n < 1 or n > len(answer.retrieved) for n in answer.dropped_citations)
        for sentence in answer.sentences:
            assert all(1 <= n <= len(answer.citations) for n in sentence.citations)
            assert sentence.supported == (
                bool(sentence.citations) and sentence.score >= settings.answer.support_threshold
            )
        for citation in answer.citations:
            assert page_text(citation.page_id)[citation.start : citation.end] == citation.quote
        if answer.unsupported:
            assert "not supported" in answer.notice
    assert "generate" in answer.timings_ms
    from llama_index.core import Settings as LlamaSettings

    assert LlamaSettings._llm is None and LlamaSettings._callback_manager is None  # models passed explicitly


def test_server_stopped_mid_stream_falls_back(
    sample_index: BuiltIndex, embedder: Embedder, smollm2_path: Path, tmp_path: Path
) -> None:
    server = LlamaServer(smollm2_path, tmp_path / "server.log")
    try:
        settings = llm_settings(sample_index, server.url, **{"llm.max_tokens": 400, "retrieval.top_k": 1})
        assistant = Assistant.open(settings, embedder=embedder)
        events = []
        for event in assistant.stream(QUESTION):
            events.append(event)
            if isinstance(event, TokenEvent) and server.process.poll() is None:
                server.stop()  # kill -9 while it is still writing
    finally:
        server.stop()
    assert any(isinstance(event, TokenEvent) for event in events)
    answer = events[-1].answer  # type: ignore[union-attr]
    assert answer.mode == "evidence"
    assert "language model failed" in answer.notice
    assert answer.citations and all(sentence.supported for sentence in answer.sentences)


@pytest.mark.parametrize("follow_up", [False, True])
@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [("refused", "Connection"), ("hang", "Timeout"), ("500", "500"), ("junk", "")],
)
def test_backend_failures_fall_back_to_evidence(
    sample_index: BuiltIndex, embedder: Embedder, behaviour: str, reason: str, follow_up: bool
) -> None:
    """Answering (or, for a follow-up, rewriting the question) fails: quoted evidence and a notice."""
    history = [{"role": "user", "content": "What is reward hacking?"}] if follow_up else None
    if behaviour == "refused":
        url = f"http://127.0.0.1:{free_port()}/v1"
        answer = Assistant.open(llm_settings(sample_index, url), embedder=embedder).ask(QUESTION, history)
    else:
        with misbehaving_endpoint(behaviour) as url:
            settings = llm_settings(sample_index, url, **{"llm.timeout_s": 1})
            answer = Assistant.open(settings, embedder=embedder).ask(QUESTION, history)
    assert answer.mode == "evidence"
    assert "language model failed" in answer.notice and reason in answer.notice
    assert answer.notice.count("language model failed") == 1  # a dead backend is not asked twice
    assert ("follow-up" in answer.notice) == follow_up
    assert answer.citations and answer.sentences


def test_in_process_llamacpp(sample_index: BuiltIndex, embedder: Embedder, smollm2_path: Path) -> None:
    settings = load_settings(
        None,
        {
            "store.data_dir": str(sample_index.settings.store.data_dir),
            "answer.mode": "llamacpp",
            "llamacpp.model_path": str(smollm2_path),
            "llamacpp.n_ctx": 4096,
            "llm.max_tokens": 60,
            "retrieval.top_k": 1,  # a short prompt: the path under test is the same with 5 sources
            "llm.temperature": 0,
        },
    ).settings
    answer = Assistant.open(settings, embedder=embedder).ask(QUESTION)
    assert "generate" in answer.timings_ms and answer.sentences
    # the tiny model usually cites nothing (or no real source); then the evidence answer stands in
    assert answer.mode == "llamacpp" or "cited no source" in answer.notice


def test_llm_judge_on_a_real_server(sample_index: BuiltIndex, embedder: Embedder, smollm2_server: LlamaServer) -> None:
    """The LLM judge plugs into the same interface: yes/no from the model as 1/0, calibrated like any
    judge, and a dead endpoint is a clear error (the small model's verdicts are not judged here)."""
    from alignment_qa.engine.support import LlmSupport, build_judge, judge_settings
    from alignment_qa.errors import AlignmentQAError
    from alignment_qa.eval.calibration import calibrate, load_calibration
    from alignment_qa.index.lexical import Analyzer

    settings = llm_settings(sample_index, smollm2_server.url, **{"support.judge": "llm"})
    judge = build_judge(settings, embedder, Analyzer())
    assert isinstance(judge, LlmSupport) and smollm2_server.url in judge.name
    pairs = load_calibration()[:4]  # two supported, two not
    result = calibrate(judge, settings.answer.support_threshold, pairs, samples=200)
    assert set(result.scores) <= {0.0, 1.0} and len(result.scores) == 4
    assert 0.0 <= result.balanced_accuracy.mean <= 1.0 and sum(n for _, n in result.by_kind.values()) == 4
    described = judge_settings(settings, judge)
    assert described["kind"] == "llm" and described["temperature"] == 0.0
    with misbehaving_endpoint("500") as broken:
        failing = build_judge(
            llm_settings(sample_index, broken, **{"support.judge": "llm", "llm.timeout_s": 5}), embedder, Analyzer()
        )
        with pytest.raises(AlignmentQAError, match="the LLM judge failed"):
            failing.support("premise", "claim")
