"""Question-type answer typing: what kind of token a question asks for, and whether a sentence has one.

"How many …", "what year …", "what share …", "who wrote …" and "how much did … cost" ask for a
count, a year, a proportion, a person or an amount of money; a sentence that answers them
carries such a token. ``asked_type`` reads the question with a few patterns and ``carries``
checks a sentence with regular expressions (a person is a capitalised name or a citation such as
"Hubinger et al."). Other questions (what is, why, how does) ask for no particular token; this
module then says nothing. A yes/no question ("Is RLHF an inner alignment fix?") is told apart
(``asks_yes_or_no``), since users often ask one with a false premise and the pages answer it by
denying it ("W2SG is not a complete solution."): ``denied`` gives the words a sentence's negations
cover. A question asking for several things ("What are the three sections …?") is told apart too
(``asks_for_several``): a list in the pages answers it. A question asking what a term means ("what's a
mesa-optimizer?", "explain reward shaping to me") is told apart with its term (``defined_term``), and ``defines``
says whether a sentence says what that term is. For a follow-up, ``asking_words`` says whose words decide. No
parsing or named-entity model is used. For "how many X" (``counted_thing``), ``counts`` says whether a sentence
gives a number of X itself ("only nine countries"), not merely some number.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Literal

AnswerType = Literal["year", "percent", "money", "number", "person"]

_MONEY_Q = re.compile(
    r"\b(?:budget|funding|funded|cost|costs|spend|spent|spending|price|salary|revenue|invest(?:ed|ment)?|"
    r"dollars?|pounds?|euros?)\b",
    re.I,
)
_HOW_MUCH = re.compile(r"\bhow\s+much\b", re.I)
# "By how much has the cost of training runs grown?": a rate of change, not an amount of money
_CHANGE_Q = re.compile(
    r"\bby\s+how\s+much\b|\b(?:grow|grew|grown|growing|grows|increase[sd]?|increasing|rise|rose|risen|rising|fall|"
    r"fell|fallen|falling|decrease[sd]?|decreasing|drop(?:ped|s)?|double[sd]?|doubling|change[sd]?|changing)\b",
    re.I,
)
_YEAR_Q = re.compile(
    r"\b(?:what|which)\s+(?:year|date|day|month)\b(?![-‑])|\bin\s+what\s+year\b|\bwhen\s+(?:was|were|did|is|will)\b|"
    r"^\s*when\b",
    re.I,
)
_PERCENT_Q = re.compile(
    r"\b(?:what|which)\s+(?:share|percent(?:age)?|fraction|proportion|portion)\b|"
    r"\bwhat\s+(?:accuracy|success\s+rate|error\s+rate)\s+(?:did|does|do|is|was|were|has|have|can|could|would)\b|"
    r"\bhow\s+much\s+of\b|\bwhat\s+%|\bhow\s+many\s+percent\b|\b(?:share|percentage|fraction|proportion)\s+of\b",
    re.I,
)
_NUMBER_Q = re.compile(
    r"\bhow\s+(?:many|much|large|big|long|fast|often|old|high|small)\b|\bwhat\s+(?:number|size|amount|count)\b|"
    r"\bwhat(?:\s+is|['’]s)?(?:\s+the)?\s+(?:median|average|mean|maximum|minimum)(?![-\w])",
    re.I,
)
_PERSON_Q = re.compile(
    r"^\s*(?:and\s+)?who\b|\bwho\s+(?:wrote|coined|introduced|proposed|developed|invented|founded|created|"
    r"authored|came\s+up|first)\b|\bwhich\s+(?:researchers?|authors?|person|people|scientists?)\b|\bby\s+whom\b",
    re.I,
)

YEAR = re.compile(r"\b(?:1[5-9]\d\d|20\d\d)s?\b")  # "2019", "1960s"
_PERCENT = re.compile(
    r"\d\s?%|\b\d+(?:\.\d+)?\s*(?:percent|per\s+cent|percentage\s+points?)\b|\b(?:half|third|quarter|majority|"
    r"minority|fraction)\b",
    re.I,
)
_MONEY = re.compile(
    r"[$£€¥]\s?\d|\b\d[\d,.]*\s*(?:[mbk]n?|million|billion|trillion)?\s*(?:dollars|pounds|euros|usd|gbp|eur)\b", re.I
)
# a count: a number standing alone ("1.4 trillion", "20 times", "$50M"), not a name's ("GPT-4", "H100", "Claude 3
# Opus", "EO 14110" keep theirs: "GPT-4 is trained on the same methods as GPT-1" gives no count of GPUs), nor a year
_NUMBER = re.compile(
    r"(?<![\w.,‑-])(?!(?:1[5-9]|20)\d\d(?!\d))\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|trillion|dozen|dozens|hundreds|thousands|millions|billions)\b",
    re.I,
)
# a name right before a number makes it the name's ("the Claude 3 family", "EO 14110", "Figure 3"); a capitalised word
# opening the sentence is a name only in capitals ("About 20 labs …")
_NAMED_BEFORE = re.compile(
    r"(?:(?<=[^.!?]\s)[A-Z][\w-]*|\b[A-Z][A-Z0-9-]+|\b(?:[Ff]igure|[Tt]able|[Cc]hapter|[Ss]ection|[Vv]ersion))\s$"
)
_CITATION = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:and|&)\s+[A-Z][a-z]+)?(?:\s+et\s+al\.?|,\s+(?:19|20)\d\d)")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:van|von|de|der|du|da)?\s*[A-Z][a-z]+)+\b")


def asked_type(question: str) -> AnswerType | None:
    """The kind of token the question asks for, or ``None`` for open questions."""
    if _PERCENT_Q.search(question):
        return "percent"
    if (
        _MONEY_Q.search(question)
        and (_HOW_MUCH.search(question) or re.search(r"\bwhat\b", question, re.I))
        and not _CHANGE_Q.search(question)
    ):
        return "money"
    if _YEAR_Q.search(question):
        return "year"
    if _PERSON_Q.search(question):
        return "person"
    if _NUMBER_Q.search(question):
        return "number"
    return None


def carries(sentence: str, kind: AnswerType | None) -> bool:
    """Whether ``sentence`` has a token of ``kind`` (always true for ``None``)."""
    if kind is None:
        return True
    if kind == "year":
        return bool(YEAR.search(sentence))
    if kind == "percent":
        return bool(_PERCENT.search(sentence))
    if kind == "money":
        return bool(_MONEY.search(sentence))
    if kind == "number":
        return bool(_count_starts(sentence))
    return bool(_CITATION.search(sentence) or _NAME.search(sentence[1:]))


def _count_starts(sentence: str) -> list[int]:
    """Where ``sentence`` has a number that is a count: not a name's ("GPT-4", "Claude 3 Opus") nor a year."""
    return [
        found.start() for found in _NUMBER.finditer(sentence) if not _NAMED_BEFORE.search(sentence, 0, found.start())
    ]


