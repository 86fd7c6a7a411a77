"""The Discord side: a discord.py client with ``/ask`` and @mention replies, and the handlers.

``Handlers`` holds the whole behaviour and receives discord.py objects (so tests can hand it
doubles at exactly that boundary): a question asked in a channel gets its answer in a new thread
opened from it; every message in the bot's own threads (or an @mention there, without the
Message Content intent) is a follow-up answered with the thread's history, unless it @mentions
someone else; DMs work the same way.
While answering, the bot shows it is typing (``/ask`` shows Discord's "thinking…"). No reply ever
pings anyone. ``run_bot`` connects with the token and turns Discord's refusals into messages.
``NoVoiceWarnings`` keeps discord.py's "no voice support" warnings out of a text bot's log.
Choosing the answer source and reading settings is left to ``cli``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord
from discord import app_commands

from alignment_qa.app.discord_bot.answers import AnswerSource
from alignment_qa.app.discord_bot.format import Reply, thread_name
from alignment_qa.app.discord_bot.history import SeenMessage, conversation
from alignment_qa.app.discord_bot.responder import FAILED, Outcome, Responder
from alignment_qa.errors import AlignmentQAError, ConfigError
from alignment_qa.settings import DiscordSettings

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
THREADS = (discord.ChannelType.public_thread, discord.ChannelType.private_thread)
THREAD_ARCHIVE_MINUTES = 1440


def strip_mention(content: str, me_id: int, role_id: int | None = None) -> str:
    """The question without the bot's own @mention (of its user, or of its managed role)."""
    content = re.sub(rf"<@!?{me_id}>", " ", content)
    if role_id is not None:
        content = content.replace(f"<@&{role_id}>", " ")
    return content.strip()


def _send_kwargs(reply: Reply) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
    if reply.content:
        kwargs["content"] = reply.content
    if reply.embeds:
        kwargs["embeds"] = [discord.Embed.from_dict(embed) for embed in reply.embeds]
    return kwargs


@asynccontextmanager
async def _typing(channel: Any) -> AsyncIterator[None]:
    """Show "typing" while inside; a channel that refuses it (locked thread, no permission) just doesn't."""
    indicator = channel.typing()
    try:
        await indicator.__aenter__()
    except discord.HTTPException as exc:
        log.info("cannot show typing: %s", exc)
        indicator = None
    try:
        yield
    finally:
        if indicator is not None:
            await indicator.__aexit__(None, None, None)


