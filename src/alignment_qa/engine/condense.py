"""Turning a follow-up question into a standalone one, deterministically.

A question is a follow-up when it is short and leans on the conversation: it opens with "and",
"but", "what about", "how about", ..., or uses a pronoun ("it", "that", "they", ...) without
naming a subject of its own. A follow-up is joined to the user's previous question
("Is RLHF an outer alignment fix? And what about inner alignment?"), which carries both topics to
retrieval. The LLM modes may ask the model to rewrite instead (``generation``). Earlier turns and
the result are cut to ``max_chars`` (answer.max_question_chars), so a long earlier turn cannot
smuggle an over-long question past the limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_OPENERS = re.compile(
    r"^\s*(?:and|but|so|also|then|what about|how about|and what about|and how about|what of|why|how come|"
    r"is it|are they|does it|do they|can it|could it)\b",
    re.I,
)
_PRONOUNS = re.compile(r"\b(?:it|its|they|them|their|this|that|these|those|he|she|his|her|one|ones)\b", re.I)
MAX_FOLLOW_UP_WORDS = 12


def user_turns(history: Sequence[Mapping[str, str]] | None) -> list[str]:
    """The user's earlier messages, oldest first."""
    return [str(turn.get("content", "")).strip() for turn in history or [] if turn.get("role") == "user"]


def is_follow_up(question: str) -> bool:
    words = question.split()
    if len(words) > MAX_FOLLOW_UP_WORDS:
        return False
    return bool(_OPENERS.search(question) or _PRONOUNS.search(question))


def cap(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters, at a word boundary when there is one."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    head = cut.rsplit(" ", 1)[0]
    return head if len(head) >= max_chars // 2 else cut


def cap_turns(turns: Sequence[str], max_chars: int) -> list[str]:
    """Each earlier turn cut to ``max_chars``: a 20,000-character turn is no longer a 20,000-character prompt."""
    return [cap(turn, max_chars) for turn in turns]


def condense(question: str, previous: Sequence[str], max_chars: int | None = None) -> str:
    """``question`` made standalone with the user's ``previous`` questions, when it is a follow-up;
    with ``max_chars``, the result keeps the whole question and at most that many characters."""
    earlier = [turn for turn in previous if turn]
    if not earlier or not is_follow_up(question):
        return question
    last = earlier[-1]
    if not last.endswith(("?", ".", "!")):
        last += "?"
    if max_chars is None:
        return f"{last} {question}"
    room = max_chars - len(question) - 1
    if room < 1:
        return question
    return f"{cap(last, room)} {question}"