# "how many GPUs …", "how many procedurally generated levels …": what is counted is the first plural among the next
# few words ("people" and "staff" included); a question with none ("How many signed it?") names nothing to count
_HOW_MANY = re.compile(r"\bhow\s+many\s+((?:[^\W\d_][\w'’-]*\s*){1,4})", re.I)
_PLURAL = re.compile(
    r"^(?:[^\W\d_][\w'’-]*(?:[^su'’\W]|(?<=[A-Z])[SU])s|(?i:people|children|men|women|staff|personnel|data|criteria))$"
)
_ACRONYM_PLURAL = re.compile(r"^[A-Z0-9]+s$")  # "GPUs", "LLMs": the stemmer keeps their "s"
_NOT_PLURAL = frozenset("bias atlas lens news series species chaos gas alias canvas this his its has was does".split())
# words a count of people goes by: "How many people signed …?" is answered by "over 1,000 signatories"; a more
# specific word ("participants") must be counted itself
_PEOPLE = frozenset(
    "people persons individuals humans participants signatories signatures researchers experts employees staff "
    "personnel workers users members".split()
)
_ANY_PEOPLE = frozenset("people persons individuals humans staff personnel".split())
# words a number may stand before what it counts ("3,668 multiple choice questions", "20 times more data tokens") or
# after it ("a parameter count of 1.8 trillion", "the number of GPUs used was 25,000")
COUNT_BEFORE, COUNT_AFTER = 4, 3
_WORD = re.compile(r"[^\W_]+(?:[.,]\d+)*")  # "3,668" and "1.7" are one word; "175-billion-parameter" is three


