"""Where the bot gets its answers: the ``Assistant`` in this process, or an alignment-qa HTTP API.

Both give an ``Answer`` for a question and the conversation so far, synchronously (the bot runs
them in a worker thread). API failures become ``AnswerUnavailableError`` with a message that
never includes the login; an invalid question stays ``InvalidQuestionError`` with the API's
own message. Formatting and Discord itself are left to the other modules.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from alignment_qa.engine.answer import Answer
from alignment_qa.errors import AlignmentQAError, InvalidQuestionError
from alignment_qa.settings import masked_url

if TYPE_CHECKING:
    import httpx

    from alignment_qa.engine.assistant import Assistant

History = Sequence[Mapping[str, str]]


class AnswerUnavailableError(AlignmentQAError):
    """The answer service could not answer (down, refused, timed out, no index)."""


class AnswerSource(Protocol):
    """Anything that answers a question given the earlier turns."""

    def ask(self, question: str, history: History) -> Answer: ...

    def describe(self) -> str: ...


class LocalAnswers:
    """Answers from an ``Assistant`` loaded in this process."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def ask(self, question: str, history: History) -> Answer:
        return self.assistant.ask(question, history)

    def describe(self) -> str:
        return f"the index at {self.assistant.location}"


class ApiAnswers:
    """Answers from ``POST {base_url}/api/ask`` of an ``alignment-qa serve`` server."""

    def __init__(self, base_url: str, auth: str | None = None, timeout_s: float = 120.0) -> None:
        import httpx

        headers = {}
        if auth:
            headers["authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def describe(self) -> str:
        return f"the API at {masked_url(self.base_url)}"

    def check(self) -> str | None:
        """``None`` when the API is up with an index, else what is wrong (for a startup warning)."""
        import httpx

        try:
            response = self._client.get("/api/health")
        except httpx.HTTPError as exc:
            return f"cannot reach {self.describe()}: {type(exc).__name__}"
        if response.status_code == 401:
            return f"{self.describe()} asks for a login: set discord.api_auth"
        if response.status_code != 200:
            return f"{self.describe()} answered HTTP {response.status_code}"
        if not response.json().get("index"):
            return f"{self.describe()} has no index yet"
        return None

    def ask(self, question: str, history: History) -> Answer:
        import httpx

        turns = [{"role": turn["role"], "content": turn["content"][:20_000]} for turn in history][-50:]
        try:
            response = self._client.post("/api/ask", json={"question": question, "history": turns})
        except httpx.TimeoutException as exc:
            raise AnswerUnavailableError(f"{self.describe()} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise AnswerUnavailableError(f"cannot reach {self.describe()} ({type(exc).__name__})") from exc
        if response.status_code == 200:
            return Answer.model_validate(response.json())
        detail = _detail(response)
        if response.status_code == 422:
            raise InvalidQuestionError(detail)
        if response.status_code == 401:
            raise AnswerUnavailableError(f"{self.describe()} refused the login: check discord.api_auth")
        raise AnswerUnavailableError(f"{self.describe()} answered HTTP {response.status_code}: {detail}")

    def close(self) -> None:
        self._client.close()


def _detail(response: httpx.Response) -> str:
    """The API's ``detail`` message (a string, or FastAPI's list of validation errors)."""
    try:
        detail = response.json().get("detail", "")
    except ValueError:
        return response.text[:300]
    if isinstance(detail, list):
        return "; ".join(str(item.get("msg", item)) for item in detail if isinstance(item, dict))[:300]
    return str(detail)[:300]
