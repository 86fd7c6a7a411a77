"""OpenAI-compatible chat: ``POST /v1/chat/completions`` and ``GET /v1/models`` over the assistant.

``create_openai_app(slot)`` builds a FastAPI sub-app that ``api.create_api`` mounts at ``/v1``, so
chat front-ends that speak OpenAI's protocol (Open WebUI, LibreChat, LM Studio, editors) can ask
the corpus. The last user message is the question and earlier user/assistant turns are the
history; system messages are ignored (the answer follows the pages, not instructions). ``model``
picks the answer mode (``alignment-qa-evidence``, ``-llm``, ``-llamacpp``, or ``alignment-qa`` for
the configured default). The content is the checked answer as Markdown, with unsupported sentences
flagged and a numbered source list; the structured sources ride along in a ``citations`` field,
and the answer's mode, coverage and standalone question in ``alignment_qa``.
With ``stream: true`` the progress and an LLM's draft tokens stream as ``reasoning_content`` (shown
as "thinking" by clients that know it), and the checked answer follows as ``content``, because
only the checked text is authoritative. Errors use OpenAI's ``{"error": {...}}`` shape. Login
(basic auth or ``serve.api_keys`` bearer keys) is checked by ``api``'s middleware, not here.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from alignment_qa.app.format import source_link
from alignment_qa.app.guards import openai_error
from alignment_qa.engine.answer import Answer, AnswerEvent, Mode, StatusEvent, TokenEvent
from alignment_qa.errors import AlignmentQAError, ConfigError, InvalidQuestionError, StoreUnavailableError

if TYPE_CHECKING:
    from alignment_qa.app.assistant_slot import AssistantSlot
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.settings import Settings

log = logging.getLogger(__name__)

MODEL_PREFIX = "alignment-qa"
MAX_TURNS = 50  # earlier messages kept as history (the newest); /api/ask takes at most 50 too
QUOTE_CHARS = 240
EVIDENCE_LABEL = "*Quoted evidence from the pages (no language model).*"
_MARKDOWN = re.compile(r"([\\\[\]<>`])")  # enough to stop links, images and HTML from corpus or model text


error_body = openai_error  # OpenAI's error object, as the guards' refusals on /v1 use it too


def error_response(message: str, status: int, param: str | None = None, code: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(message, status, param, code))


def load_api_keys(settings: Settings) -> list[str]:
    """Bearer keys from ``serve.api_keys`` (comma-separated) and ``serve.api_keys_file`` (one a line)."""
    entries: list[str] = []
    if settings.serve.api_keys is not None:
        entries.extend(settings.serve.api_keys.get_secret_value().split(","))
    if settings.serve.api_keys_file is not None:
        path = settings.serve.api_keys_file
        try:
            entries.extend(path.read_text(encoding="utf-8").splitlines())
        except OSError as exc:
            raise ConfigError(f"cannot read serve.api_keys_file {path}: {exc.strerror or exc}") from exc
    return [entry.strip() for entry in entries if entry.strip() and not entry.strip().startswith("#")]


def model_modes(settings: Settings) -> dict[str, Mode]:
    """Model name -> answer mode, for the modes this server is configured for."""
    models: dict[str, Mode] = {MODEL_PREFIX: settings.answer.mode}
    return models | {f"{MODEL_PREFIX}-{mode}": mode for mode in settings.configured_modes()}


class ChatMessage(BaseModel):
    """One message; extra fields (name, tool_calls, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    @field_validator("content")
    @classmethod
    def _text_parts_are_text(cls, content: str | list[dict[str, Any]] | None) -> str | list[dict[str, Any]] | None:
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "text" and not isinstance(part.get("text"), str):
                    raise ValueError("a text content part needs a string 'text'")
        return content

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "\n".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """The parts of a chat-completions request that matter here; the rest (temperature, ...) is ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False  # "yes" is not true


def _md(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def _short(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def answer_markdown(answer: Answer, server: str) -> str:
    """The answer as one Markdown message: notice, sentences with [n] (unsupported ones flagged),
    then the numbered sources, or the nearest pages when the corpus does not cover the question."""
    parts: list[str] = []
    if answer.notice:
        parts.append(f"**Note:** {_md(answer.notice)}")
    if answer.covered and answer.mode == "evidence" and answer.sentences:
        parts.append(EVIDENCE_LABEL)
    if answer.sentences:
        sentences = []
        for sentence in answer.sentences:
            body = _md(sentence.text) + "".join(f" [{n}]" for n in sentence.citations)
            sentences.append(body if sentence.supported else f"{body} *(unsupported)*")
        parts.append(" ".join(sentences))
    else:
        parts.append(_md(answer.shown_text))  # a decline's nearest pages follow as links: not twice
    if answer.citations:
        lines = ["**Sources:**", ""]
        for citation in sorted(answer.citations, key=lambda c: c.n):
            link = source_link(citation, citation.quote, server)
            quote = _md(_short(citation.quote))
            lines.append(f"{citation.n}. [{_md(citation.title)}](<{link}>) — {_md(citation.section)}: “{quote}”")
        parts.append("\n".join(lines))
    elif answer.nearest_pages:
        lines = ["**Nearest pages:**", ""]
        for passage in answer.nearest_pages:
            lines.append(f"- [{_md(passage.title)}](<{source_link(passage, '', server)}>) — {_md(passage.section)}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def citations_json(answer: Answer, server: str) -> list[dict[str, Any]]:
    """The ``citations`` field: n, page_id, title, section, url (the page's, else this server's
    ``/page`` view) and quote."""
    return [
        {
            "n": c.n,
            "page_id": c.page_id,
            "title": c.title,
            "section": c.section,
            "url": c.url or source_link(c, c.quote, server),
            "quote": c.quote,
        }
        for c in answer.citations
    ]


def answer_facts(answer: Answer) -> dict[str, Any]:
    """The ``alignment_qa`` field: the mode that answered (an LLM may have fallen back to evidence),
    whether the pages cover the question, the standalone question a follow-up became, the notice."""
    return {
        "mode": answer.mode,
        "covered": answer.covered,
        "standalone_question": answer.standalone_question,
        "notice": answer.notice,
    }


def _history(messages: list[ChatMessage]) -> list[dict[str, str]]:
    turns = [{"role": m.role, "content": m.text()} for m in messages if m.role in ("user", "assistant")]
    return turns[-MAX_TURNS:]


def _sse(data: dict[str, Any] | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def create_openai_app(slot: AssistantSlot) -> FastAPI:
    """The ``/v1`` sub-app around ``slot``'s assistant (mount it at ``/v1``)."""
    app = FastAPI(title="alignment-qa OpenAI-compatible API", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestValidationError)
    def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = [str(part) for part in first.get("loc", ()) if part != "body"]
        param = ".".join(where) or None
        message = f"{param}: {first.get('msg')}" if param else str(first.get("msg"))
        return error_response(f"invalid request: {message}", 400, param)

    @app.exception_handler(StarletteHTTPException)
    def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(str(exc.detail), exc.status_code)

    def need() -> Assistant:
        if slot.current is None:
            from alignment_qa.app.assistant_slot import NO_INDEX

            raise _Failure(NO_INDEX, 503, code="no_index")
        return slot.current

    @app.get("/models", summary="The answer modes, as OpenAI model names")
    def models() -> JSONResponse:
        try:
            assistant = need()
        except _Failure as failure:
            return failure.response()
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "alignment-qa", "mode": mode}
            for name, mode in model_modes(assistant.settings).items()
        ]
        return JSONResponse({"object": "list", "data": data})

    @app.post("/chat/completions", summary="Answer the last user message with checked citations")
    def chat(body: ChatRequest, request: Request) -> Any:
        server = f"{request.url.scheme}://{request.url.netloc}"  # for /page links (not this sub-app's /v1)
        try:
            assistant = need()
            mode = model_modes(assistant.settings).get(body.model)
            if mode is None:
                known = ", ".join(model_modes(assistant.settings))
                message = f"unknown model '{body.model[:100]}': use one of {known}"
                raise _Failure(message, 404, "model", "model_not_found")
            if body.messages[-1].role != "user":
                raise _Failure("the last message must be the user's question", 400, "messages")
            question = assistant.check_question(body.messages[-1].text())
            history = _history(body.messages[:-1])
            if not body.stream:
                answer = assistant.ask(question, history, mode)
                return JSONResponse(_completion(body.model, answer, server))
        except _Failure as failure:
            return failure.response()
        except Exception as exc:
            return _error_for(exc)
        events = _stream(assistant, question, history, mode, body.model, server)
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return app


