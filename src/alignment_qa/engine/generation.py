"""LLM answer modes: build the LlamaIndex LLM for a mode and a synthesizer that streams cited text.

``build_llm`` makes an ``OpenAILike`` client for any OpenAI-compatible endpoint, or a
``LlamaCPP`` model in-process for a GGUF file; both are passed explicitly (no global
``Settings``). ``CitedAnswerSynthesizer`` numbers the passages, wraps each in ``<source id="n">`` tags (the
system prompt says their text is data, never instructions), fills the prompts from
``alignment_qa.prompts`` and streams the model's tokens. ``LlmModes`` builds each mode's LLM and
synthesizer once, on first use, and holds the lock llama.cpp's one context needs. ``llm_draft``
turns the streamed text into a ``Draft`` (or says the model refused). Checking the citations it
writes is left to ``verify``; falling back on failure is left to ``query_engine``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Generator, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.callbacks import CallbackManager
from llama_index.core.indices.prompt_helper import PromptHelper
from llama_index.core.llms import LLM
from llama_index.core.prompts.mixin import PromptDictType
from llama_index.core.response_synthesizers import BaseSynthesizer
from llama_index.core.types import RESPONSE_TEXT_TYPE

from alignment_qa.engine import citations as cite
from alignment_qa.engine.evidence import Draft
from alignment_qa.errors import ConfigError, ModelLoadError
from alignment_qa.extras import require_extra
from alignment_qa.prompts import load_prompt
from alignment_qa.settings import Settings

# Tokens of the instructions and question around the sources.
PROMPT_OVERHEAD_TOKENS = 300
# What an OpenAI-compatible endpoint is assumed to accept; sources are cut to fit it.
ENDPOINT_CONTEXT_TOKENS = 8192
_REFUSAL = re.compile(
    r"\b(?:sources?|pages?|context)\b[^.]{0,40}\b(?:do not|does not|don't|doesn't)\s+(?:cover|say|mention|answer)", re.I
)


def build_llm(settings: Settings, mode: str) -> LLM:
    """The LLM for ``mode``, one case per LLM answer mode (adding a mode: a value of
    ``settings.Mode``, a readiness check in ``Settings.configured_modes``, a case here, and its
    source budget in ``LlmModes.synthesizer``); ``ConfigError`` when it is not configured."""
    match mode:
        case "llm":
            return _openai_like(settings)
        case "llamacpp":
            return _llama_cpp(settings)
        case _:
            raise ConfigError(f"no LLM for answer mode '{mode}'")


def _openai_like(settings: Settings) -> LLM:
    llm_settings = settings.llm
    if not llm_settings.base_url:
        raise ConfigError("answer.mode = llm needs llm.base_url (e.g. --llm-url http://127.0.0.1:8080/v1)")
    from llama_index.llms.openai_like import OpenAILike

    key = llm_settings.api_key.get_secret_value() if llm_settings.api_key else os.environ.get("OPENAI_API_KEY")
    return OpenAILike(
        model=llm_settings.model,
        api_base=llm_settings.base_url,
        api_key=key or "no-key",
        is_chat_model=llm_settings.chat,
        timeout=llm_settings.timeout_s,
        max_retries=0,
        temperature=llm_settings.temperature,
        max_tokens=llm_settings.max_tokens,
        context_window=ENDPOINT_CONTEXT_TOKENS,
    )


def _llama_cpp(settings: Settings) -> LLM:
    path = settings.llamacpp.model_path
    if path is None:
        raise ConfigError("answer.mode = llamacpp needs llamacpp.model_path (a .gguf file)")
    if not path.is_file():
        raise ConfigError(f"llamacpp.model_path does not exist: {path}")
    require_extra("llama_cpp", "llamacpp", "answer.mode = llamacpp")
    from llama_index.llms.llama_cpp import LlamaCPP

    model_kwargs: dict[str, Any] = {}
    if settings.llamacpp.n_threads:
        model_kwargs["n_threads"] = settings.llamacpp.n_threads
    try:
        return LlamaCPP(
            model_path=str(path),
            temperature=settings.llm.temperature,
            max_new_tokens=settings.llm.max_tokens,
            context_window=settings.llamacpp.n_ctx,
            model_kwargs=model_kwargs,
            verbose=False,
        )
    except Exception as exc:  # llama.cpp raises ValueError/RuntimeError for bad files
        raise ModelLoadError(f"cannot load GGUF model {path}: {exc}") from exc


def number_sources(text_chunks: Sequence[str], max_chars: int | None = None) -> str:
    """The sources block of the prompt: each source as ``<source id="n">`` title and section lines,
    text ``</source>``, so the model can tell quoted page text from its instructions.

    Anything in a page that looks like one of these tags is defused (its ``<`` becomes ``‹``), so
    a page cannot close its own source and write outside it. With ``max_chars``, each source is
    cut to an equal share so the block fits the model's window.
    """
    share = max_chars // max(len(text_chunks), 1) if max_chars else None
    parts = []
    for n, chunk in enumerate(text_chunks, 1):
        text = chunk.strip()
        if share is not None and len(text) > share:
            text = text[:share].rsplit(" ", 1)[0] + " …"
        parts.append(f'<source id="{n}">\n{defuse_tags(text)}\n</source>')
    return "\n\n".join(parts)


_TAG_LOOKALIKE = re.compile(r"<(\s*/?\s*source)", re.I)


def defuse_tags(text: str) -> str:
    """``text`` with every ``<source`` / ``</source`` look-alike turned into ``‹source``."""
    return _TAG_LOOKALIKE.sub(r"‹\1", text)


def source_budget(context_window: int, max_tokens: int) -> int:
    """Characters of sources that fit beside the instructions and the answer (about 3 per token)."""
    return max(1000, (context_window - max_tokens - PROMPT_OVERHEAD_TOKENS) * 3)


class CitedAnswerSynthesizer(BaseSynthesizer):
    """Asks the LLM for a short answer citing the numbered passages; streams tokens.

    The callback manager and prompt helper are given explicitly, so LlamaIndex's global
    ``Settings`` are never read or created.
    """

    def __init__(self, llm: LLM, chat: bool = True, max_source_chars: int | None = None) -> None:
        super().__init__(
            llm=llm,
            streaming=True,
            callback_manager=CallbackManager([]),
            prompt_helper=PromptHelper.from_llm_metadata(llm.metadata),
        )
        self._chat = chat
        self._max_source_chars = max_source_chars
        self._system = load_prompt("answer_system")
        self._user = load_prompt("answer_user")

    def _get_prompts(self) -> PromptDictType:
        return {}

    def _update_prompts(self, prompts: PromptDictType) -> None:
        return None

    def messages(self, query_str: str, text_chunks: Sequence[str]) -> list[ChatMessage]:
        user = self._user.format(sources=number_sources(text_chunks, self._max_source_chars), question=query_str)
        return [
            ChatMessage(role=MessageRole.SYSTEM, content=self._system),
            ChatMessage(role=MessageRole.USER, content=user),
        ]

    def get_response(self, query_str: str, text_chunks: Sequence[str], **response_kwargs: Any) -> RESPONSE_TEXT_TYPE:
        messages = self.messages(query_str, text_chunks)
        return self._stream(messages)

    def _stream(self, messages: list[ChatMessage]) -> Generator[str, None, None]:
        if self._chat:
            for chunk in self._llm.stream_chat(messages):
                if chunk.delta:
                    yield chunk.delta
        else:
            prompt = "\n\n".join(str(message.content) for message in messages)
            for piece in self._llm.stream_complete(prompt):
                if piece.delta:
                    yield piece.delta

    async def aget_response(
        self, query_str: str, text_chunks: Sequence[str], **response_kwargs: Any
    ) -> RESPONSE_TEXT_TYPE:
        return "".join(self._stream(self.messages(query_str, text_chunks)))


class Refusal(Exception):
    """The LLM said the sources do not cover the question."""


def llm_draft(text: str, n_passages: int) -> Draft:
    """The draft of an LLM's answer over ``n_passages`` sources; ``Refusal`` when it says they do
    not cover the question, ``ValueError`` when it wrote nothing or cited no real source."""
    parsed = cite.resolve(text, n_passages)
    if not parsed.sentences:
        raise ValueError("the model returned no text")
    if not parsed.order:
        if _REFUSAL.search(text):
            raise Refusal
        raise ValueError("the model cited no source")
    return Draft(parsed)


class LlmModes:
    """Each LLM answer mode's model and synthesizer, built once on first use (a model given at
    construction serves the configured mode), and the lock of llama.cpp's one context."""

    def __init__(self, settings: Settings, llm: LLM | None = None) -> None:
        self._settings = settings
        self._llms: dict[str, LLM] = {}
        if llm is not None and settings.answer.mode != "evidence":
            self._llms[settings.answer.mode] = llm
        self._synthesizers: dict[str, CitedAnswerSynthesizer] = {}
        self._build_lock = threading.Lock()  # building a model, once per mode; never held while one generates
        self._llamacpp_lock = threading.Lock()  # one llama.cpp context: one generation at a time

    def ready(self, mode: str) -> bool:
        """Whether ``mode`` has a model: one given at construction, or settings to build one from."""
        return mode in self._llms or mode in self._settings.configured_modes()

    def llm(self, mode: str) -> LLM:
        """The LLM of ``mode``; ``ConfigError`` (or ``ModelLoadError``) when it cannot be built."""
        with self._build_lock:
            if mode not in self._llms:
                self._llms[mode] = build_llm(self._settings, mode)
            return self._llms[mode]

    def synthesizer(self, mode: str) -> CitedAnswerSynthesizer:
        """The synthesizer writing ``mode``'s answers, with the sources cut to fit its model's window."""
        llm = self.llm(mode)
        with self._build_lock:
            if mode not in self._synthesizers:
                settings = self._settings
                if mode == "llamacpp":
                    budget = source_budget(settings.llamacpp.n_ctx, settings.llm.max_tokens)
                    synthesizer = CitedAnswerSynthesizer(llm, chat=True, max_source_chars=budget)
                else:
                    budget = source_budget(ENDPOINT_CONTEXT_TOKENS, settings.llm.max_tokens)
                    synthesizer = CitedAnswerSynthesizer(llm, chat=settings.llm.chat, max_source_chars=budget)
                self._synthesizers[mode] = synthesizer
            return self._synthesizers[mode]

    def exclusive(self, mode: str) -> threading.Lock | None:
        """The lock a call to ``mode``'s model must hold (llama.cpp in-process), or ``None``; hold it in a
        worker (``locked_stream``), never across a yield."""
        return self._llamacpp_lock if mode == "llamacpp" else None


def condense_with_llm(llm: LLM, history: Sequence[str], question: str) -> str:
    """A standalone question written by the LLM from the user's earlier turns."""
    prompt = load_prompt("condense").format(history="\n".join(f"User: {turn}" for turn in history), question=question)
    text = llm.complete(prompt).text.strip().splitlines()
    return text[0].strip() if text and text[0].strip() else question
