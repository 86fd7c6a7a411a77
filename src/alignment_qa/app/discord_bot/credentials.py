"""The bot token: where it comes from, and keeping it out of every log line.

The token is read from ``discord.token_file`` when set, else from ``DISCORD_TOKEN``. It is never
part of a message: errors say where the token was looked for, not what it is, and
``RedactSecret`` scrubs it from log records (message, arguments and tracebacks) should a library
ever log it. Connecting to Discord is left to ``bot``.
"""

from __future__ import annotations

import logging
import os

from alignment_qa.errors import ConfigError
from alignment_qa.settings import DiscordSettings

TOKEN_ENV = "DISCORD_TOKEN"


def resolve_token(settings: DiscordSettings) -> str:
    """The bot token; ``ConfigError`` (naming where it looked, never the value) when there is none."""
    if settings.token_file is not None:
        try:
            token = settings.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read discord.token_file {settings.token_file}: {exc.strerror or exc}") from exc
        if not token:
            raise ConfigError(f"discord.token_file {settings.token_file} is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            f"no Discord bot token: set the environment variable {TOKEN_ENV} or discord.token_file "
            "(see the README's Discord section)"
        )
    return token


class RedactSecret(logging.Filter):
    """A handler filter that replaces ``secret`` with ``[redacted]`` wherever a record would show it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "[redacted]"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, "[redacted]")
        return True
