"""The Discord bot with everything real but Discord's servers.

Answers come from the real assistant over the sample index, in-process or through the real
app's HTTP API (`create_app`, served by uvicorn on 127.0.0.1 in a thread of this process). The
discord.py objects the handlers receive (messages, channels, threads, interactions) are small
doubles: that is the boundary to Discord's servers. Login is tried against a stub of Discord's
HTTP API on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from alignment_qa.app.discord_bot.answers import AnswerUnavailableError, ApiAnswers, LocalAnswers
from alignment_qa.app.discord_bot.credentials import RedactSecret, resolve_token
from alignment_qa.app.discord_bot.limits import AnswerSlots, Busy, Cooldown
from alignment_qa.app.discord_bot.responder import BUSY, FAILED, HOW_TO_ASK, UNAVAILABLE, Responder
from alignment_qa.engine.answer import Answer
from alignment_qa.engine.assistant import Assistant
from alignment_qa.errors import ConfigError, InvalidQuestionError
from alignment_qa.index.embedder import Embedder
from alignment_qa.settings import DiscordSettings, load_settings
from app_servers import ENV
from conftest import BuiltIndex, serving_app
from llm_servers import free_port

discord = pytest.importorskip("discord", reason="the discord extra is not installed (pip install -e .[discord])")
from alignment_qa.app.discord_bot.bot import Handlers, run_bot  # noqa: E402

BOT_ID = 1000
TEXT, THREAD, DM = discord.ChannelType.text, discord.ChannelType.public_thread, discord.ChannelType.private


# -- doubles of the discord.py objects the handlers receive ---------------------------------
TYPING: set[int] = set()  # ids of the channels showing "typing" right now


class Typing:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    async def __aenter__(self) -> None:
        TYPING.add(id(self.channel))

    async def __aexit__(self, *exc: object) -> None:
        TYPING.discard(id(self.channel))


class Channel:
    def __init__(self, kind: Any, owner_id: int | None = None, threads_allowed: bool = True) -> None:
        self.type, self.owner_id, self.threads_allowed = kind, owner_id, threads_allowed
        self.messages: list[Message] = []
        self.threads: list[Channel] = []
        self.name = ""
        self.id = 0
        self.parent: Channel | None = None
        self.starter_message = None  # discord.py's cache: usually empty

    async def fetch_message(self, message_id: int) -> Message:
        for message in self.messages:
            if message.id == message_id:
                return message
        raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"), "Unknown Message")

    def typing(self) -> Typing:
        return Typing(self)

    async def send(self, content: str = "", embeds: list[Any] | None = None, **kwargs: Any) -> Message:
        assert kwargs["allowed_mentions"].everyone is False and kwargs["allowed_mentions"].users is False
        message = Message(SimpleNamespace(id=BOT_ID, bot=True), content, self, embeds=embeds or [])
        if "reference" in kwargs:
            assert kwargs["reference"].fail_if_not_exists is False and kwargs["mention_author"] is False
            message.replied_to = kwargs["reference"].message
        self.messages.append(message)
        return message

    async def history(self, limit: int, before: Message | None = None) -> AsyncIterator[Message]:
        older = self.messages[: self.messages.index(before)] if before in self.messages else self.messages
        for message in list(reversed(older))[:limit]:
            yield message


class Message:
    count = 0

    def __init__(self, author: Any, content: str, channel: Channel, mentions: Sequence[Any] = (), **kw: Any) -> None:
        self.author, self.content, self.channel, self.mentions = author, content, channel, list(mentions)
        self.embeds: list[Any] = kw.get("embeds", [])
        self.replied_to: Message | None = None
        self.type = kw.get("type", discord.MessageType.default)
        self.guild = kw.get("guild")
        self.raw_role_mentions: list[int] = kw.get("roles", [])
        self.from_webhook = False  # a follow-up webhook's message: it knows no guild
        Message.count += 1
        self.id = Message.count

    def to_reference(self, fail_if_not_exists: bool = True) -> Any:
        return SimpleNamespace(message=self, fail_if_not_exists=fail_if_not_exists)

    async def create_thread(self, name: str, auto_archive_duration: int) -> Channel:
        if self.from_webhook:  # what discord.py does for a WebhookMessage from interaction.followup
            raise ValueError("This message does not have guild info attached.")
        if not self.channel.threads_allowed:
            raise discord.Forbidden(SimpleNamespace(status=403, reason="Forbidden"), "Missing Permissions")
        thread = Channel(THREAD, owner_id=BOT_ID)
        thread.name, thread.id, thread.parent = name, self.id, self.channel
        self.channel.threads.append(thread)
        return thread


def _user(user_id: int) -> Any:
    return SimpleNamespace(id=user_id, bot=False)


def _say(channel: Channel, user_id: int, content: str, mention: bool = False) -> Message:
    bot = SimpleNamespace(id=BOT_ID, bot=True)
    text = f"<@{BOT_ID}> {content}" if mention else content
    message = Message(_user(user_id), text, channel, mentions=[bot] if mention else [])
    channel.messages.append(message)
    return message


class Interaction:
    def __init__(self, user_id: int, channel: Channel) -> None:
        self.user, self.channel = _user(user_id), channel
        self.deferred: bool | None = None
        self.ephemeral: list[str] = []
        interaction = self

        self.sent: list[Message] = []
        self.expired = False

        class Response:
            def is_done(self) -> bool:
                return interaction.deferred is not None or bool(interaction.ephemeral)

            async def defer(self, thinking: bool = False) -> None:
                if interaction.expired:
                    raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"), "Unknown interaction")
                interaction.deferred = thinking

            async def send_message(self, content: str = "", ephemeral: bool = False, **kwargs: Any) -> None:
                assert ephemeral
                interaction.ephemeral.append(content)

        class Followup:
            async def send(self, content: str = "", ephemeral: bool = False, **kwargs: Any) -> Message:
                if ephemeral:
                    interaction.ephemeral.append(content)
                    return Message(SimpleNamespace(id=BOT_ID, bot=True), content, channel)
                assert interaction.deferred is True
                message = await channel.send(content, **kwargs)
                interaction.sent.append(message)
                webhook_view = Message(message.author, message.content, channel, embeds=message.embeds)
                webhook_view.from_webhook = True
                return webhook_view

        self.response, self.followup = Response(), Followup()

    async def original_response(self) -> Message:
        return self.sent[0]


# -- answer sources: the real assistant, observed -------------------------------------------
class Observed(LocalAnswers):
    """The real assistant, recording each question's history, answer and typing state, and
    optionally holding each answer until released (to test the limits)."""

    def __init__(self, assistant: Assistant, hold: threading.Event | None = None) -> None:
        super().__init__(assistant)
        self.hold = hold
        self.calls: list[tuple[list[dict[str, str]], Answer, frozenset[int]]] = []
        self.threads: set[int] = set()

    def ask(self, question: str, history: Sequence[Mapping[str, str]]) -> Answer:
        typing = frozenset(TYPING)
        self.threads.add(threading.get_ident())
        if self.hold is not None:
            assert self.hold.wait(30)
        answer = super().ask(question, history)
        self.calls.append(([dict(turn) for turn in history], answer, typing))
        return answer


@pytest.fixture(scope="module")
def assistant(sample_index: BuiltIndex, embedder: Embedder) -> Assistant:
    return Assistant.open(sample_index.settings, embedder=embedder)


def _handlers(source: Any, **settings: Any) -> Handlers:
    discord_settings = DiscordSettings(**{"cooldown_s": 0, **settings})
    return Handlers(Responder(source, discord_settings), discord_settings)


# -- limits ---------------------------------------------------------------------------------
def test_cooldown_per_user() -> None:
    now = [100.0]
    cooldown = Cooldown(10, clock=lambda: now[0])
    assert cooldown.try_start(1) == 0 and cooldown.try_start(2) == 0
    now[0] = 104.0
    assert cooldown.try_start(1) == pytest.approx(6.0)
    now[0] = 110.0
    assert cooldown.try_start(1) == 0


def test_cooldown_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from alignment_qa.app.discord_bot import limits

    monkeypatch.setattr(limits, "MAX_TRACKED_USERS", 3)
    now = [0.0]
    cooldown = Cooldown(10, clock=lambda: now[0])
    for user in (1, 2, 3):
        cooldown.try_start(user)
    now[0] = 20.0  # every cooldown is over: the next user makes room by forgetting them
    assert cooldown.try_start(4) == 0 and len(cooldown._last) == 1
    assert cooldown.try_start(4) == pytest.approx(10.0)  # but not the users still cooling down


def test_answer_slots_cap_concurrency_and_turn_away_after_the_wait() -> None:
    async def scenario() -> tuple[int, bool]:
        slots = AnswerSlots(limit=2, timeout_s=0.3)

        async def work() -> None:
            async with slots.slot():
                await asyncio.sleep(0.1)

        await asyncio.gather(*(work() for _ in range(5)))
        busy = AnswerSlots(limit=1, timeout_s=0.05)
        async with busy.slot():
            try:
                async with busy.slot():
                    pass
            except Busy:
                return slots.most_in_use, True
        return slots.most_in_use, False

    assert asyncio.run(scenario()) == (2, True)


def test_answers_run_off_the_event_loop_within_the_global_limit(assistant: Assistant) -> None:
    release = threading.Event()
    source = Observed(assistant, hold=release)
    responder = Responder(source, DiscordSettings(cooldown_s=0, max_concurrent=2, queue_timeout_s=30))
    ticks = [0]

    async def ticker() -> None:  # stands in for the gateway heartbeat: it must keep running
        while not release.is_set():
            ticks[0] += 1
            await asyncio.sleep(0.01)

    async def scenario() -> list[Any]:
        questions = [responder.answer("What is reward hacking?", []) for _ in range(4)]
        tick = asyncio.create_task(ticker())
        pending = asyncio.gather(*questions)
        deadline = time.monotonic() + 20
        while responder.slots.in_use < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        before = ticks[0]
        await asyncio.sleep(0.3)
        assert responder.slots.in_use == 2  # two answering (held), two waiting for a slot
        assert ticks[0] > before  # the loop runs while both answers are held in worker threads
        release.set()  # were the answers on the loop, this line would never run before they time out
        outcomes = await pending
        await tick
        return outcomes

    outcomes = asyncio.run(scenario())
    assert threading.get_ident() not in source.threads
    assert responder.slots.most_in_use == 2 and all(outcome.answered for outcome in outcomes)


def test_a_question_that_waits_too_long_is_told_the_bot_is_busy(assistant: Assistant) -> None:
    release = threading.Event()
    responder = Responder(Observed(assistant, hold=release), DiscordSettings(max_concurrent=1, queue_timeout_s=0.2))

    async def scenario() -> Any:
        first = asyncio.create_task(responder.answer("What is reward hacking?", []))
        await asyncio.sleep(0.05)
        second = await responder.answer("What is Goodhart's law?", [])
        release.set()
        await first
        return second

    second = asyncio.run(scenario())
    assert second.replies[0].content == BUSY and not second.answered


def test_failures_become_friendly_replies_and_log_lines(assistant: Assistant, caplog: pytest.LogCaptureFixture) -> None:
    class Broken(LocalAnswers):
        def ask(self, question: str, history: Sequence[Mapping[str, str]]) -> Answer:
            raise RuntimeError("index exploded")

    dead = ApiAnswers(f"http://127.0.0.1:{free_port()}", timeout_s=5)
    caplog.set_level(logging.WARNING)
    broken = asyncio.run(Responder(Broken(assistant), DiscordSettings()).answer("What is reward hacking?", []))
    down = asyncio.run(Responder(dead, DiscordSettings()).answer("What is reward hacking?", []))
    too_long = asyncio.run(Responder(LocalAnswers(assistant), DiscordSettings()).answer("why " * 600, []))
    assert broken.replies[0].content == FAILED and "index exploded" not in FAILED
    assert down.replies[0].content == UNAVAILABLE
    assert not too_long.answered and "the limit is 2000" in too_long.replies[0].content
    logged = caplog.text
    assert "RuntimeError: index exploded" in logged and "cannot reach the API" in logged


# -- handlers: mentions, threads, follow-ups, /ask ------------------------------------------
def test_a_mention_opens_a_thread_and_a_follow_up_there_uses_its_history(assistant: Assistant) -> None:
    source = Observed(assistant)
    handlers = _handlers(source)
    channel = Channel(TEXT)

    async def scenario() -> None:
        await handlers.on_message(BOT_ID, _say(channel, 1, "What is reward hacking?", mention=True))
        thread = channel.threads[0]
        await handlers.on_message(BOT_ID, _say(thread, 2, "How can it be mitigated?"))  # no mention needed

    asyncio.run(scenario())
    thread = channel.threads[0]
    assert thread.name == "What is reward hacking?" and len(channel.messages) == 1  # the answer went to the thread
    first, *_ = [message for message in thread.messages if message.author.id == BOT_ID]
    assert first.content.startswith("> What is reward hacking?\n") and "[1]" in first.content
    assert first.embeds and first.embeds[0].title == "Sources"
    (history_1, _, typing_1), (history_2, answer_2, typing_2) = source.calls
    assert typing_1 == typing_2 == {id(thread)}  # typing in the thread while each answer was worked on
    assert history_1 == []
    assert [turn["content"] for turn in history_2 if turn["role"] == "user"] == ["What is reward hacking?"]
    assert "reward hacking" in answer_2.standalone_question.lower()  # the follow-up was understood in context
    assert answer_2.citations[0].page_id == "wiki/reward-hacking.md"


def test_what_the_bot_ignores_and_where_it_answers_in_place(assistant: Assistant) -> None:
    source = Observed(assistant)
    handlers = _handlers(source)
    channel, someone_elses = Channel(TEXT), Channel(THREAD, owner_id=7)
    no_threads = Channel(TEXT, threads_allowed=False)

    async def scenario() -> None:
        await handlers.on_message(BOT_ID, _say(channel, 1, "What is reward hacking?"))  # no mention
        await handlers.on_message(BOT_ID, _say(someone_elses, 1, "What is reward hacking?"))
        bot_says = Message(SimpleNamespace(id=BOT_ID, bot=True), f"<@{BOT_ID}> hi", channel)
        await handlers.on_message(BOT_ID, bot_says)
        await handlers.on_message(BOT_ID, _say(someone_elses, 1, "What is Goodhart's law?", mention=True))
        await handlers.on_message(BOT_ID, _say(no_threads, 1, "What is Goodhart's law?", mention=True))
        await handlers.on_message(BOT_ID, _say(channel, 1, "", mention=True))
        own = Channel(THREAD, owner_id=BOT_ID)
        aside = _say(own, 1, "<@5> what do you think?")
        aside.mentions = [SimpleNamespace(id=5, bot=False)]
        await handlers.on_message(BOT_ID, aside)  # talking to someone else in the bot's thread

    asyncio.run(scenario())
    assert len(source.calls) == 2  # the two mentions with a question
    in_place = someone_elses.messages[-1]
    assert in_place.replied_to is not None and not someone_elses.threads  # a reply where asked, no thread in a thread
    fallback = no_threads.messages[-1]
    assert fallback.replied_to is not None and fallback.content.startswith("> What is Goodhart")  # no permission
    assert channel.messages[-1].content == HOW_TO_ASK and not channel.threads


def test_without_the_message_content_intent_only_mentions_count(assistant: Assistant) -> None:
    source = Observed(assistant)
    handlers = _handlers(source, read_thread_messages=False)
    thread = Channel(THREAD, owner_id=BOT_ID)
    asyncio.run(handlers.on_message(BOT_ID, _say(thread, 1, "What is reward hacking?")))
    assert source.calls == []


def test_cooldown_reply_in_a_channel(assistant: Assistant) -> None:
    handlers = _handlers(Observed(assistant), cooldown_s=60)
    channel = Channel(TEXT)

    async def scenario() -> None:
        await handlers.on_message(BOT_ID, _say(channel, 1, "What is reward hacking?", mention=True))
        await handlers.on_message(BOT_ID, _say(channel, 1, "What is Goodhart's law?", mention=True))
        await handlers.on_message(BOT_ID, _say(channel, 2, "What is Goodhart's law?", mention=True))

    asyncio.run(scenario())
    notices = [m.content for m in channel.messages if m.author.id == BOT_ID]
    assert len(notices) == 1 and notices[0].startswith("Please wait 60 s")
    assert len(channel.threads) == 2  # the other user was not held up


def test_slash_ask_thinks_answers_and_opens_a_thread(assistant: Assistant) -> None:
    source = Observed(assistant)
    handlers = _handlers(source, cooldown_s=60)
    channel = Channel(TEXT)
    first, again = Interaction(1, channel), Interaction(1, channel)

    async def scenario() -> None:
        await handlers.on_ask(BOT_ID, first, "What is Goodhart's law?")
        await handlers.on_ask(BOT_ID, again, "What is reward hacking?")
        thread = channel.threads[0]
        await handlers.on_ask(BOT_ID, Interaction(2, thread), "Why does it matter for AI?")

    asyncio.run(scenario())
    # the thread hangs on the answer (the interaction's own response, not the guild-less webhook message)
    assert channel.threads and channel.threads[0].id == first.sent[0].id
    assert first.deferred is True and channel.messages[0].content.startswith("> What is Goodhart's law?")
    assert again.ephemeral and again.ephemeral[0].startswith("Please wait") and again.deferred is None
    assert len(channel.threads) == 1 and channel.threads[0].name == "What is Goodhart's law?"
    history = source.calls[-1][0]
    assert [turn["content"] for turn in history if turn["role"] == "user"] == ["What is Goodhart's law?"]


def test_dms_not_covered_role_mentions_and_system_messages(assistant: Assistant) -> None:
    source = Observed(assistant)
    handlers = _handlers(source)
    dm, channel = Channel(DM), Channel(TEXT)
    guild = SimpleNamespace(self_role=SimpleNamespace(id=77))

    async def scenario() -> None:
        await handlers.on_message(BOT_ID, _say(dm, 1, "What is reward hacking?"))  # no mention needed in a DM
        await handlers.on_message(BOT_ID, _say(dm, 1, "How can it be mitigated?"))
        await handlers.on_message(BOT_ID, _say(channel, 2, "What is the capital of France?", mention=True))
        by_role = Message(_user(3), "<@&77> What is Goodhart's law?", channel, guild=guild, roles=[77])
        await handlers.on_message(BOT_ID, by_role)
        me = SimpleNamespace(id=BOT_ID)
        pinned = Message(_user(3), "", channel, mentions=[me], type=discord.MessageType.pins_add)
        await handlers.on_message(BOT_ID, pinned)

    asyncio.run(scenario())
    assert [call[0] for call in source.calls][1][0]["content"] == "What is reward hacking?"  # DM history
    assert not dm.threads and dm.messages[-1].content.startswith("> How can it be mitigated?")
    declined = channel.threads[0].messages[0]
    assert "do not cover this question" in declined.content and declined.embeds[0].title == "Nearest pages"
    assert channel.threads[1].name == "What is Goodhart's law?"  # the role mention was understood and stripped
    assert len(source.calls) == 4  # the pin was ignored


def test_history_is_capped_and_includes_the_threads_starter(assistant: Assistant) -> None:
    source = Observed(assistant)
    handlers = _handlers(source, history_messages=2)
    channel = Channel(TEXT)
    interaction = Interaction(1, channel)

    async def scenario() -> None:
        await handlers.on_ask(BOT_ID, interaction, "What is Goodhart's law?")
        thread = channel.threads[0]
        for question in ("What is reward hacking?", "What is RLHF?", "Why does it matter?"):
            await handlers.on_message(BOT_ID, _say(thread, 1, question))

    asyncio.run(scenario())
    last_history = source.calls[-1][0]
    questions = [turn["content"] for turn in last_history if turn["role"] == "user"]
    # two thread messages back (the question before and its answer) plus the starter on the /ask answer
    assert questions == ["What is Goodhart's law?", "What is RLHF?"]


def test_a_discord_failure_is_logged_and_the_asker_told(assistant: Assistant, caplog: pytest.LogCaptureFixture) -> None:
    handlers = _handlers(Observed(assistant))
    expired = Interaction(1, Channel(TEXT))
    expired.expired = True
    caplog.set_level(logging.WARNING)
    asyncio.run(handlers.on_ask(BOT_ID, expired, "What is reward hacking?"))
    assert expired.ephemeral == [FAILED] and "failed to handle /ask" in caplog.text and "NotFound" in caplog.text


# -- through the real HTTP API --------------------------------------------------------------
@contextmanager
def _served(sample_index: BuiltIndex, embedder: Embedder, feedback: Path, **serve: str) -> Iterator[str]:
    """The real app over the sample index, served over HTTP on 127.0.0.1; yields its URL."""
    pytest.importorskip("gradio", reason="the ui extra is not installed (pip install -e .[ui])")
    from alignment_qa.app.web import create_app

    overrides = {"store.data_dir": str(sample_index.settings.store.data_dir), "serve.feedback_db": str(feedback)}
    settings = load_settings(None, {**overrides, **{f"serve.{key}": value for key, value in serve.items()}}).settings
    with serving_app(create_app(Assistant.open(settings, embedder=embedder), settings, embedder)) as url:
        yield url


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory, sample_index: BuiltIndex, embedder: Embedder) -> Iterator[str]:
    with _served(sample_index, embedder, tmp_path_factory.mktemp("discord-api") / "feedback.sqlite") as url:
        yield url


def test_api_mode_answers_like_in_process(api_url: str, assistant: Assistant) -> None:
    api = ApiAnswers(api_url)
    assert api.check() is None
    remote = api.ask("What is Goodhart's law?", [])
    local = assistant.ask("What is Goodhart's law?")
    assert remote.text == local.text and [c.page_id for c in remote.citations] == [c.page_id for c in local.citations]
    with pytest.raises(InvalidQuestionError, match="the limit is 2000"):
        api.ask("why " * 600, [])


def test_api_mode_follow_up_in_a_thread(api_url: str) -> None:
    handlers = _handlers(ApiAnswers(api_url), page_base_url=api_url, api_url=api_url)
    channel = Channel(TEXT)

    async def scenario() -> None:
        await handlers.on_message(BOT_ID, _say(channel, 1, "What is reward hacking?", mention=True))
        await handlers.on_message(BOT_ID, _say(channel.threads[0], 1, "How can it be mitigated?"))
        await handlers.on_message(BOT_ID, _say(channel, 2, "What is a mesa-optimizer?", mention=True))

    asyncio.run(scenario())
    answers = [m for m in channel.threads[0].messages if m.author.id == BOT_ID and m.content.startswith("> ")]
    assert [a.content.split("\n", 1)[0] for a in answers] == ["> What is reward hacking?", "> How can it be mitigated?"]
    links = " ".join(field.value for field in answers[0].embeds[0].fields)
    assert "https://example.org/wiki/reward_hacking#:~:text=" in links  # a page's own URL, at the quote
    mesa = [m for m in channel.threads[1].messages if m.author.id == BOT_ID and m.content.startswith("> ")]
    mesa_links = " ".join(field.value for field in mesa[0].embeds[0].fields)
    assert f"{api_url}/page/textbook/mesa-optimization.md" in mesa_links  # a page without a URL: the server's view


def test_api_mode_with_a_login(tmp_path: Path, sample_index: BuiltIndex, embedder: Embedder) -> None:
    with _served(sample_index, embedder, tmp_path / "feedback.sqlite", auth="bot:s3cret") as url:
        anonymous = ApiAnswers(url)
        assert "asks for a login" in (anonymous.check() or "")
        with pytest.raises(AnswerUnavailableError, match="refused the login") as error:
            anonymous.ask("What is reward hacking?", [])
        assert "s3cret" not in str(error.value)
        assert ApiAnswers(url, auth="bot:s3cret").ask("What is reward hacking?", []).citations


# -- token and login -------------------------------------------------------------------------
def test_token_comes_from_file_or_environment_and_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        resolve_token(DiscordSettings())
    monkeypatch.setenv("DISCORD_TOKEN", "env-token")
    assert resolve_token(DiscordSettings()) == "env-token"
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    assert resolve_token(DiscordSettings(token_file=token_file)) == "file-token"

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "sent %s", ("Bot file-token",), None)
    try:
        raise ValueError("header was Bot file-token")
    except ValueError:
        record.exc_info = sys.exc_info()
    RedactSecret("file-token").filter(record)
    shown = logging.Formatter().format(record)
    assert "file-token" not in shown and shown.count("[redacted]") == 3  # message, source line, exception


class _RefusingDiscord(http.server.BaseHTTPRequestHandler):
    """Discord's HTTP API as seen with a wrong token: 401 for GET /users/@me."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _RefusingDiscord.seen.append(self.path)
        body = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_discord() -> Iterator[str]:
    """A stub of Discord's HTTP API on 127.0.0.1 that refuses every token; yields its base URL."""
    _RefusingDiscord.seen.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingDiscord)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api/v10"
    server.shutdown()