def counted_thing(question: str) -> str:
    """What a "how many" question counts ("GPUs" for "How many GPUs were used to train GPT-4?"), else ""."""
    found = _HOW_MANY.search(question)
    if found is None:
        return ""
    words = found.group(1).split()
    return next((word for word in words if _PLURAL.match(word) and word.lower() not in _NOT_PLURAL), "")


def counts(sentence: str, thing: str, stem: Callable[[str], str]) -> bool:
    """Whether ``sentence`` puts a count (not a name's number, as "Claude 3 Sonnet" or "GPT-4", nor a year) at most
    ``COUNT_BEFORE`` words before ``thing`` or ``COUNT_AFTER`` words after it (compared by ``stem``; for "people" or
    "staff", any word for people): "only nine countries possess nuclear weapons" counts countries, "in a study on
    Claude 3 Sonnet, safety-relevant features were identified" counts no features."""

    def stemmed(word: str) -> str:
        return stem((word[:-1] if _ACRONYM_PLURAL.match(word) else word).lower())

    wanted = {stemmed(thing)}
    if thing.lower() in _ANY_PEOPLE:
        wanted |= {stem(word) for word in _PEOPLE}
    numbers = _count_starts(sentence)
    if not numbers:
        return False
    words = list(_WORD.finditer(sentence))
    for at, word in enumerate(words):
        if stemmed(word.group()) not in wanted:
            continue
        first = words[max(at - COUNT_BEFORE, 0)].start()
        last = words[min(at + COUNT_AFTER, len(words) - 1)].start()
        if any(first <= number <= last and number != word.start() for number in numbers):
            return True
    return False


# an auxiliary verb first ("Is …", "Does …", "Won't …"), after a filler ("So is …", "Hmm, is …"); not a request
# ("Can you explain …?", "Could you summarize …?", "Do you know what … is?")
_YES_NO_Q = re.compile(
    r"^\W*(?:(?:so|and|but|ok|okay|then|also|wait|hmm+|well|oh|right)\W+)?(?:is|are|was|were|does|do|did|can|could|"
    r"will|would|should|shall|has|have|had|must|might|may|won['’]?t)(?:n['’]?t)?\b"
    r"(?!\s+(?:you|u)\s+(?:please\s+)?(?:explain|tell|describe|summari[sz]e|list|give|show|help|define|know|name|"
    r"compare|walk|clarify|elaborate|outline)\b)",
    re.I,
)
_CLAUSE = re.compile(r"[,;:()–—]|\bbut\b|\bwhile\b|\bwhereas\b|\balthough\b", re.I)
DENIAL_SCOPE = 8  # words after a negation that it covers
# not an affirmation ("not only …", "no doubt …", "no longer …")
_SAYS_NOT = re.compile(
    r"\b(?:not(?!\s+(?:only|just|merely|least)\b)|no(?!\s+(?:doubt|longer|less|matter|sooner)\b)|never|none|neither|nor|"
    r"cannot|nothing|far\s+from)\b|n['’]t\b(?!\s+(?:only|just|merely)\b)",
    re.I,
)


def asks_yes_or_no(question: str) -> bool:
    """Whether ``question`` is a yes/no question: it opens with an auxiliary verb."""
    return bool(_YES_NO_Q.search(question))


def denied(sentence: str, scope: int = DENIAL_SCOPE) -> str:
    """The words a negation of ``sentence`` covers ("not", "no", "never", "doesn't", "far from"): up to ``scope``
    words after each, within its clause; "" when nothing is denied."""
    covered = []
    for clause in _CLAUSE.split(sentence):
        for match in _SAYS_NOT.finditer(clause):
            covered.append(" ".join(clause[match.end() :].split()[:scope]))
    return " ".join(part for part in covered if part)


