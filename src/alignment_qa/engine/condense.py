"""Turning a follow-up question into a standalone one, deterministically.

A question is a follow-up when its subject is a pronoun pointing back ("does that still hold if …?", at any length;
not a dummy "it", "is it possible to …", nor a determiner, "is that paper by …"), or when it is short and leans on
the conversation: it opens with "and", "but", "what about", "how about", ... (after a filler such as "ok" or "hmm"),
is only asking for more ("examples?", "tell me more", "why?"), names nothing of its own ("what's the downside?",
"can you give a concrete example?"), or uses a pronoun ("it", "that", "they", ...) in its first clause, before
naming a subject of its own ("what does interpretability research try to do? is it useful?" is no follow-up). When
the turn that named the subject reads "what is X", "who is X", "explain X", "how does X work" or "what does X mean",
the follow-up is rewritten with X: "and inner alignment?" after "what is outer alignment?" becomes "What is inner
alignment?" (like for like only: ``_parallel``), and "why is it so hard?" after "what is deceptive alignment?"
becomes "Why is deceptive alignment so hard?" (only where "it" cannot stand for something else: ``_rewritten``).
Otherwise it is joined to the user's previous question ("Is RLHF an outer alignment fix? And what about inner
alignment?"), which carries both topics to retrieval; when that question was itself a follow-up, to the ones before
it too, back to the one that named the subject ("What is RLHF? What are its limitations? And its alternatives?").
The LLM modes may ask the model to rewrite instead (``generation``). Earlier turns and the result are cut to
``max_chars`` (answer.max_question_chars), so a long earlier turn cannot smuggle an over-long question past the
limit. Earlier turns lose invisible characters (``visible_text``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

_OPENERS = re.compile(
    r"^\s*(?:and|but|so|also|then|what about|how about|and what about|and how about|what of|"
    r"is it|are they|does it|do they|can it|could it)\b",
    re.I,
)
_PRONOUNS = re.compile(r"\b(?:it|its|they|them|their|this|that|these|those|he|she|his|her|one|ones)\b", re.I)
MAX_FOLLOW_UP_WORDS = 12
# a chat reply's opening that says nothing about the question: "ok", "okay,", "alright", "hmm", "got it."
_FILLER = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|alright|all\s+right|right|hmm+|cool|great|got\s+it|i\s+see)[,.!]*\s+)+", re.I
)
_AFTER_FILLER = re.compile(r"^(?:so|then)\b[,.]*\s*", re.I)
# a question of any length whose subject is a pronoun pointing back ("does that still hold if the AI is trying to
# deceive us?", "but isn't that just reward hacking …?"), after a lead-in ("ok but", "and"): an auxiliary, then the
# pronoun, then no word that makes "it" a dummy for a clause after it ("is it possible to …", "does it matter
# whether …") and no noun that makes the demonstrative a determiner ("is that paper by Hubinger …", "do those who …")
_POINTING_SUBJECT = re.compile(
    r"^(?:(?:ok(?:ay)?|so|and|but|also|then)\b[\s,]*)*(?:(?:how|why|when|where|what)\s+)?"
    r"(?:is|are|was|were|does|do|did|can|could|would|will|should|has|have|might|must|may|"
    r"isn['’]t|aren['’]t|doesn['’]t|don['’]t|didn['’]t|wouldn['’]t|couldn['’]t|won['’]t|wasn['’]t)\s+"
    r"(?:it(?!\s+(?:possible|impossible|true|false|worth|necessary|likely|unlikely|important|hard|easy|safe|better|"
    r"matter|mean|make\s+sense)\b)(?!\s+(?:\w+\s+)?(?:to|that|whether|if)\b)"
    r"|they|(?:that|this|these|those)(?!\s+(?:who|which|whom|\w+ing)\b)(?!\s+\w+\s+(?:by|from|of|on|about)\b))\b",
    re.I,
)
# words that name no subject of their own: "what's the downside?", "can you give a concrete example?" ask about the
# conversation's subject
_GENERIC = frozenset(
    "downside downsides upside upsides drawback drawbacks risk risks danger dangers benefit benefits advantage "
    "advantages disadvantage disadvantages problem problems issue issues limitation limitations limit limits weakness "
    "weaknesses strength strengths criticism criticisms critique critiques catch evidence proof alternative "
    "alternatives example examples instance instances case cases difference differences point idea solution "
    "solutions fix fixes counterargument counterarguments objection objections source sources origin origins history "
    "cost costs result results implication implications consequence consequences cause causes reason reasons "
    "takeaway takeaways concrete real specific simple practical main biggest key major other good bad best worst "
    "typical famous known common concern concerns".split()
)
_NAMES_NOTHING_WORDS = frozenset(
    "what what's whats who who's how how's why when where where's which is are was were the a an any there some can "
    "could you give me of for do does did please name list show tell more one".split()
)
MAX_GENERIC_WORDS = 7
# a question made only of these words asks for more about the last topic ("examples?", "tell me more", "why?")
_ASKING_FOR_MORE = frozenset(
    "a an and any another example examples more tell me explain elaborate detail details why how come so go on "
    "please pls what else other others further expand source sources citation citations evidence really give "
    "some can you could continue".split()
)
# the end of a question's first clause: "?", ".", "!", ";", ",", or " and " / " but " before another clause
_FIRST_CLAUSE_END = re.compile(r"[?.!;,]|\s(?:and|but)\s", re.I)
_ARTICLE = r"(?:(?:an?|the)\s+)?"
# a turn that names its subject: "what is X", "who was X", "explain X", "how does X work", "what does X mean"
_SUBJECT_FORMS = tuple(
    re.compile(pattern, re.I)
    for pattern in (
        rf"^(?P<before>(?:what|who)(?:\s+(?:is|are|was|were)|['’]s)\s+){_ARTICLE}(?P<subject>.+?)(?P<after>)$",
        rf"^(?P<before>(?:explain|define|describe|tell me about)\s+){_ARTICLE}(?P<subject>.+?)(?P<after>)$",
        rf"^(?P<before>how\s+(?:does|do|did)\s+){_ARTICLE}(?P<subject>.+?)(?P<after>\s+work)$",
        rf"^(?P<before>what\s+(?:does|do)\s+){_ARTICLE}(?P<subject>.+?)(?P<after>\s+mean)$",
    )
)
_LEAD_IN = re.compile(r"^\s*(?:(?:ok(?:ay)?|so|and|but|also|then)\b[\s,]*)+", re.I)
_ABOUT = re.compile(r"^(?:(?:what|how)\s+about|what\s+of)\s+", re.I)  # after the lead-in: "and what about X"
_ASKS_ITSELF = re.compile(
    r"^(?:what|who|whom|whose|how|why|when|where|which|is|are|was|were|does|do|did|can|could|would|should|will|"
    r"has|have)\b",
    re.I,
)
_IT = re.compile(r"\b(?:its|it)\b", re.I)
_IT_IS = re.compile(r"\bit['’]s\b", re.I)  # often typed for "its": such a question is joined, not rewritten
# "is it true that …", "is it possible to …": "it" stands for no earlier subject
_DUMMY_IT_BEFORE = frozenset("that to possible impossible true false worth necessary the".split())
# another subject the pronoun may stand for: a person, or a name the question gives ("and DPO, is it better?")
_OTHER_REFERENT = re.compile(r"\b(?:he|him|his|she|her|they|them|their)\b", re.I)
_NAME_WORD = re.compile(r"(?<![\w'’-])(?:[A-Z][\w-]*[A-Z0-9][\w-]*|[A-Z][a-z]+)(?![\w'’-])")  # "DPO", "GPT-4", "Leike"
_CODE_WORD = re.compile(r"(?=[\w-]*[A-Z])[A-Z0-9][A-Z0-9-]*[a-z]?")  # in capitals: "RLHF", "GPT-4o", not "OpenAI"
# words that make "what is X …" a question about X doing something ("what is RLHF used for"), not X itself
_NOT_A_SUBJECT = re.compile(
    r"\b(?:for|about|at|with|to|in|on|by|from|used|doing|done|needed|discussed|said|meant|known|called|good|bad)$"
    r"|\b(?:used|doing|needed|discussed|known|called)\b",
    re.I,
)
# "it" with a clause after it stands for that clause ("is it safe to open-source models?", "does it matter whether …")
_DUMMY_IT_AFTER = re.compile(r"\b(?:to|that|whether|if)\b", re.I)
MAX_SUBJECT_WORDS = 6
MAX_PUT_WORDS = 4  # a longer subject ("the history of AI safety") reads badly in place of "it"
# a first clause that names nothing: it does not stop a later pronoun from pointing back ("thanks! is it used …?")
_EMPTY_CLAUSE_WORDS = frozenset(
    "are is there thanks thank ok okay cool great nice yes no hmm interesting i see".split()
)
_SPACE = re.compile(r"\s+")


def user_turns(history: Sequence[Mapping[str, str]] | None) -> list[str]:
    """The user's earlier messages, oldest first (``visible_text``)."""
    return [visible_text(str(turn.get("content", ""))).strip() for turn in history or [] if turn.get("role") == "user"]