class Handlers:
    """What the bot does with a message or an ``/ask``; ``me_id`` is the bot's own user id."""

    def __init__(self, responder: Responder, settings: DiscordSettings) -> None:
        self.responder = responder
        self.settings = settings

    # -- messages ------------------------------------------------------------------------
    async def on_message(self, me_id: int, message: Any) -> None:
        """Answer an @mention, a DM, or a message in one of the bot's threads; ignore the rest."""
        if message.author.bot or message.author.id == me_id:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return  # pins, joins, thread renames...
        channel = message.channel
        in_dm = channel.type == discord.ChannelType.private
        in_thread = channel.type in THREADS
        own_thread = in_thread and getattr(channel, "owner_id", None) == me_id
        role = getattr(getattr(message, "guild", None), "self_role", None)
        role_id = role.id if role is not None else None
        mentioned = any(user.id == me_id for user in message.mentions) or (
            role_id is not None and role_id in getattr(message, "raw_role_mentions", [])
        )
        if not (mentioned or in_dm or (own_thread and self.settings.read_thread_messages)):
            return
        if not mentioned and (message.mentions or not message.content.strip()):
            return  # people in the bot's thread talking to each other, or an image without words
        question = strip_mention(message.content, me_id, role_id)
        try:
            refusal = self.responder.admit(message.author.id, question)
            if refusal is not None:
                await self._post(channel, refusal, reply_to=message)
                return
            history = await self._history(me_id, channel, before=message) if own_thread or in_dm else []
            target = channel
            if not (in_thread or in_dm) and self.settings.thread_replies:
                target = await self._open_thread(message, question) or channel
            async with _typing(target):
                outcome = await self.responder.answer(question, history)
            await self._post(target, outcome, reply_to=message if target is channel else None)
        except Exception:  # a Discord hiccup or a bug: a log line, and a short word to the asker if possible
            log.exception("failed to handle a message")
            await self._post(channel, Outcome([Reply(FAILED)], answered=False), reply_to=message)

    async def _open_thread(self, message: Any, question: str) -> Any | None:
        try:
            return await message.create_thread(name=thread_name(question), auto_archive_duration=THREAD_ARCHIVE_MINUTES)
        except (discord.HTTPException, ValueError) as exc:  # no permission, no threads here: answer in place
            log.warning("could not open a thread (%s); answering in the channel", exc)
            return None

    async def _post(self, channel: Any, outcome: Outcome, reply_to: Any | None = None) -> None:
        """Send the replies; the first answers ``reply_to`` (and still arrives if it was deleted)."""
        try:
            for number, reply in enumerate(outcome.replies):
                kwargs = _send_kwargs(reply)
                if number == 0 and reply_to is not None:
                    kwargs["reference"] = reply_to.to_reference(fail_if_not_exists=False)
                    kwargs["mention_author"] = False
                await channel.send(**kwargs)
        except discord.HTTPException as exc:
            log.warning("could not send a reply: %s", exc)

    async def _history(self, me_id: int, channel: Any, before: Any | None = None) -> list[dict[str, str]]:
        """The conversation so far in ``channel``, from the bot's quoted questions."""
        if not self.settings.history_messages:
            return []
        seen: list[SeenMessage] = []
        try:
            async for earlier in channel.history(limit=self.settings.history_messages, before=before):
                seen.append(SeenMessage(earlier.author.id == me_id, earlier.content))
            starter = await self._starter(channel)
            if starter is not None:
                seen.append(SeenMessage(starter.author.id == me_id, starter.content))
        except discord.HTTPException as exc:  # no Read Message History: answer without context
            log.warning("could not read the thread's history: %s", exc)
        return conversation(list(reversed(seen)))

    async def _starter(self, channel: Any) -> Any | None:
        """The message a thread was opened from (it lives in the parent channel, not the thread):
        for a thread opened on an ``/ask`` answer, it holds the first question."""
        parent = getattr(channel, "parent", None)
        if channel.type not in THREADS or parent is None:
            return None
        try:
            return getattr(channel, "starter_message", None) or await parent.fetch_message(channel.id)
        except discord.NotFound:  # a thread not opened from a message
            return None

    # -- /ask ----------------------------------------------------------------------------
    async def on_ask(self, me_id: int, interaction: Any, question: str) -> None:
        """``/ask``: think visibly, answer, and open a thread on the answer for follow-ups."""
        try:
            refusal = self.responder.admit(interaction.user.id, question)
            if refusal is not None:
                await interaction.response.send_message(ephemeral=True, **_send_kwargs(refusal.replies[0]))
                return
            await interaction.response.defer(thinking=True)
            channel = interaction.channel
            in_dm = channel is not None and channel.type == discord.ChannelType.private
            in_thread = channel is not None and channel.type in THREADS
            own_thread = in_thread and getattr(channel, "owner_id", None) == me_id
            history = await self._history(me_id, channel) if own_thread or in_dm else []
            outcome = await self.responder.answer(question, history)
            for reply in outcome.replies:  # the first one replaces "thinking…"
                await interaction.followup.send(**_send_kwargs(reply))
            in_channel = channel is not None and channel.type in (discord.ChannelType.text, discord.ChannelType.news)
            if outcome.answered and in_channel and self.settings.thread_replies:
                # the follow-up webhook's message knows no guild; the interaction's own response does
                await self._open_thread(await interaction.original_response(), question)
        except Exception:
            log.exception("failed to handle /ask")
            await self._ask_failed(interaction)

    async def _ask_failed(self, interaction: Any) -> None:
        try:
            if interaction.response.is_done():
                await interaction.followup.send(FAILED, ephemeral=True)
            else:
                await interaction.response.send_message(FAILED, ephemeral=True)
        except discord.HTTPException as exc:  # the interaction expired: only the log remains
            log.warning("could not tell the asker: %s", exc)


class NoVoiceWarnings(logging.Filter):
    """A log filter for a text bot: drops discord.py's warnings that voice is not supported (PyNaCl or
    davey missing), logged when the first client is made. A filter on the handler the CLI sets up,
    so no discord.py class or logger is changed."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "discord.client" and "voice will NOT be supported" in record.getMessage())


class AnswerBot(discord.Client):
    """The discord.py client: registers ``/ask`` and hands every event to ``Handlers``."""

    def __init__(self, handlers: Handlers, settings: DiscordSettings, describe: str) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.read_thread_messages
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS)
        self.handlers = handlers
        self.settings = settings
        self.describe = describe
        self.tree = app_commands.CommandTree(self)

        @app_commands.describe(question="Your question, in plain words")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            assert self.user is not None
            await handlers.on_ask(self.user.id, interaction, question)

        description = "Ask the alignment pages; the answer cites its sources."
        self.tree.add_command(app_commands.Command(name="ask", description=description, callback=ask))

    async def setup_hook(self) -> None:
        guild = discord.Object(id=self.settings.guild_id) if self.settings.guild_id else None
        try:
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:  # a wrong guild_id, or invited without applications.commands
            log.error(
                "could not register /ask (%s): check discord.guild_id and that the bot was invited with the "
                "applications.commands scope; @mentions still work",
                exc,
            )

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s; answering from %s", self.user, self.describe)

    async def on_message(self, message: discord.Message) -> None:
        assert self.user is not None
        await self.handlers.on_message(self.user.id, message)


def run_bot(settings: DiscordSettings, source: AnswerSource, token: str) -> None:
    """Connect and answer until stopped; Discord refusing the token or an intent is a ``ConfigError``."""
    handlers = Handlers(Responder(source, settings), settings)

    async def main() -> None:
        async with AnswerBot(handlers, settings, source.describe()) as bot:
            await bot.start(token)

    try:
        asyncio.run(main())
    except discord.LoginFailure as exc:
        raise ConfigError("Discord refused the bot token: check DISCORD_TOKEN or discord.token_file") from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise ConfigError(
            "Discord refused the Message Content intent: enable it for the bot in the Developer Portal "
            "(Bot > Privileged Gateway Intents), or set discord.read_thread_messages = false"
        ) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise AlignmentQAError(f"cannot reach Discord ({type(exc).__name__})") from exc