# "What are the three sections …?", "What advantages do red teams have …?", "How does RLHF work, step by step?" (not
# "What are mesa-optimizers?", a definition without "the", nor "Is RLHF a step towards alignment?")
_SEVERAL_Q = re.compile(
    r"\bstep[-\s]by[-\s]step\b|\b(?:what|which)\s+(?:are\s+)?(?:the\s+)?steps\b|\bsteps\s+(?:of|in|to|for)\b|"
    r"\b(?:what|which)\s+(?:are|were)\s+(?:the|some|(?:two|three|four|five|six|seven|eight|nine|ten|\d+|several|"
    r"main|different|key|major|various|core|basic))\s+|"
    r"\b(?:what|which)\s+(?:[\w-]+\s+){0,3}(?!this\b|its\b|is\b|was\b|has\b|does\b)[\w-]{2,}[^s\W]s\s+"
    r"(?:could|can|do|did|are|were|have|should|would|might)\b|"
    r"\blist\s+(?:the|all|some|a\s+few)\b|\bname\s+(?:the|some|a\s+few)\b|\b(?:kinds|types|ways)\s+(?:of|in|to)\b|"
    r"\bin\s+what\s+ways\b",
    re.I,
)


def asks_for_several(question: str) -> bool:
    """Whether ``question`` asks for several things (steps, parts, kinds, ways), which a list in the pages answers."""
    return bool(_SEVERAL_Q.search(question))


# a follow-up that asks nothing of its own: "and the genome one?", "What about inner alignment?"
_ELLIPTICAL = re.compile(
    r"^\W*(?:(?:and|or|but)\W+)?(?:what|how)\s+about\b|"
    r"^\W*(?:and|or)\s+(?!(?:what|which|why|how|who|whom|whose|when|where|is|are|was|were|does|do|did|can|could|will|"
    r"would|should|has|have)\b)",
    re.I,
)


def asking_words(asked: str | None, joined: str) -> str:
    """The words whose form decides what a question asks for (yes or no, several things): the user's own (``asked``)
    for a follow-up joined to earlier turns, unless they ask nothing of their own ("and the genome one?"), when the
    ``joined`` question does."""
    return joined if asked is None or _ELLIPTICAL.search(asked) else asked


# "What is reward shaping?", "what's a mesa-optimizer", "Define corrigibility.", "explain reward shapping to me",
# "TAI meaning?", "What does 'sandbagging' mean?", "What is meant by outer alignment?": a question asking what a term
# means, and the term (not "What is the difference between …", "What is the role of …", "What is RLHF's problem?")
_DEFINE_Q = re.compile(
    r"^\W*(?:(?:so|ok|okay|hey|hi|and|hmm+|well)\W+)?(?:"
    r"what\s+(?:does|do)(?=.*\b(?:mean|stand\s+for)\W*$)|"
    r"(?:what|whats)(?:\s+is|['’]s|\s+are|\s+exactly\s+is)?(?:\s+(?:meant\s+by|exactly))?|"
    r"(?:can\s+you\s+|could\s+you\s+|please\s+)?(?:define|explain|describe)|(?:meaning|definition)\s+of"
    r")\s+(?:a\s+|an\s+|the\s+(?=[a-z-]+\W*$)|the\s+(?:term|concept|idea|notion)\s+(?:of\s+)?)?"
    r"(?P<term>[\"'“‘]?[A-Za-z][\w'’-]*(?:\s+[\w'’-]+){0,4}?[\"'”’]?)"
    r"(?:\s+(?:mean|means|stand\s+for|refer\s+to|to\s+me|in\s+(?:simple|plain)\s+(?:terms|words|english)|"
    r"exactly|briefly|please|again))*\s*[?.!]*\s*$|"
    r"^\W*(?P<bare>[A-Za-z][\w'’-]*(?:\s+[\w'’-]+){0,3})\s+(?:meaning|definition|defined)\s*[?.!]*\s*$",
    re.I,
)
# what a "what is …" question asks about when it is not a term: "What is the difference …", "what is it"
_NOT_A_TERM = re.compile(
    r"^(?:the\s+)?(?:difference|differences|role|point|goal|purpose|problem|problems|main\s+\w+|best\s+\w+|"
    r"most\s+\w+|relation|relationship|link|connection|history|status|state|reason|reasons|cause|causes|impact|"
    r"effect|effects|answer|deal|matter|issue|catch|takeaway|consensus|evidence|latest|news|plan|status\s+quo)$|"
    r"^(?:it|this|that|these|those|they|he|she|we|you|i|there|going|happening|wrong|up|next|known|your|my|our)\b",
    re.I,
)
# words that make more than a term of what follows "what is": "what is X of Y", "what is X and Y", "what is X doing"
_NOT_IN_A_TERM = frozenset(
    "how why when where who which whom whose is are was were does do did can could should would will of for in and "
    "or vs versus between with behind about to on at from by than doing".split()
)


