"""A thread's conversation, read back from the bot's own answers.

Every answer the bot posts starts with the question quoted (``> ...``; see ``format``), so the
earlier questions of a thread are recovered from its messages alone: no database, and a restarted
bot still knows the conversation. Messages of other people and the bot's continuation parts,
notices and refusals are skipped. Fetching the messages from Discord is left to ``bot``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from alignment_qa.app.discord_bot.format import UNSUPPORTED

_ESCAPED = re.compile(r"\\([\\*_~`|\[\]<>#.\-0-9])")
_WRAPPED_URL = re.compile(r"(?<!\\)<(https?://[^\s<>]+)>")
_MARKERS = re.compile(r"(?:\[\d+\])+")


@dataclass(frozen=True)
class SeenMessage:
    """What history needs of one message: whether this bot wrote it, and its text."""

    from_bot: bool
    content: str


def unescape(text: str) -> str:
    """The inverse of ``format.escape`` (but for the collapsed whitespace)."""
    return _ESCAPED.sub(r"\1", _WRAPPED_URL.sub(r"\1", text)).replace("@\u200b", "@")


def conversation(messages: Sequence[SeenMessage]) -> list[dict[str, str]]:
    """Turns (``{"role", "content"}``, oldest first) from ``messages`` given oldest first:
    the question each of the bot's answers quotes, and the answer's text without markers."""
    turns: list[dict[str, str]] = []
    for message in messages:
        if not message.from_bot:
            continue
        first, _, rest = message.content.partition("\n")
        if not first.startswith("> "):
            continue
        question = unescape(first[2:]).strip()
        lines = [line for line in rest.splitlines() if line and not line.startswith(("-# ", "ℹ️ "))]
        answer = _MARKERS.sub("", " ".join(lines).replace(UNSUPPORTED, ""))
        turns.append({"role": "user", "content": question})
        turns.append({"role": "assistant", "content": " ".join(unescape(answer).split()) or "(no text)"})
    return turns
