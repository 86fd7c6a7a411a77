"""The HTTP API: ask (JSON or server-sent events), health and stats, as a FastAPI app factory.

``create_api(slot)`` takes the ``Assistant`` as a dependency (in an ``AssistantSlot``, empty
while there is no index, filled or replaced when the chat page's Index tab builds one), so tests
build the real app around a real index; without one, answering says how to add pages.
Validation errors are 422 with a message, engine failures a 5xx with a message.
The chat page is mounted beside it by ``web``; serving is left to ``cli``.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from alignment_qa import __version__
from alignment_qa.app.feedback import FeedbackStore
from alignment_qa.app.format import page_html
from alignment_qa.engine.answer import Answer, AnswerEvent, StatusEvent, TokenEvent
from alignment_qa.errors import AlignmentQAError, InvalidQuestionError, StoreUnavailableError

if TYPE_CHECKING:
    from alignment_qa.engine.assistant import Assistant

NO_INDEX = (
    "There is no index yet: add pages in the Index tab of the chat page, or with `alignment-qa ingest PATH` "
    "(try sample-corpus/)."
)
log = logging.getLogger(__name__)
# Routes behind HTTP basic auth when logins are configured (the chat page has Gradio's own login).
PROTECTED = ("/api/", "/page/", "/openapi.json")


class AssistantSlot:
    """The assistant a server answers with; ``current`` is ``None`` until there is an index."""

    def __init__(self, assistant: Assistant | None = None) -> None:
        self.current = assistant


class Turn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class FeedbackRequest(BaseModel):
    """Feedback on an answer: thumbs up/down, or a citation flagged as the wrong source."""

    kind: Literal["up", "down", "wrong_source"]
    answer: Answer = Field(description="The Answer JSON the feedback is about.")
    citation: int | None = Field(None, ge=1, description="For wrong_source: the citation number.")
    comment: str = Field("", max_length=2000)


class AskRequest(BaseModel):
    """A question, with optional history and per-request settings."""

    question: str = Field(min_length=1, max_length=20_000, description="The question, in plain words.")
    history: list[Turn] = Field(default_factory=list, max_length=50, description="Earlier turns, oldest first.")
    top_k: int | None = Field(None, ge=1, le=50, description="Passages handed to the answer.")
    mode: Literal["evidence", "llm", "llamacpp"] | None = Field(None, description="Answer mode; default from settings.")


def _events(assistant: Assistant, request: AskRequest) -> Iterator[Any]:
    history = [turn.model_dump() for turn in request.history]
    return assistant.stream(request.question, history, request.mode, request.top_k)


SessionCheck = Callable[[Request], bool]


def _basic_auth(logins: list[tuple[str, str]], signed_in: SessionCheck | None) -> Any:
    """A middleware asking for HTTP basic auth on the API, page and schema routes. A browser
    already signed in to the chat page (``signed_in``) is let through, so source links just open."""
    allowed = [f"{user}:{password}".encode() for user, password in logins]

    async def check(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith(PROTECTED) and not (signed_in and signed_in(request)):
            header = request.headers.get("authorization", "")
            given = b""
            if header.lower().startswith("basic "):
                try:
                    given = base64.b64decode(header[6:], validate=True)
                except ValueError:
                    given = b""
            # compare bytes: hmac.compare_digest refuses non-ASCII str
            if not any(hmac.compare_digest(given, login) for login in allowed):
                return JSONResponse(
                    status_code=401,
                    content={"detail": "login required"},
                    headers={"WWW-Authenticate": 'Basic realm="alignment-qa"'},
                )
        return await call_next(request)

    return check


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def create_api(
    slot: AssistantSlot,
    feedback: FeedbackStore | None = None,
    logins: list[tuple[str, str]] | None = None,
    signed_in: SessionCheck | None = None,
) -> FastAPI:
    """The API app around ``slot``'s assistant. With ``logins``, every ``/api`` and ``/page``
    route and the schema need HTTP basic auth with one of them (or ``signed_in`` to say yes).
    The schema is at ``/openapi.json``; no docs page, since Swagger's would load from a CDN."""
    api = FastAPI(
        title="alignment-qa",
        version=__version__,
        description="Citation-grounded answers over AI-alignment pages.",
        docs_url=None,
        redoc_url=None,
    )
    if logins:
        api.middleware("http")(_basic_auth(logins, signed_in))

    def need_assistant() -> Assistant:
        if slot.current is None:
            raise HTTPException(status_code=503, detail=NO_INDEX)
        return slot.current

    @api.exception_handler(InvalidQuestionError)
    def _invalid(_: Any, exc: InvalidQuestionError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @api.exception_handler(StoreUnavailableError)
    def _store(_: Any, exc: StoreUnavailableError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @api.exception_handler(AlignmentQAError)
    def _engine(_: Any, exc: AlignmentQAError) -> JSONResponse:
        return JSONResponse(status_code=500, content={"detail": str(exc)})

    @api.exception_handler(Exception)
    def _bug(_: Any, exc: Exception) -> JSONResponse:
        log.error("unexpected error answering a request", exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": f"internal error ({type(exc).__name__}); see the log"})

    @api.post("/api/ask", response_model=Answer, summary="Answer a question with checked citations")
    def ask(request: AskRequest) -> Answer:
        answer = None
        for event in _events(need_assistant(), request):
            if isinstance(event, AnswerEvent):
                answer = event.answer
        if answer is None:  # pragma: no cover - stream() always ends with an answer
            raise HTTPException(status_code=500, detail="the engine returned no answer")
        return answer

    @api.post(
        "/api/ask/stream",
        summary="Answer as server-sent events: status, token..., then answer (authoritative) or error",
        response_class=StreamingResponse,
    )
    def ask_stream(request: AskRequest) -> StreamingResponse:
        current = need_assistant()
        current.check_question(request.question)  # a bad question is a 422 before the stream starts

        def body() -> Iterator[str]:
            try:
                for event in _events(current, request):
                    if isinstance(event, TokenEvent):
                        yield _sse("token", {"text": event.text})
                    elif isinstance(event, StatusEvent):
                        yield _sse("status", {"text": event.text})
                    elif isinstance(event, AnswerEvent):
                        yield _sse("answer", event.answer.model_dump(mode="json"))
            except AlignmentQAError as exc:
                yield _sse("error", {"detail": str(exc)})
            except Exception as exc:  # the stream has started: an error event, not a broken connection
                log.error("unexpected error while streaming an answer", exc_info=exc)
                yield _sse("error", {"detail": f"internal error ({type(exc).__name__}); see the log"})

        return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @api.get("/page/{page_id:path}", response_class=HTMLResponse, summary="A local view of an indexed page")
    def page(page_id: str) -> HTMLResponse:
        current = need_assistant()
        chunks = current.store.page_chunks(current.collection, page_id)
        if not chunks:
            raise HTTPException(status_code=404, detail=f"no page '{page_id}' in the index")
        return HTMLResponse(page_html(page_id, chunks))

    @api.post("/api/feedback", summary="Store feedback on an answer (thumbs, or a wrong-source flag)")
    def give_feedback(request: FeedbackRequest) -> dict[str, Any]:
        if feedback is None:
            raise HTTPException(status_code=503, detail="feedback is not stored by this server")
        settings = slot.current.settings.model_dump(mode="json") if slot.current else {}
        settings.setdefault("answer", {})["mode"] = request.answer.mode  # the mode that answered
        answer = request.answer.model_dump(mode="json")
        try:
            record = feedback.record(request.kind, answer, settings, request.citation, request.comment)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return {"id": record}

    @api.get("/api/health", summary="Liveness and whether an index is loaded")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "index": slot.current is not None}

    @api.get("/api/stats", summary="What the index holds")
    def stats() -> dict[str, Any]:
        current = need_assistant()
        info = current.store.info(current.collection)
        info["answer_mode"] = current.settings.answer.mode
        return info

    return api