def visible_text(text: str) -> str:
    """``text`` without control and format characters (NUL, zero-width spaces, a byte-order mark) or unpaired
    surrogates, which no page holds and the tokenizer cannot encode; tabs and line breaks stay."""
    return "".join(char for char in text if char in "\t\n" or unicodedata.category(char) not in ("Cc", "Cf", "Cs"))


def is_follow_up(question: str) -> bool:
    """Whether ``question`` leans on the conversation (see the module docstring); a question naming its own subject
    does not, however short."""
    unfilled = _FILLER.sub("", question)
    if unfilled != question:  # "ok so what's the counterargument to that …?": a "so" after a filler opens a new topic
        question = _AFTER_FILLER.sub("", unfilled)  # as often ("Ok, so what is RLHF?"): the pronoun decides
    words = question.replace("’", "'").split()
    if _POINTING_SUBJECT.match(question.strip()):
        return True
    if len(words) > MAX_FOLLOW_UP_WORDS:
        return False
    asked = [word.strip("?!.,;:'\"").lower() for word in words]
    if any(asked) and all(word in _ASKING_FOR_MORE for word in asked if word):
        return True
    if _names_nothing_of_its_own(asked):
        return True
    if _OPENERS.search(question):
        return True
    for clause in _FIRST_CLAUSE_END.split(question.strip()):  # the first clause that names something decides
        if not _names_nothing(clause):
            return bool(_PRONOUNS.search(clause))
    return True


