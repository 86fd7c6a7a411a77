"""Turning a follow-up question into a standalone one, deterministically.

A question is a follow-up when it is short and leans on the conversation: it opens with "and",
"but", "what about", "how about", ..., or uses a pronoun ("it", "that", "they", ...) without
naming a subject of its own. A follow-up is joined to the user's previous question
("Is RLHF an outer alignment fix? And what about inner alignment?"), which carries both topics to
retrieval; when that question was itself a follow-up, to the ones before it too, back to the one
that named the subject ("What is RLHF? What are its limitations? And its alternatives?"). The LLM
modes may ask the model to rewrite instead (``generation``). Earlier turns and the result are cut
to ``max_chars`` (answer.max_question_chars), so a long earlier turn cannot smuggle an over-long
question past the limit. Earlier turns lose invisible characters (``visible_text``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

_OPENERS = re.compile(
    r"^\s*(?:and|but|so|also|then|what about|how about|and what about|and how about|what of|why|how come|"
    r"is it|are they|does it|do they|can it|could it)\b",
    re.I,
)
_PRONOUNS = re.compile(r"\b(?:it|its|they|them|their|this|that|these|those|he|she|his|her|one|ones)\b", re.I)
MAX_FOLLOW_UP_WORDS = 12


def user_turns(history: Sequence[Mapping[str, str]] | None) -> list[str]:
    """The user's earlier messages, oldest first (``visible_text``)."""
    return [visible_text(str(turn.get("content", ""))).strip() for turn in history or [] if turn.get("role") == "user"]


def visible_text(text: str) -> str:
    """``text`` without control and format characters (NUL, zero-width spaces, a byte-order mark) or unpaired
    surrogates, which no page holds and the tokenizer cannot encode; tabs and line breaks stay."""
    return "".join(char for char in text if char in "\t\n" or unicodedata.category(char) not in ("Cc", "Cf", "Cs"))


def is_follow_up(question: str) -> bool:
    words = question.split()
    if len(words) > MAX_FOLLOW_UP_WORDS:
        return False
    return bool(_OPENERS.search(question) or _PRONOUNS.search(question))


CHAIN_MAX_WORDS = 6  # an earlier follow-up this short ("What are its limitations?") names no subject of its own


def _leans_on_earlier(turn: str) -> bool:
    """Whether an earlier follow-up needed the turn before it too: it opens like one ("And what about …"), or is too
    short to name a subject ("What are its limitations?"); "What is reward hacking and why does it happen?" is not."""
    return is_follow_up(turn) and (bool(_OPENERS.search(turn)) or len(turn.split()) <= CHAIN_MAX_WORDS)


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
    chain = [earlier[-1]]
    for turn in reversed(earlier[:-1]):  # a follow-up of a follow-up: back to the turn that named the subject
        if not _leans_on_earlier(chain[0]):
            break
        chain.insert(0, turn)
    before = _joined(chain)
    if max_chars is None:
        return f"{before} {question}"
    room = max_chars - len(question) - 1
    if room < 1:
        return question
    if len(before) > room and len(chain) > 2:
        before = _joined([chain[0], chain[-1]])  # the turn that named the subject, and the latest
    return f"{cap(before, room)} {question}"


def _joined(turns: Sequence[str]) -> str:
    return " ".join(turn if turn.endswith(("?", ".", "!")) else turn + "?" for turn in turns)
