"""What the bot says to a question, without Discord: checks, limits, the answer, the messages.

``admit`` turns away an empty question or a user still cooling down (the reply says how long);
``answer`` waits for one of the global answer slots, runs the ``AnswerSource`` in a worker thread
(so the gateway's heartbeat never stalls), and formats the result. Every failure becomes a short
friendly reply plus one log line: the user never sees a trace, the operator sees the cause.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from alignment_qa.app.discord_bot.answers import AnswerSource, History
from alignment_qa.app.discord_bot.format import Reply, answer_replies, escape
from alignment_qa.app.discord_bot.limits import AnswerSlots, Busy, Cooldown
from alignment_qa.errors import AlignmentQAError, InvalidQuestionError
from alignment_qa.settings import DiscordSettings

log = logging.getLogger(__name__)

HOW_TO_ASK = "Ask me a question after the mention, e.g. “what is reward hacking?”, or use `/ask`."
BUSY = "I am answering as many questions as I can right now; please ask again in a minute."
UNAVAILABLE = "Sorry, I cannot reach the pages right now; please try again later."
FAILED = "Sorry, something went wrong while answering that; the bot's operator can find the cause in its log."


@dataclass
class Outcome:
    """The replies to send, and whether they are an answer (worth a thread) or a short notice
    (``admit``'s notices go to the asker alone where Discord allows: ``/ask``)."""

    replies: list[Reply]
    answered: bool = True


class Responder:
    """Answers questions for the bot, within the cooldown and concurrency settings."""

    def __init__(
        self,
        source: AnswerSource,
        settings: DiscordSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.settings = settings
        self.cooldown = Cooldown(settings.cooldown_s, clock)
        self.slots = AnswerSlots(settings.max_concurrent, settings.queue_timeout_s)
        self.page_base_url = settings.page_base_url  # never api_url: often 127.0.0.1, useless to readers

    def admit(self, user_id: int, question: str) -> Outcome | None:
        """``None`` when the question may be answered now, else the notice to send instead."""
        if not question.strip():
            return Outcome([Reply(HOW_TO_ASK)], answered=False)
        left = self.cooldown.try_start(user_id)
        if left > 0:
            wait = f"Please wait {math.ceil(left)} s before asking again."
            return Outcome([Reply(wait)], answered=False)
        return None

    async def answer(self, question: str, history: History) -> Outcome:
        """The answer's messages, or a friendly notice when it cannot be had."""
        try:
            async with self.slots.slot():
                answer = await asyncio.to_thread(self.source.ask, question, history)
        except Busy:
            log.warning("turned a question away: all %d answer slots stayed busy", self.slots.limit)
            return Outcome([Reply(BUSY)], answered=False)
        except InvalidQuestionError as exc:  # too long, and the like: the message says what to change
            text = escape(str(exc))
            return Outcome([Reply(text[:1].upper() + text[1:])], answered=False)
        except AlignmentQAError as exc:  # the API or the store is down: AnswerUnavailableError and kin
            log.warning("could not answer: %s", exc)
            return Outcome([Reply(UNAVAILABLE)], answered=False)
        except Exception:
            log.exception("unexpected error while answering")
            return Outcome([Reply(FAILED)], answered=False)
        return Outcome(answer_replies(answer, self.page_base_url))
