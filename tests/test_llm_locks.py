"""The assistant's locks: building models and llama.cpp in-process generation are guarded apart,
and no lock is held across a yield, so an ``llm``-mode answer never waits behind a streaming
``llamacpp`` one, and a paused or abandoned stream frees the llama.cpp lock.

The unit under test is the locking, so a scripted in-process LLM stands in for llama.cpp (its
one context is what the lock protects; the real model is tested in test_llm_backend.py). The
``llm`` mode talks HTTP to a real endpoint that answers 500, which is quick and deterministic.
Every wait here has a timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from pydantic import PrivateAttr

from alignment_qa.engine.answer import Answer, AnswerEvent, StreamEvent, TokenEvent
from alignment_qa.engine.assistant import Assistant
from alignment_qa.index.embedder import Embedder
from alignment_qa.settings import load_settings
from conftest import BuiltIndex
from llm_servers import misbehaving_endpoint

QUESTION = "Is RLHF an inner alignment fix?"
ANSWER = "RLHF trains a model on human feedback [1]. It does not settle inner alignment [1]."
WAIT_S = 15.0  # far longer than any step here takes, far shorter than a hang
LONG_WORDS = 5000  # at 5 ms a word, longer than WAIT_S to finish


class ScriptedLlama(CustomLLM):
    """Stands in for llama.cpp in-process: streams ``ANSWER`` word by word. While ``gate`` is
    clear it stops after the first word (a generation in progress); with ``long_first`` its first
    stream is ``LONG_WORDS`` slow words, to show an abandoned one is stopped early."""

    _gate: threading.Event = PrivateAttr(default_factory=threading.Event)
    _stopped: threading.Event = PrivateAttr(default_factory=threading.Event)
    _long_first: bool = PrivateAttr(False)
    _calls: int = PrivateAttr(0)
    _produced: list[int] = PrivateAttr(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=4096, num_output=120, model_name="scripted-llama")

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=ANSWER)

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        long = self._long_first and self._calls == 0
        self._calls += 1
        words = [f"word{i} " for i in range(LONG_WORDS)] if long else [f"{w} " for w in ANSWER.split()]
        produced = len(self._produced)
        self._produced.append(0)

        def generate() -> Iterator[CompletionResponse]:
            text = ""
            try:
                for i, word in enumerate(words):
                    if i == 1 and not self._gate.wait(WAIT_S):
                        raise TimeoutError("the test never opened the gate")
                    if long:
                        self._stopped.wait(0.005)  # slow enough that finishing would take seconds
                    text += word
                    self._produced[produced] += 1
                    yield CompletionResponse(text=text, delta=word)
            finally:
                if long:
                    self._stopped.set()

        return generate()


def _assistant(index: BuiltIndex, embedder: Embedder, llama: ScriptedLlama, url: str) -> Assistant:
    overrides = {
        "store.data_dir": str(index.settings.store.data_dir),
        "answer.mode": "llamacpp",
        "llm.base_url": url,
        "llm.timeout_s": 5,
        "llm.max_tokens": 120,
    }
    return Assistant.open(load_settings(None, overrides).settings, embedder=embedder, llm=llama)


def _first_token(stream: Iterator[StreamEvent]) -> None:
    for event in stream:
        if isinstance(event, TokenEvent):
            return
    raise AssertionError("the stream ended before its first token")


def _in_thread(call: Any) -> tuple[threading.Thread, list[Answer]]:
    done: list[Answer] = []
    thread = threading.Thread(target=lambda: done.append(call()), daemon=True)
    thread.start()
    return thread, done


def _final(stream: Iterator[StreamEvent]) -> Answer:
    events = list(stream)
    assert isinstance(events[-1], AnswerEvent)
    return events[-1].answer


@pytest.fixture
def endpoint() -> Iterator[str]:
    with misbehaving_endpoint("500") as url:
        yield url


def test_an_llm_answer_does_not_wait_for_a_llamacpp_generation(
    sample_index: BuiltIndex, embedder: Embedder, endpoint: str
) -> None:
    """Regression: one lock guarded building models and llama.cpp generation, held across yields,
    so an ``llm``-mode question waited until the streaming ``llamacpp`` answer ended."""
    llama = ScriptedLlama()
    assistant = _assistant(sample_index, embedder, llama, endpoint)
    stream = assistant.stream(QUESTION)
    _first_token(stream)  # the llama.cpp stand-in is mid-generation now, held at its gate
    thread, done = _in_thread(lambda: assistant.ask(QUESTION, mode="llm"))
    try:
        thread.join(WAIT_S)
        assert done, "the llm-mode answer waited behind the llama.cpp stream"
        assert done[0].mode == "evidence" and "500" in done[0].notice  # it did reach its endpoint
    finally:
        llama._gate.set()
        thread.join(WAIT_S)
    answer = _final(stream)
    assert answer.mode == "llamacpp" and answer.text.startswith("RLHF trains")


def test_a_paused_llamacpp_stream_does_not_hold_the_lock(
    sample_index: BuiltIndex, embedder: Embedder, endpoint: str
) -> None:
    """A reader that stops reading mid-answer (a slow client, a dropped connection nobody closed)
    holds no lock: the generation finishes in its worker, and the next llama.cpp answer runs."""
    llama = ScriptedLlama()
    llama._gate.set()
    assistant = _assistant(sample_index, embedder, llama, endpoint)
    paused = assistant.stream(QUESTION)
    _first_token(paused)  # and then not read again until the other answer is done
    thread, done = _in_thread(lambda: assistant.ask(QUESTION))
    thread.join(WAIT_S)
    assert done, "a second llama.cpp answer waited for a paused stream"
    assert done[0].mode == "llamacpp" and done[0].text.startswith("RLHF trains")
    assert _final(paused).mode == "llamacpp"  # the paused one lost nothing


@pytest.mark.parametrize("abandon", ["close", "drop"])
def test_an_abandoned_llamacpp_stream_stops_and_frees_the_lock(
    sample_index: BuiltIndex, embedder: Embedder, endpoint: str, abandon: str
) -> None:
    llama = ScriptedLlama()
    llama._gate.set()
    llama._long_first = True
    assistant = _assistant(sample_index, embedder, llama, endpoint)
    stream = assistant.stream(QUESTION)
    _first_token(stream)
    if abandon == "close":
        stream.close()
    else:
        del stream  # the last reference: CPython closes it now
    assert llama._stopped.wait(WAIT_S), "the abandoned generation went on"
    thread, done = _in_thread(lambda: assistant.ask(QUESTION))
    thread.join(WAIT_S)
    assert done and done[0].mode == "llamacpp", "the lock stayed taken after the stream was abandoned"
    assert llama._produced[0] < LONG_WORDS  # stopped early, not run to the end