def test_a_refused_token_is_a_clear_error_without_the_token(
    assistant: Assistant,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    refusing_discord: str,
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", refusing_discord)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError, match="refused the bot token") as error:
        run_bot(DiscordSettings(), LocalAnswers(assistant), "MTIz.wrong-token.xyz")
    assert _RefusingDiscord.seen == ["/api/v10/users/@me"]  # discord.py really tried to log in
    assert "wrong-token" not in str(error.value) and "wrong-token" not in caplog.text


def test_cli_without_a_token_and_with_a_refused_one(tmp_path: Path, refusing_discord: str) -> None:
    env = {key: value for key, value in ENV.items() if key != "DISCORD_TOKEN"}
    missing = subprocess.run(
        [sys.executable, "-m", "alignment_qa", "discord"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "DISCORD_TOKEN" in missing.stderr and "Traceback" not in missing.stderr
    # the real CLI, with discord.py pointed at the stub instead of discord.com
    launcher = (
        "import sys, discord.http; discord.http.Route.BASE = sys.argv.pop(1); "
        "from alignment_qa.app.cli import main; main()"
    )
    refused = subprocess.run(
        [sys.executable, "-c", launcher, refusing_discord, "discord", "--api-url", f"http://127.0.0.1:{free_port()}"],
        cwd=tmp_path,
        env={**env, "DISCORD_TOKEN": "MTIz.secret-token-value.abc"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = refused.stdout + refused.stderr
    assert refused.returncode == 2 and "Traceback" not in output, output
    assert "refused the bot token" in output and "warning: cannot reach the API" in output
    assert "secret-token-value" not in output
    assert "voice will NOT be supported" not in output  # a text bot's log: no voice warnings
    assert _RefusingDiscord.seen == ["/api/v10/users/@me"]


def test_voice_warnings_are_filtered_not_patched_away() -> None:
    from alignment_qa.app.discord_bot.bot import NoVoiceWarnings

    def record(name: str, message: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.WARNING, __file__, 1, message, None, None)

    quiet = NoVoiceWarnings()
    assert not quiet.filter(record("discord.client", "PyNaCl is not installed, voice will NOT be supported"))
    assert not quiet.filter(record("discord.client", "davey is not installed, voice will NOT be supported"))
    assert quiet.filter(record("discord.client", "logging in using static token"))
    assert quiet.filter(record("alignment_qa.x", "voice will NOT be supported"))  # only discord.py's own