def _names_nothing_of_its_own(asked: list[str]) -> bool:
    """A short question whose words are only question words and generic ones ("what's the downside?", "any real
    examples?"): it asks about the conversation's subject; "what are the risks of AI?" names its own."""
    named = [word for word in asked if word and word not in _NAMES_NOTHING_WORDS]
    return len(asked) <= MAX_GENERIC_WORDS and bool(named) and all(word in _GENERIC for word in named)


def _names_nothing(clause: str) -> bool:
    """A clause that names no subject: only words asking for more or saying thanks ("Are there examples", "thanks"),
    or at most two words without a name in capitals or with digits ("makes sense", "wow", "why not")."""
    words = [word.strip("!,:'’\"") for word in clause.split()]
    lowered = [word.lower() for word in words if word]
    if all(word in _ASKING_FOR_MORE | _EMPTY_CLAUSE_WORDS for word in lowered):
        return True
    return len(lowered) <= 2 and not any(_CODE_WORD.fullmatch(word) for word in words)


def _subject_form(turn: str) -> tuple[str, str, str] | None:
    """``(before, subject, after)`` when ``turn`` names its subject in one of the ``_SUBJECT_FORMS`` ("what is
    outer alignment?" gives "what is ", "outer alignment", ""), else None."""
    text = _SPACE.sub(" ", _LEAD_IN.sub("", turn)).strip().rstrip("?!. ")
    for form in _SUBJECT_FORMS:
        found = form.match(text)
        if found and _plain_subject(found["subject"]) and not _NOT_A_SUBJECT.search(found["subject"]):
            return found["before"], found["subject"], found["after"]
    return None


