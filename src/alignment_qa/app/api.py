"""The HTTP API: ask (JSON or server-sent events), health and stats, as a FastAPI app factory.

``create_api(slot)`` takes the ``Assistant`` as a dependency (in an ``AssistantSlot``, empty
while there is no index, filled or replaced when the chat page's Index tab builds one), so tests
build the real app around a real index; without one, answering says how to add pages.
Validation errors are 422 with a message (quoting at most a short excerpt of the input), engine
failures a 5xx with a message. Answers carry an ``answer_id`` that feedback must present. The
guards of ``guards`` (Host allowlist, foreign origins, body size, login throttle) wrap the whole
app, the mounted chat page included. The chat page is mounted beside it by ``web``; serving is
left to ``cli``.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from alignment_qa import __version__
from alignment_qa.app.answer_ids import AnswerSigner
from alignment_qa.app.assistant_slot import NO_INDEX, AssistantSlot
from alignment_qa.app.feedback import FeedbackStore, ForgedAnswerError, settings_used
from alignment_qa.app.format import page_html
from alignment_qa.app.guards import (
    BodyLimit,
    HostGuard,
    LoginThrottle,
    OriginGuard,
    RateLimit,
    ThrottledLogin,
    allowed_host_names,
    client_of,
    excerpt,
    lockout_message,
)
from alignment_qa.app.openai_compat import create_openai_app, error_body
from alignment_qa.engine.answer import Answer, AnswerEvent, StatusEvent, TokenEvent
from alignment_qa.errors import AlignmentQAError, InvalidQuestionError, StoreUnavailableError
from alignment_qa.settings import Mode, ServeSettings, public_settings

if TYPE_CHECKING:
    from alignment_qa.engine.assistant import Assistant

log = logging.getLogger(__name__)
# Routes behind HTTP basic auth when logins are configured (the chat page has Gradio's own login).
PROTECTED = ("/api/", "/page/", "/openapi.json", "/v1/")
UPLOAD_ROUTE = "/gradio_api/upload"  # Gradio's upload route: its own, larger body limit
LOGIN_ROUTES = ("/login", "/login/")  # Gradio's login form


class Turn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class IssuedAnswer(Answer):
    """An answer as this server gives it out: with the id that feedback on it must present."""

    answer_id: str = Field("", description="This server's id of the answer; /api/feedback needs it.")


class FeedbackRequest(BaseModel):
    """Feedback on an answer: thumbs up/down, or a citation flagged as the wrong source."""

    kind: Literal["up", "down", "wrong_source"]
    answer: IssuedAnswer = Field(description="The Answer JSON the feedback is about, answer_id included, unchanged.")
    citation: int | None = Field(None, ge=1, description="For wrong_source: the citation number.")
    comment: str = Field("", max_length=2000)


class AskRequest(BaseModel):
    """A question, with optional history and per-request settings."""

    question: str = Field(max_length=20_000, description="The question, in plain words.")
    history: list[Turn] = Field(default_factory=list, max_length=50, description="Earlier turns, oldest first.")
    top_k: int | None = Field(None, ge=1, le=50, description="Passages handed to the answer.")
    mode: Mode | None = Field(None, description="Answer mode; default from settings.")


def _events(assistant: Assistant, request: AskRequest) -> Iterator[Any]:
    history = [turn.model_dump() for turn in request.history]
    return assistant.stream(request.question, history, request.mode, request.top_k)


SessionCheck = Callable[[Request], bool]


def _basic_auth(
    logins: list[tuple[str, str]],
    signed_in: SessionCheck | None,
    api_keys: Sequence[str] = (),
    throttle: LoginThrottle | None = None,
) -> Any:
    """A middleware asking for HTTP basic auth (or a bearer key of ``api_keys``) on the API, page and
    schema routes. A browser already signed in to the chat page (``signed_in``) is let through, so
    source links just open. Failed credentials count in ``throttle`` (delay, then 429)."""
    allowed = [f"{user}:{password}".encode() for user, password in logins]
    keys = [key.encode() for key in api_keys]

    async def check(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith(PROTECTED) and not (signed_in and signed_in(request)):
            header = request.headers.get("authorization", "")
            client = client_of(request.scope)
            locked = await throttle.before_attempt(client) if throttle and header else 0.0
            if locked:
                return JSONResponse(
                    status_code=429,
                    content={"detail": lockout_message(locked)},
                    headers={"Retry-After": str(int(locked) + 1)},
                )
            given = b""
            if header.lower().startswith("basic "):
                try:
                    given = base64.b64decode(header[6:], validate=True)
                except ValueError:
                    given = b""
            bearer = header[7:].strip().encode() if header.lower().startswith("bearer ") else b""
            # compare bytes: hmac.compare_digest refuses non-ASCII str
            if not any(hmac.compare_digest(given, login) for login in allowed) and not (
                bearer and any(hmac.compare_digest(bearer, key) for key in keys)
            ):
                if throttle and header:
                    throttle.failed(client)
                openai = request.url.path.startswith("/v1/")  # OpenAI clients read {"error": {...}}
                return JSONResponse(
                    status_code=401,
                    content=error_body("login required", 401, code="invalid_api_key")
                    if openai
                    else {"detail": "login required"},
                    headers={"WWW-Authenticate": 'Basic realm="alignment-qa"'},
                )
            if throttle and header:
                throttle.succeeded(client)
        return await call_next(request)

    return check


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


_EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def short_validation_errors(_: Any, exc: Exception) -> JSONResponse:
    """A 422 naming each bad field and why, quoting at most a short excerpt of what was sent
    (FastAPI's default echoes the whole input back)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = []
    for error in errors[:20]:
        item: dict[str, Any] = {
            "loc": [str(part) for part in error.get("loc", ())][:10],
            "msg": excerpt(str(error.get("msg", "")), 200),
            "type": str(error.get("type", "")),
        }
        if "input" in error and not isinstance(error["input"], (dict, list)):
            item["input"] = excerpt(str(error["input"]))
        detail.append(item)
    return JSONResponse(status_code=422, content={"detail": detail})


def install_guards(app: FastAPI, serve: ServeSettings, throttle: LoginThrottle) -> None:
    """The app-wide limits, outermost first: Host allowlist, foreign origins, body size (uploads
    get room for ``serve.max_upload_files`` files), Gradio's login form throttled."""
    upload_bytes = int(serve.max_upload_mb * 1_000_000) * serve.max_upload_files + serve.max_body_bytes
    app.add_middleware(ThrottledLogin, throttle=throttle, paths=LOGIN_ROUTES)
    app.add_middleware(BodyLimit, max_bytes=serve.max_body_bytes, limits={UPLOAD_ROUTE: upload_bytes})
    app.add_middleware(OriginGuard, trusted=serve.allowed_hosts)
    app.add_middleware(HostGuard, names=allowed_host_names(serve.host, serve.allowed_hosts))


def login_throttle(serve: ServeSettings) -> LoginThrottle:
    """One throttle for the API's basic auth and the chat page's login form."""
    return LoginThrottle(serve.login_delay_s, serve.login_lockout_after, serve.login_lockout_s)


def create_api(
    slot: AssistantSlot,
    feedback: FeedbackStore | None = None,
    logins: list[tuple[str, str]] | None = None,
    signed_in: SessionCheck | None = None,
    api_keys: list[str] | None = None,
    serve: ServeSettings | None = None,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The API app around ``slot``'s assistant. With ``logins``, every ``/api`` and ``/page``
    route and the schema need HTTP basic auth with one of them (or ``signed_in`` to say yes).
    ``serve``'s limits apply to every route (defaults when not given); ``throttle`` counts failed
    logins (one is made from ``serve`` when not given).
    The schema is at ``/openapi.json``; no docs page, since Swagger's would load from a CDN."""
    serve = serve or ServeSettings()
    throttle = throttle or login_throttle(serve)
    signer: AnswerSigner | None = feedback.signer if feedback else None
    feedback_rate = RateLimit(serve.feedback_per_minute)
    api = FastAPI(
        title="alignment-qa",
        version=__version__,
        description="Citation-grounded answers over AI-alignment pages.",
        docs_url=None,
        redoc_url=None,
    )
    if logins or api_keys:
        api.middleware("http")(_basic_auth(logins or [], signed_in, api_keys or [], throttle))
    install_guards(api, serve, throttle)
    api.add_exception_handler(RequestValidationError, short_validation_errors)
    api.mount("/v1", create_openai_app(slot))  # OpenAI-compatible chat for other front-ends

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

    def issued(answer: Answer) -> dict[str, Any]:
        data = answer.model_dump(mode="json")
        return signer.signed(data) if signer else data

    @api.post("/api/ask", response_model=IssuedAnswer, summary="Answer a question with checked citations")
    def ask(request: AskRequest) -> dict[str, Any]:
        history = [turn.model_dump() for turn in request.history]
        return issued(need_assistant().ask(request.question, history, request.mode, request.top_k))

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
                        yield _sse("answer", issued(event.answer))
            except AlignmentQAError as exc:
                yield _sse("error", {"detail": str(exc)})
            except Exception as exc:  # the stream has started: an error event, not a broken connection
                log.error("unexpected error while streaming an answer", exc_info=exc)
                yield _sse("error", {"detail": f"internal error ({type(exc).__name__}); see the log"})

        return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @api.get("/page/{page_id:path}", response_class=HTMLResponse, summary="A local view of an indexed page")
    def page(page_id: str) -> HTMLResponse:
        current = need_assistant()
        chunks = current.page(page_id)
        if not chunks:
            raise HTTPException(status_code=404, detail=f"no page '{excerpt(page_id, 200)}' in the index")
        return HTMLResponse(page_html(page_id, chunks))

    @api.post("/api/feedback", summary="Store feedback on an answer (thumbs, or a wrong-source flag)")
    def give_feedback(request: FeedbackRequest, http: Request) -> dict[str, Any]:
        if feedback is None:
            raise HTTPException(status_code=503, detail="feedback is not stored by this server")
        if not feedback_rate.allow(client_of(http.scope)):
            raise HTTPException(
                status_code=429,
                detail=f"too much feedback from your address: at most {serve.feedback_per_minute} a minute "
                "(serve.feedback_per_minute)",
            )
        answer = request.answer.model_dump(mode="json")
        settings = settings_used(public_settings(slot.current.settings) if slot.current else {}, answer)
        try:
            record = feedback.record(request.kind, answer, settings, request.citation, request.comment)
        except ForgedAnswerError as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return {"id": record}

    @api.api_route("/api/health", methods=["GET", "HEAD"], summary="Liveness and whether an index is loaded")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "index": slot.current is not None}

    @api.get("/api/stats", summary="What the index holds")
    def stats() -> dict[str, Any]:
        current = need_assistant()
        info = current.stats()
        info["answer_mode"] = current.settings.answer.mode
        return info

    @api.api_route("/api/{rest:path}", methods=_EVERY_METHOD, include_in_schema=False)
    def not_here(request: Request) -> JSONResponse:
        """Last of the /api routes, before the chat page mounted at "/" would answer 404 for them all: a known path
        asked with another method is a 405 naming the allowed ones; an unknown path a 404."""
        allowed = sorted(
            {
                method
                for route in api.routes
                if getattr(route, "path", None) == request.url.path
                for method in getattr(route, "methods", None) or ()
            }
        )
        if allowed:
            return JSONResponse(
                {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(allowed)}
            )
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    return api