def defined_term(question: str) -> str:
    """The term ``question`` asks the meaning of ("reward shaping" for "explain reward shaping to me"), or ""."""
    match = _DEFINE_Q.search(question.strip())
    if match is None:
        return ""
    term = (match.group("term") or match.group("bare") or "").strip("\"'“”‘’ ")
    term = re.sub(r"^(?:the|a|an)\s+", "", term, flags=re.I)
    words = term.lower().split()
    if not words or len(words) > 4 or _NOT_A_TERM.search(term) or _NOT_IN_A_TERM & set(words):
        return ""
    return term


def defines(sentence: str, term: str) -> bool:
    """Whether ``sentence`` says what ``term`` is: with the term as its subject ("A mesa-optimizer is a learned
    algorithm …", "Reward Shaping: Reward shaping is a technique …", "Goodhart's law states that …", "Corrigibility
    refers to …"), or naming it last ("We call tasks where training signals are hard to generate “fuzzy tasks”."); not
    a kind of it ("Internally aligned mesa-optimizer: …") nor a claim about it ("Reward shaping can lead to …",
    "Goal misgeneralization is empirically real")."""
    return bool(term) and _definition_pattern(term).search(sentence) is not None


@functools.lru_cache(maxsize=64)
def _definition_pattern(term: str) -> re.Pattern[str]:
    """The pattern ``defines`` looks for, built once per term (it is tried on every candidate sentence)."""
    words = [re.sub(r"['’]", "['’]", re.escape(word)) for word in re.split(r"[\s-]+", term) if word]
    name = r"[\s-]+".join(words) + r"(?:s|es)?"  # "mesa-optimizer", "mesa optimizer", "mesa-optimizers"
    if re.fullmatch(r"[A-Z0-9-]{2,10}s?", term):  # an acronym, defined by its long form: "Reinforcement … (RLHF) is"
        name = rf"(?:{name}|(?:[\w'’-]+\s+){{1,8}}\({name}\))"
    pattern = (
        r"^(?:[^:.]{1,60}:\s+)?(?:(?:A|An|The|In\s+short|Simply\s+put|Informally|Formally),?\s+)?[\"'“‘]?"
        + name
        + r"[\"'”’]?(?:\s+\([^()]{1,40}\))?,?\s+(?:(?:is|are)\s+(?:(?:simply|basically|essentially|broadly|roughly|"
        r"generally|usually|often)\s+)?(?:a|an|the|any|one|when|where|what|how|defined|described|known|used)\b|"
        r"refers?\s+to|means?|describes?|denotes?|states?|occurs?\s+when|happens?\s+when|"
        r"can\s+be\s+(?:defined|described|understood|thought\s+of)\s+as|consists?\s+of)\b|"
        r"^" + name + r"\s*:\s+\S|"  # a glossary line: "Goodhart’s Law: When a measure becomes a target, …"
        # the term named last: "We call tasks where training signals are hard to generate “fuzzy tasks”."
        r"\b(?:call|calls|called|known\s+as|referred\s+to\s+as|termed|dubbed)\s+(?:(?:the|an?|this)\s+)?[\"'“‘]?"
        + name
        + r"[\"'”’“]?\s*(?:\([^()]{1,40}\))?\s*[.!]?$"
    )
    return re.compile(pattern, re.I)


# "What does chapter 8 cover?", "give me an overview of the interpretability section": the book's own parts
_ABOUT_THE_TEXT = re.compile(
    r"\b(?:chapters?|(?:sub)?sections?|book|atlas|textbook|overview|outline|syllabus|covers?|covered|topics?|"
    r"structure|summar(?:y|ies|ise|ize))\b",
    re.I,
)


def asks_about_the_text(question: str) -> bool:
    """Whether ``question`` asks about the pages themselves (a chapter, what a section covers), which the book's
    overview sentences answer ("This section introduces …")."""
    return bool(_ABOUT_THE_TEXT.search(question))