def _plain_subject(text: str) -> bool:
    """A few words naming a thing: no pronoun, no second question, no clause of its own."""
    return (
        0 < len(text.split()) <= MAX_SUBJECT_WORDS
        and not _PRONOUNS.search(text)
        and not _ASKS_ITSELF.match(text)
        and not re.search(r"[?!;:,]", text)
    )


def _about(turn: str) -> str | None:
    """What an "and X?" / "what about X?" follow-up asks about, when that is a bare subject, else None."""
    rest = _LEAD_IN.sub("", turn).strip()
    opened = rest != turn.strip()
    rest, about = _ABOUT.subn("", rest)
    rest = rest.strip().rstrip("?!. ")
    return rest if (opened or about) and _plain_subject(rest) else None


def _parallel(subject: str, other: str) -> bool:
    """Whether ``other`` is a subject of the same kind as ``subject``, so that "and OTHER?" asks the same about it:
    the same head word ("inner alignment" for "outer alignment"), or both names ("DPO" for "RLHF"). "and the
    alternatives?", "and examples?" or "and in LLMs?" ask about more of the subject itself."""
    mine, theirs = subject.split(), other.split()
    if not theirs or len(theirs) > MAX_PUT_WORDS or theirs[0].lower() in _ASKING_FOR_MORE:
        return False
    if len(mine) > 1 and len(theirs) > 1 and mine[-1].lower() == theirs[-1].lower():
        return True
    if len(mine) == len(theirs) == 1:  # "RLHF" and "DPO"; not "OpenAI" or "Dario Amodei" for "RLHF"
        return bool(_CODE_WORD.fullmatch(mine[0]) and _CODE_WORD.fullmatch(theirs[0]))
    return all(_NAME_WORD.fullmatch(word) and not _CODE_WORD.fullmatch(word) for word in [*mine, *theirs])


def _rewritten(question: str, chain: Sequence[str]) -> str | None:
    """``question`` with the subject the conversation last named put in: an "and X?" follow-up, X a subject of the
    same kind, asks what the turn that named the subject asked, about X; a follow-up's "it" or "its" becomes the
    subject (not a person's, not where the question or an earlier follow-up names someone or something else). None
    when no turn of ``chain`` names its subject in a known form, or the question has no such place for it: the
    caller then joins the turns."""
    form = None
    for turn in chain:
        named = _subject_form(turn)
        if named is not None:
            form = named
        elif form is not None and (about := _about(turn)) is not None:
            form = (form[0], about, form[2]) if _parallel(form[1], about) else None  # "and deception?": joined
        elif _OTHER_REFERENT.search(turn) or _NAME_WORD.search(turn[1:]):
            form = None  # "what book did he write?": "it" may now be the book
    if form is None:
        return None
    before, subject, after = form
    about = _about(question)
    if about is not None:
        return f"{before[:1].upper()}{before[1:]}{about}{after}?" if _parallel(subject, about) else None
    places = list(_IT.finditer(question))
    if (
        len(places) != 1
        or len(question.split()) < 3  # "got it"
        or before.lower().startswith("who")
        or len(subject.split()) > MAX_PUT_WORDS
        or re.search(r"\bof\b", subject, re.I)  # "risks of AI" + "its benefits" is no "risks of AI's benefits"
        or _IT_IS.search(question)
        or _OTHER_REFERENT.search(question)
        or _NAME_WORD.search(_LEAD_IN.sub("", question)[1:])
    ):
        return None
    place = places[0]
    following = question[place.end() :].split()
    if following and following[0].strip("?!.,;:").lower() in _DUMMY_IT_BEFORE:
        return None
    if _DUMMY_IT_AFTER.search(question, place.end()):
        return None
    put = f"{subject}'s" if place.group().lower() == "its" else subject
    text = f"{question[: place.start()]}{put}{question[place.end() :]}"
    text = _LEAD_IN.sub("", text).strip()
    return text[:1].upper() + text[1:]


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
        if not is_follow_up(chain[0]):  # a turn that names its own subject ends the chain
            break
        chain.insert(0, turn)
    rewritten = _rewritten(question, chain)
    if rewritten is not None:
        return rewritten if max_chars is None else cap(rewritten, max_chars)
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