class _Failure(Exception):
    """A request this API refuses, with its status and OpenAI error fields."""

    def __init__(self, message: str, status: int, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.param, self.code = status, param, code

    def response(self) -> JSONResponse:
        return error_response(str(self), self.status, self.param, self.code)


def _status_of(exc: Exception) -> tuple[int, str | None]:
    if isinstance(exc, InvalidQuestionError):
        return 400, "invalid_question"
    if isinstance(exc, StoreUnavailableError):
        return 503, "store_unavailable"
    return 500, None


def _message_of(exc: Exception) -> str:
    if isinstance(exc, AlignmentQAError):
        return str(exc)
    log.error("unexpected error answering a chat completion", exc_info=exc)
    return f"internal error ({type(exc).__name__}); see the server log"


def _error_for(exc: Exception) -> JSONResponse:
    status, code = _status_of(exc)
    return error_response(_message_of(exc), status, code=code)


def _completion(model: str, answer: Answer, server: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer_markdown(answer, server)},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "citations": citations_json(answer, server),
        "alignment_qa": answer_facts(answer),
    }


def _stream(
    assistant: Assistant, question: str, history: list[dict[str, str]], mode: Mode, model: str, server: str
) -> Iterator[str]:
    """``chat.completion.chunk`` events: the role, progress and draft tokens as ``reasoning_content``,
    the checked answer as ``content``, a last chunk with ``finish_reason`` and ``citations``, [DONE]."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time())}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _sse({**base, "model": model, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""})
    try:
        for event in assistant.stream(question, history, mode):
            if isinstance(event, StatusEvent):
                yield chunk({"reasoning_content": event.text + "\n"})
            elif isinstance(event, TokenEvent):
                yield chunk({"reasoning_content": event.text})
            elif isinstance(event, AnswerEvent):
                yield chunk({"content": answer_markdown(event.answer, server)})
                facts = answer_facts(event.answer)
                yield chunk({}, "stop", citations=citations_json(event.answer, server), alignment_qa=facts)
    except Exception as exc:  # the stream has started: an error event (the client raises it), not a cut
        status, code = _status_of(exc)
        yield _sse(error_body(_message_of(exc), status, code=code))
    yield _sse("[DONE]")
