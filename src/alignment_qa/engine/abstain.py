"""Whether the pages cover a question, decided from several signals, and what to say when not.

Signals: the best passage's cosine with the question (unless a passage holds, word for word, a phrase the
question names with a rare word in it: "the sharp left turn", "CIRL"); names in the question (capitalised words,
or words with digits) that no page contains (the keyword index knows the corpus's vocabulary; an unknown
lower-case word, such as a typo or another form of a corpus word, only raises the cosine bar, as does an
ordinary word no page has, capitalised inside a name: "the Dartmouth workshop"), and a versioned
name no chunk's text holds though the pages know the name ("GPT-5", "Claude 4" where they discuss GPT-4 and
Claude 3) or a word in capitals no chunk holds in capitals ("the US CHIPS Act" where pages say "chips"); the
question's rarer terms that the corpus has but no retrieved passage does; and whether a question asking for a
year, a count, a share, an amount or a person finds a sentence carrying one (for "how many GPUs …?", a number of
GPUs: ``answer_type.counts``); and, for near misses (the topic is
here, the asked fact is not), the probability from ``answerability`` that the best sentences leave the question
unanswered (above one cut a decline, above a lower one a notice that they may not answer it). A decline names
what is missing ("No indexed page mentions the Asilomar AI Principles."). A name of several words whose words no
chunk holds together ("the Frontier Model Forum", though pages say "frontier model" and "forum") only adds a
notice: users often name a thing in other words than the pages do ("Three Lines of Defence" for "three lines of
defense"). For a comparison whose one side the pages do not mention, the answer covers the other side and a
notice names the missing one. Thresholds live in ``AnswerSettings`` and were chosen on the ``tune`` questions.
Retrieval and sentence scoring are left to ``retrieval`` and ``evidence``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from alignment_qa.engine.answer_type import counted_thing, counts
from alignment_qa.engine.answerability import ASKING_WORDS, Answerability, answerability, question_words
from alignment_qa.engine.chat_words import CASUAL_WORDS, CHAT_SPELLINGS
from alignment_qa.engine.evidence import Scored
from alignment_qa.index.keyword import KeywordIndex
from alignment_qa.index.lexical import STOP_WORDS

_TOKEN = re.compile(r"[A-Za-z0-9][\w'’-]*")
_CONNECTORS = frozenset({"of", "for", "on", "and", "de", "van", "von", "&"})
# inside a name of several words ("Department of Energy"); "and" joins two names, so it ends one
_NAME_CONNECTORS = frozenset({"of", "for", "on", "de", "van", "von", "the"})
_NAME_TOKEN = re.compile(r"[A-Za-z0-9](?:[\w'’./-]*[A-Za-z0-9])?(?:['’]s)?")
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_CODE_NUMBER = re.compile(r"\d{3,}")
_ACRONYM = re.compile(r"[A-Z]{2,6}")  # before a number, it makes the number a code ("ISO 42001", "EO 14110")
_MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_ALSO_NAMES = frozenset({"april", "may", "june", "august", "jan"})  # months that are also given names or surnames
# "the 2017 Asilomar AI Principles", "the May 2024 Seoul Summit"
_THE_BEFORE = re.compile(r"\bthe\s+(?:(?:" + "|".join(sorted(_MONTHS)) + r")\s+)?(?:(?:1[89]|20)\d\d\s+)?$", re.I)
_I = re.compile(r"I(?:['’](?:m|ve|d|ll))?")
# what a question asking for a kind of token wants, named in a decline: "None of the nearest passages gives a share."
_KIND_NAMES = {"year": "a year", "percent": "a share", "money": "an amount of money", "number": "a number",
               "person": "a name"}  # fmt: skip
TITLE_CASE_SHARE = 0.6  # a question with more capitalised words than this is in title case: no names read from it


@dataclass(frozen=True)
class Coverage:
    """The verdict: ``covered``, and when not, the sentence that says why (``reason``)."""

    covered: bool
    reason: str = ""
    missing: list[str] = field(default_factory=list)  # names or terms the pages lack
    notice: str = ""  # for a partly covered question: what the answer leaves out
    # the near-miss check's doubt: the words none of the best sentences has, for a notice (``caution_notice``) once
    # the answer is chosen, naming only those its quoted sentences lack too; None: no doubt
    doubtful: list[str] | None = None


_CODE_PART = re.compile(r"[A-Za-z]+|\d+")
_VOUCHING_DIGITS = 4  # a code number long enough to name one thing ("14110"; not "100" of "FTSE 100")
_VOUCHING_PAGES = 3  # and rare in the index: chunks holding it at most


def _codes(question: str) -> list[tuple[str, str]]:
    """(acronym, number) for each number of three digits or more, not a year, right after an acronym ("ISO 42001",
    "EO-14110", "EO 14110's")."""
    parts = _CODE_PART.findall(question)
    return [
        (parts[at - 1].lower(), part)
        for at, part in enumerate(parts)
        if at > 0 and _ACRONYM.fullmatch(parts[at - 1]) and _CODE_NUMBER.fullmatch(part) and not _YEAR.fullmatch(part)
    ]


def unknown_words(question: str, index: KeywordIndex, is_plain_word: Callable[[str], bool]) -> list[str]:
    """The question's words no page has (``KeywordIndex.unknown_words``), less an acronym vouched for by the code
    number after it, one of four digits or more that few chunks hold ("EO 14110", where pages say "Executive Order
    14110"; not "FTSE 100")."""
    vouched = {
        acronym
        for acronym, number in _codes(question)
        if len(number) >= _VOUCHING_DIGITS and 0 < index.doc_freq.get(number, 0) <= _VOUCHING_PAGES
    }
    return [
        word
        for word in index.unknown_words(question, is_plain_word)
        if word not in vouched and word.lower() not in CHAT_SPELLINGS
    ]


# a name with a version, "GPT-5", "Claude 3.5", "AlphaFold 3", "ASL-4", "gpt5", "GPT-4o" (not a year: "GPT 2030")
_VERSIONED = re.compile(r"(?<![\w.-])([A-Za-z]{2,})([- ]?)(\d{1,3}(?:\.\d{1,2})?)(?![\d.]*\d)([A-Za-z]{0,2})(?![\w-])")
# a count or an amount after the number ("AGI 5 years", "GPUs 10x", "top 3 percent"): no version
_AMOUNT_AFTER = re.compile(
    r"\s*(?:%|percent|per\s*cent|years?|months?|weeks?|days?|hours?|minutes?|times|fold|million|billion|thousand|"
    r"trillion|people|countries|points?|dollars?|euros?)\b",
    re.I,
)
_ACRONYM_WORD = re.compile(r"(?<![\w-])[A-Z]{3,}(?![\w-])")
SHOUTED_SHARE = 0.6  # a question with more of its letters in capitals than this is shouted: no acronyms read from it
MOST_CHECKED = 3  # names of each kind searched for in the chunks' text, per question


def _opens_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or before[-1] in '.?!:;"“'


def unknown_versions(
    question: str, index: KeywordIndex, is_plain_word: Callable[[str], bool], matches: Callable[[str], bool]
) -> list[str]:
    """Versioned names in ``question`` that no chunk's text holds ("GPT-5", "Claude 4"), though the pages know the
    name with other versions ("GPT-4", "Claude 3"): every word of such a name is in some page, so only a search of
    the chunks' text (``matches``, a regular expression, any case, "-", " " or nothing before the number) tells
    them apart. The word before the number must read as a name: no plain word ("AlphaFold"), or a capitalised one
    not opening a sentence that the pages write with a number somewhere ("Claude"; not "Top 3"); a count after it
    ("AGI 5 years", "10x") is no version. At most ``MOST_CHECKED`` are searched."""
    found: list[str] = []
    checked = 0
    for match in _VERSIONED.finditer(question):
        letters, number, suffix = match.group(1), match.group(3), match.group(4)
        if suffix.lower() == "x" or _AMOUNT_AFTER.match(question, match.end()):
            continue
        named = (letters[0].isupper() and not _opens_sentence(question, match.start())) or not is_plain_word(
            letters.lower()
        )
        if not named or not index.doc_freq.get(index.analyzer.stem(letters.lower()), 0):
            continue  # an ordinary word, or a name no page has (``unknown_names`` says so)
        if "." not in number and index.doc_freq.get(index.analyzer.stem(f"{letters}{number}{suffix}".lower()), 0):
            continue  # a page writes it joined or hyphenated ("GPT-4" is also the term "gpt4"): no search needed
        if checked >= MOST_CHECKED:
            break
        checked += 1
        name = re.escape(letters)
        if is_plain_word(letters.lower()) and not matches(rf"(?i)\b{name}[- ]?\d"):
            continue  # an ordinary word the pages never write with a number ("Top 3"): no versioned name
        if not matches(rf"(?i)\b{name}[- ]?{re.escape(number + suffix)}(?:[^0-9]|$)"):
            found.append(match.group(0))
    return list(dict.fromkeys(found))


def unknown_acronyms(question: str, index: KeywordIndex, matches: Callable[[str], bool]) -> list[str]:
    """Words in capitals inside a name ("CHIPS" of "the US CHIPS Act") that no chunk's text holds in capitals,
    though the pages use the word in lower case ("chips"): the keyword index folds case, so only a search of the
    chunks' text (``matches``) tells the name from the ordinary word. A word in capitals with no capitalised word
    beside it is emphasis or a name in capitals ("REALLY", "OPENAI"), and a shouted question has none. At most
    ``MOST_CHECKED`` are searched."""
    letters = [char for char in question if char.isalpha()]
    if not letters or sum(char.isupper() for char in letters) > SHOUTED_SHARE * len(letters):
        return []
    tokens = list(_TOKEN.finditer(question))
    opens = _sentence_openers(question, tokens)
    found: list[str] = []
    checked = 0
    for at, token in enumerate(tokens):
        word = token.group()
        if not _ACRONYM_WORD.fullmatch(word) or not index.doc_freq.get(index.analyzer.stem(word.lower()), 0):
            continue  # not in capitals, or a word no page has (``unknown_names`` says so)
        beside = [other for other in (at - 1, at + 1) if 0 <= other < len(tokens) and not opens[max(at, other)]]
        if not any(tokens[other].group()[:1].isupper() and not opens[other] for other in beside):
            continue
        if checked >= MOST_CHECKED:
            break
        checked += 1
        if not matches(rf"\b{re.escape(word)}\b"):
            found.append(word)
    return list(dict.fromkeys(found))


# a name written with a dot inside, "Character.AI", "Node.js": the keyword index reads it as two known words. What
# follows the dot is in capitals (not a roman numeral: "Vol.III") or a domain's or file's ending in lower case: a
# chat question's missing space ("Thanks.now what is RLHF?", "RLHF.Is it good?") is no name
_DOTTED = re.compile(
    r"(?<![\w.@/-])[A-Z][A-Za-z0-9]*\.(?:(?![IVXLC]+\b)[A-Z]{2,4}|(?:ai|io|js|ts|py|com|org|net|dev|app|co|gg|ml))"
    r"(?![\w.@/-])"
)


def unknown_dotted(question: str, matches: Callable[[str], bool]) -> list[str]:
    """Names with a dot inside ("Character.AI") that no chunk's text holds, in any case: every part is a word of
    some page, so only a search of the chunks' text (``matches``) tells. At most ``MOST_CHECKED`` are searched."""
    names = list(dict.fromkeys(match.group() for match in _DOTTED.finditer(question)))[:MOST_CHECKED]
    return [name for name in names if not matches(rf"(?i)\b{re.escape(name)}\b")]  # Rust's regex: no look-around


def unknown_capitalised(question: str, index: KeywordIndex, is_plain_word: Callable[[str], bool]) -> list[str]:
    """Ordinary words no page has, as written, with a capital inside what reads as a name ("the Dartmouth workshop",
    "the 2024 Nobel prize", "the FIFA World Cup"): ``unknown_words`` passes over ordinary words, since a lower-case
    one ("vacation") says little about what a question asks. Inside a name means after "the" (a year between
    allowed) or beside another capitalised word of the same clause; a capital alone is often emphasis or habit
    ("explain it like I'm a Beginner"). Capitals for emphasis have the same shape ("the Scary scenario"), so these
    words raise the relevance bar like an unknown word and are named if the question is declined; they do not
    decline it by themselves, and an answer to it says that no page mentions them. Not in a question in title
    case, not a clause's first word, not a word in capitals (``unknown_acronyms``)."""
    tokens = list(_TOKEN.finditer(question))
    words = [token.group() for token in tokens]
    if _in_title_case(words):
        return []
    opens = _sentence_openers(question, tokens)

    def capitalised(at: int) -> bool:  # "I" and "I'm" are no part of a name
        return 0 <= at < len(words) and not opens[at] and words[at][:1].isupper() and _I.fullmatch(words[at]) is None

    def after_the(at: int) -> bool:
        before = at - 1 - (at > 1 and bool(_YEAR.fullmatch(words[at - 1])) and not opens[at - 1])
        return before >= 0 and not opens[before + 1] and words[before].lower() == "the"

    found: list[str] = []
    for at, written in enumerate(words):
        if not capitalised(at) or written.isupper():
            continue
        if not (after_the(at) or capitalised(at - 1) or capitalised(at + 1)):
            continue
        if _first_name_of_known(words, at, opens, index, is_plain_word):
            continue  # "Nick Bostrom"
        if any(
            not joined and is_plain_word(word) and not index.doc_freq.get(index.analyzer.stem(word), 0)
            for word, joined in index.analyzer.tagged_words(written)
        ):
            found.append(written[:-2] if written.endswith(("'s", "’s")) else written)
    return list(dict.fromkeys(found))


def _first_name_of_known(
    tokens: Sequence[str], at: int, opens: Sequence[bool], index: KeywordIndex, is_plain_word: Callable[[str], bool]
) -> bool:
    """Whether ``tokens[at]`` is a first name before a surname the pages use ("Nick" of "Nick Bostrom", whom the
    pages cite as "Bostrom"): a word of letters the model knows, then a capitalised word outside its vocabulary that
    some page has ("AI" of "the Asilomar AI Principles" is a plain word, so that name stays unknown)."""
    following = at + 1
    if (
        following >= len(tokens)
        or opens[following]
        or not tokens[at].isalpha()
        or not is_plain_word(tokens[at].lower())
    ):
        return False  # a first name is a word the model knows ("Nick"); a made-up one ("Zorpex") is a name
    surname = tokens[following].rstrip("'’s") if tokens[following].endswith(("'s", "’s")) else tokens[following]
    return (
        surname[:1].isupper()
        and surname.isalpha()
        and not surname.isupper()
        and not is_plain_word(surname.lower())
        and bool(index.doc_freq.get(index.analyzer.stem(surname.lower()), 0))
    )


def unknown_names(
    question: str, index: KeywordIndex, is_plain_word: Callable[[str], bool], also: Iterable[str] = ()
) -> list[str]:
    """Names in ``question`` that no page mentions, as the question spells them, widened to the
    capitalised phrase around them ("the Asilomar AI Principles"); a number of three digits or more right after an
    acronym, that no page has and that is no year, counts as a name ("ISO/IEC 42001"; not "the 300 researchers",
    "GPT-3's 175 billion"); an acronym a code number vouches for (``unknown_words``) does not. ``also``: more words
    known to be unknown (``unknown_acronyms``)."""
    unknown = (
        set(unknown_words(question, index, is_plain_word))
        | {number for _, number in _codes(question) if not index.doc_freq.get(number, 0)}
        | {word.lower() for word in also}
    )
    if not unknown:
        return []
    matches = list(_TOKEN.finditer(question))
    tokens = [match.group() for match in matches]
    opens = _sentence_openers(question, matches)  # a name does not run on into the next sentence
    names: list[str] = []
    for i, token in enumerate(tokens):
        word = token.lower().rstrip("'’s") if token.lower().endswith(("'s", "’s")) else token.lower()
        if word not in unknown:  # "Bletchley-Zorp": a name when one part is unknown, unless only the question's
            parts = token.split("-")  # first word is capitalised ("Pre-traning data?" is a typo, not a name)
            if not unknown & {part.lower() for part in parts} or (i == 0 and not all(p[:1].isupper() for p in parts)):
                continue
        if not (token[:1].isupper() or any(ch.isdigit() for ch in token)):
            continue  # a lower-case word ("sycophantic" beside "sycophancy") is not a name: it raises the bar
        start, end = i, i + 1
        while start > 0 and not opens[start] and not opens[start - 1] and tokens[start - 1][:1].isupper():
            start -= 1  # not back to a sentence's first word ("What", "Does")
        while (
            end < len(tokens)
            and not opens[end]
            and (
                tokens[end][:1].isupper()
                or (
                    tokens[end] in _CONNECTORS
                    and end + 1 < len(tokens)
                    and not opens[end + 1]
                    and tokens[end + 1][:1].isupper()
                )
            )
        ):
            end += 1
        phrase = (
            " ".join(tokens[start:end]).rstrip("'’s")
            if tokens[end - 1].endswith(("'s", "’s"))
            else " ".join(tokens[start:end])
        )
        before = start - 1 - (start > 1 and tokens[start - 1].isdigit() and not opens[start - 1])  # "the 2017 …"
        modifier = (  # "the Dartmouth workshop"; not "the Bible is", "the UK-Zorp the same"
            end - start == 1
            and end < len(tokens)
            and not opens[end]
            and tokens[end].islower()
            and tokens[end] not in STOP_WORDS
        )
        if before >= 0 and not opens[start] and tokens[before].lower() == "the" and not modifier:
            phrase = "the " + phrase
        if not any(_within(phrase, name) for name in names):
            names = [name for name in names if not _within(name, phrase)]  # "ISO IEC" within "ISO IEC 42001"
            names.append(phrase)
    return names


# where a sentence or clause starts: after "?", "!", ";", ":", a quote, a bracket, a dash between spaces, a line
# break, or a full stop after a word of three letters or more or after two capitals before a capital ("I work in
# AI. Sorry …"); not the full stop of "U.S." or "Dr."
_SENTENCE_BREAK = re.compile(r"[?!;:\n\"“”‘(]|\s[-–—]\s|(?<=\w{3})\.(?=\s)|(?<=\b[A-Z]{2})\.(?=\s+[A-Z])")


def _sentence_openers(text: str, matches: Sequence[re.Match[str]]) -> list[bool]:
    """For each token match of ``text``, whether it opens a sentence or clause: the first, or one after a break
    (``_SENTENCE_BREAK``)."""
    return [
        at == 0 or _SENTENCE_BREAK.search(text, matches[at - 1].start(), match.start() + 1) is not None
        for at, match in enumerate(matches)
    ]


def _in_title_case(words: Sequence[str]) -> bool:
    """Whether more than ``TITLE_CASE_SHARE`` of the words with letters after the first are capitalised."""
    lettered = [word for word in words[1:] if any(char.isalpha() for char in word)]
    return bool(lettered) and sum(word[:1].isupper() for word in lettered) > TITLE_CASE_SHARE * len(lettered)


def _within(name: str, phrase: str, any_case: bool = False) -> bool:
    """Whether ``name`` is in ``phrase`` as whole words ("ISO IEC" in "ISO IEC 42001", not "Zorp" in "Zorpex")."""
    pattern = rf"(?<![\w'’-]){re.escape(name)}(?![\w'’-])"
    return re.search(pattern, phrase, re.I if any_case else 0) is not None


def name_phrases(question: str, is_plain_word: Callable[[str], bool], whole_question: bool = True) -> list[str]:
    """Names of two or more words in ``question``: runs of capitalised words or words with digits ("Frontier
    Model Forum", "NIST AI RMF 1.0"), joined by "of", "for" and the like, with at least two words of letters. A
    possessive ends a name ("DeepMind's Chinchilla" is two); a date at either end is not part of the name ("March
    2024" is none, "Jan Leike" stays one); a capitalised ordinary word that opens the question ("What", "Does")
    is not a name. A whole question in title case has none."""
    matches = list(_NAME_TOKEN.finditer(question))
    tokens = [match.group() for match in matches]
    opens = _sentence_openers(question, matches)
    if whole_question and _in_title_case(tokens):
        return []
    names: list[str] = []
    run: list[str] = []

    def close() -> None:
        _trim_date(run, at_end=True)
        _trim_date(run, at_end=False)
        words = [token for token in run if token.lower() not in _NAME_CONNECTORS]
        if sum(any(ch.isalpha() for ch in token) for token in words) >= 2:
            names.append(" ".join(run))
        run.clear()

    for position, token in enumerate(tokens):
        possessive = token.endswith(("'s", "’s"))
        word = token[:-2] if possessive else token
        named = word[:1].isupper() or any(ch.isdigit() for ch in word)
        if opens[position]:
            close()  # a name ends with its sentence ("… the Frontier Model Forum? And …")
            if named and is_plain_word(word.lower()):
                named = False  # "What", "Does", "And": a sentence's first word
        if named or (run and word.lower() in _NAME_CONNECTORS):
            run.append(word)
        else:
            close()
        if possessive:
            close()
    close()
    return names


def _is_month(token: str) -> bool:
    return token.lower() in _MONTHS


def _is_date_number(token: str) -> bool:
    return bool(_YEAR.fullmatch(token)) or (token.isdecimal() and token.isascii() and 1 <= int(token) <= 31)


def _trim_date(run: list[str], at_end: bool) -> None:
    """Strip connectors and a date from one end of ``run``: years and month names always, a day number, or a month
    that is also a name ("May", "Jan"), only next to another part of a date ("May 5 2024"), so "Jan Leike" and
    "Theresa May" stay names."""
    dated = False  # a part of a date was stripped at this end
    while run:
        edge = -1 if at_end else 0
        token = run[edge]
        inner = run[-2] if at_end and len(run) > 1 else run[1] if len(run) > 1 else ""
        date_part = (
            bool(_YEAR.fullmatch(token))
            or (_is_date_number(token) and (dated or _is_month(inner) or bool(_YEAR.fullmatch(inner))))
            or (_is_month(token) and (token.lower() not in _ALSO_NAMES or dated or _is_date_number(inner)))
        )
        if token.lower() in _NAME_CONNECTORS or date_part:
            run.pop(edge)
            dated = dated or date_part
        else:
            return


def unheard_names(
    question: str, index: KeywordIndex, is_plain_word: Callable[[str], bool], whole_question: bool = True
) -> list[str]:
    """The names of several words in ``question`` (``name_phrases``) whose words no chunk holds together,
    although each is in the corpus ("the European Central Bank"), as the question spells them. A name whose
    initials are a word of the corpus is known by them ("Machine Intelligence Research Institute": MIRI), and a
    person by a surname the pages use ("Nick Bostrom")."""
    found = []
    for name in name_phrases(question, is_plain_word, whole_question):
        if index.in_one_chunk(name):
            continue
        initials = "".join(word[0] for word in name.split() if word.lower() not in _NAME_CONNECTORS).lower()
        if len(initials) >= 2 and index.doc_freq.get(index.analyzer.stem(initials), 0):
            continue
        words = name.split()
        if len(words) == 2 and _first_name_of_known(words, 0, [False, False], index, is_plain_word):
            continue  # "Nick Bostrom", whom the pages cite as "Bostrom"
        at = question.find(name)
        found.append(f"the {name}" if at > 0 and _THE_BEFORE.search(question, 0, at) else name)
    return found


def absent_terms(
    question: str,
    passages_text: Sequence[str],
    index: KeywordIndex,
    min_idf: float,
) -> list[str]:
    """The question's rarer words that the corpus has but none of the retrieved passages has (not casual words:
    ``CASUAL_WORDS``)."""
    analyzer = index.analyzer
    present: set[str] = set()
    for text in passages_text:
        present |= analyzer.term_set(text)
    return [
        word
        for word, term in question_words(question, index)
        if not word.isdigit() and word not in CASUAL_WORDS and term not in present and index.idf(term) >= min_idf
    ]


_MATCH_TOKEN = re.compile(r"[A-Za-z0-9]+")
# a term a page sets off in quotes to name it ("The “pacing problem” further complicates matters."): two to five
# words, none of them a quote, the quotes not inside a word (an apostrophe: “Cotra’s”)
_QUOTED_TERM = re.compile(r"(?<![A-Za-z])[\"“‘']([A-Za-z][\w-]*(?:\s+[\w-]+){1,4})[\"”’'](?![A-Za-z])")


def _match_tokens(text: str) -> list[str]:
    """Letters and digits only, as written, so that "Cotra’s", 'CIRL-based' and “sharp left turn” meet their
    plain spellings; a possessive's lone "s" is dropped."""
    return [token for token in _MATCH_TOKEN.findall(text) if token not in ("s", "S")]


def named_in_passages(
    question: str,
    passages_text: Sequence[str],
    index: KeywordIndex,
    min_idf: float,
    is_plain_word: Callable[[str], bool],
) -> bool:
    """Whether a retrieved passage contains, word for word, a phrase the question names with a word as rare as
    ``min_idf`` in it: two adjacent content words ("the sharp left turn", "the Bletchley Declaration"), or one
    name outside the embedding model's vocabulary or in capitals ("Pangolin", "CIRL"; not "France"); or two
    adjacent capitalised words, one outside that vocabulary, however common ("Paul Christiano"); and the passages
    hold the question's other rare words too ("favourite food", "tall" they do not). A term a passage sets off in
    quotes ("the “pacing problem”") counts when the question names it, whatever its words' rarity ("pace" is in
    many pages). Such a question is about something the pages discuss, however far its wording sits from theirs
    in embedding space. Only pairs are checked: a longer phrase found in a passage has such a pair in it."""
    analyzer = index.analyzer
    written = _match_tokens(question)
    words = [token.lower() for token in written]
    terms = [analyzer.terms(word) for word in words]
    content = [bool(found) and word not in ASKING_WORDS for word, found in zip(words, terms, strict=True)]
    rare = [any(index.idf(term) >= min_idf for term in found) for found in terms]
    capitalised = [token[:1].isupper() for token in written]
    texts = [f" {' '.join(_match_tokens(text)).lower()} " for text in passages_text]
    wanted: dict[str, set[int]] = {}  # phrase -> the positions of the question's words it stands for
    for at, word in enumerate(words):
        # a person's full name, however often the pages cite it ("Paul Christiano": "christiano" is in many chunks)
        full_name = at > 0 and content[at - 1] and content[at] and capitalised[at - 1] and capitalised[at]
        if full_name and not (is_plain_word(words[at - 1]) and is_plain_word(word)):
            wanted.setdefault(f" {words[at - 1]} {word} ", set()).update((at - 1, at))
            if _first_name_of_known(written, at - 1, [False] * len(written), index, is_plain_word):
                wanted.setdefault(f" {word} ", set()).update((at - 1, at))  # "Nick Bostrom": the pages say "Bostrom"
        if not (content[at] and rare[at]):
            continue
        if (written[at].isupper() and len(word) > 1) or (written[at][:1].isupper() and not is_plain_word(word)):
            wanted.setdefault(f" {word} ", set()).add(at)
        for other in (at - 1, at + 1):
            if 0 <= other < len(words) and content[other]:
                first, second = sorted((at, other))
                wanted.setdefault(f" {words[first]} {words[second]} ", set()).update((first, second))
    named = {at for phrase, places in wanted.items() if any(phrase in text for text in texts) for at in places}
    named.update(_quoted_terms_named(words, content, passages_text))
    if not named:
        return False
    # a name alone does not make the question the pages' ("What is Paul Christiano's favourite food?", "How tall is
    # Eliezer Yudkowsky?"): its other rare words must be in the passages too
    present: set[str] = set()
    for text in passages_text:
        present |= analyzer.term_set(text)
    others = [found for at, found in enumerate(terms) if content[at] and rare[at] and at not in named]
    return all(set(found) & present for found in others)


def _quoted_terms_named(words: Sequence[str], content: Sequence[bool], passages_text: Sequence[str]) -> set[int]:
    """The positions in ``words`` (the question's, lower-cased) of a term of at least two content words that a
    passage writes in quotes, word for word."""
    found: set[int] = set()
    for text in passages_text:
        for match in _QUOTED_TERM.finditer(text):
            term = [token.lower() for token in _match_tokens(match.group(1))]
            if sum(word not in STOP_WORDS for word in term) < 2:
                continue
            for at in range(len(words) - len(term) + 1):
                span = range(at, at + len(term))
                if list(words[at : at + len(term)]) == term and sum(content[i] for i in span) >= 2:
                    found.update(span)
    return found


SHOWN_NAMES = 5  # a message names at most this many missing names or words
SHOWN_NAME_CHARS = 40  # and cuts each at this length: a 2,000-letter "word" is not echoed whole


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def names_phrase(names: Sequence[str]) -> str:
    """Names joined as "A or B" or "A, B or C": at most ``SHOWN_NAMES``, each cut at ``SHOWN_NAME_CHARS``, and
    "or 3 more" for the rest."""
    shown = [_shortened(name, SHOWN_NAME_CHARS) for name in names[:SHOWN_NAMES]]
    if len(names) > SHOWN_NAMES:
        shown.append(f"{len(names) - SHOWN_NAMES} more")
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _quoted(words: Sequence[str], most: int | None = 3) -> str:
    """Up to ``most`` words (None: as ``names_phrase`` shows them), quoted: "“budget”, “annual” or “institute”"."""
    return names_phrase([f"“{_shortened(word, SHOWN_NAME_CHARS - 2)}”" for word in words[:most]])


def _lowered_words(name: str) -> set[str]:
    return {word.lower() for word in _TOKEN.findall(name)}


def _unanswered_reason(unheard: Sequence[str], missing: Sequence[str], by_name: bool) -> str:
    """Why the near-miss check declined: the name no page spells so ("by that name" when ``by_name``: no word of it
    is in no page at all), or the rarest words the best sentences lack."""
    if unheard:
        spelled = " by that name" if by_name else ""
        return f"No indexed page mentions {names_phrase(unheard)}{spelled}, and no nearby sentence answers it."
    if missing:
        return f"The nearest passages are on this topic, but none of their best sentences mentions {_quoted(missing)}."
    return "The nearest passages are on this topic, but none of their sentences answers it."


def decide(
    question: str,
    scored: Sequence[Scored],
    best_passage_cosine: float,
    passages_text: Sequence[str],
    index: KeywordIndex,
    is_plain_word: Callable[[str], bool],
    *,
    min_relevance: float,
    unknown_margin: float,
    rare_idf: float,
    typed_top: int,
    unanswered_threshold: float,
    caution_threshold: float,
    sides: tuple[str, str] | None = None,
    kind: str | None = None,
    asked: str | None = None,
    matches: Callable[[str], bool] | None = None,
) -> Coverage:
    """Whether the retrieved passages (and their ``scored`` sentences) can answer ``question``. ``asked``: the
    user's own words, when ``question`` is a follow-up joined to earlier turns; a name or word no page has that
    only an earlier turn used ("What is zorblax?", then "And what about RLHF?") adds a notice, not a decline.
    ``matches``: searches the chunks' text for a versioned name ("GPT-5", ``unknown_versions``), a word in
    capitals (``unknown_acronyms``) or a name with a dot inside ("Character.AI", ``unknown_dotted``)."""
    if not passages_text or not scored:
        return Coverage(False, "")
    if matches is not None:  # one search per pattern, however many texts (own words, joined, sides) ask for it
        matches = functools.cache(matches)

    def names_in(text: str) -> list[str]:
        """The names ``text`` gives that no page mentions: plain unknown names, names in capitals, versions."""
        if matches is None:
            return unknown_names(text, index, is_plain_word)
        found = unknown_names(text, index, is_plain_word, unknown_acronyms(text, index, matches))
        versions = unknown_versions(text, index, is_plain_word, matches)
        return list(dict.fromkeys([*found, *versions, *unknown_dotted(text, matches)]))

    own = question if asked is None else asked
    names = names_in(own)
    carried: list[str] = []  # what only earlier turns named, by name where it is one, else by word

    def unknown_in(text: str) -> list[str]:
        """Words of ``text`` no page has: unknown words and ordinary words capitalised inside a name."""
        return [*unknown_words(text, index, is_plain_word), *unknown_capitalised(text, index, is_plain_word)]

    capitalised = unknown_capitalised(own, index, is_plain_word)
    unknown = [*unknown_words(own, index, is_plain_word), *capitalised]
    if asked is not None:
        earlier_words = [word for word in unknown_in(question) if word not in unknown]
        carried = [name for name in names_in(question) if name not in names]
        named = " ".join(carried).lower()
        carried += [word for word in dict.fromkeys(earlier_words) if word.lower() not in named]
    unheard = unheard_names(own, index, is_plain_word)
    if (names or unheard) and sides:
        known = [side for side in sides if not (names_in(side) or unheard_names(side, index, is_plain_word, False))]
        if len(known) == 1 and best_passage_cosine >= min_relevance:
            missing_side = next(side for side in sides if side not in known)
            missing = names_in(missing_side)
            by_name = ""
            if not missing:  # its words are in the corpus, never together
                missing = unheard_names(missing_side, index, is_plain_word, False)
                by_name = " by that name"
            return Coverage(
                True,
                missing=missing,
                notice=f"No indexed page mentions {names_phrase(missing)}{by_name}, so this answers only about "
                f"{known[0]} and not about {missing_side}.",
            )
    if names:
        return Coverage(False, f"No indexed page mentions {names_phrase(names)}.", names)
    if unknown:  # a typo or an unusual word: be clearly relevant
        min_relevance += unknown_margin
    if best_passage_cosine < min_relevance and (
        unheard  # a name the pages never hold together: one of its words found alone says nothing
        or unknown  # a word no page has ("sourdough"): the question is about something else
        or not named_in_passages(question, passages_text, index, rare_idf, is_plain_word)
    ):
        if unknown:  # declined, and these words are in no page: say so ("no indexed page mentions “sourdough”")
            words = list(dict.fromkeys(unknown))
            return Coverage(False, f"No indexed page mentions {_quoted(words, None)}.", words)
        return Coverage(False, "")
    absent = absent_terms(question, passages_text, index, rare_idf)
    if kind is not None and absent and not any(item.typed for item in scored[:typed_top]):
        quoted = ", ".join(f"“{word}”" for word in absent)
        return Coverage(False, f"None of the nearest passages mentions {quoted}.", absent)
    if kind is not None and not any(item.typed for item in scored):  # "What % of compute …?": no share anywhere
        return Coverage(False, f"None of the nearest passages gives {_KIND_NAMES[kind]}.")
    thing = counted_thing(own) if kind == "number" else ""
    if thing and _uncounted(thing, scored, index):  # "How many GPUs …?": numbers, but none of GPUs
        return Coverage(False, f"None of the nearest passages gives a number of “{thing}”.", [thing])
    checked = answerability(question, scored, passages_text, index, kind is not None)
    if asked is not None:  # name only the words the user typed this time, not an earlier turn's
        typed = [word for word in checked.missing if _within(word, own, any_case=True)]
        checked = Answerability(checked.unanswered, typed)
    # a name one of whose words no page has at all ("Open Philanthropy") is not in the pages by any name
    unwritten = {word.lower() for word in capitalised}
    by_that_name = [name for name in unheard if not unwritten & _lowered_words(name)]
    if checked.unanswered > unanswered_threshold:  # a near miss: the topic is here, the asked fact is not
        reason = _unanswered_reason(unheard, checked.missing, len(by_that_name) == len(unheard))
        return Coverage(False, reason, [*unheard, *checked.missing])
    notices = []
    if carried:
        shown = [name if name[:1].isupper() or " " in name else f"“{name}”" for name in carried]
        notices.append(f"No indexed page mentions {names_phrase(shown)}, from an earlier question.")
    name_words = set().union(*map(_lowered_words, unheard))
    if by_that_name:  # a warning, not a decline: users name things in other words than the pages do
        notices.append(
            f"No indexed page mentions {names_phrase(by_that_name)} by that name; the answer draws on the nearest "
            "passages."
        )
    # a name's word or emphasis: either way no page has it, and the answer is about other things
    plainly = [name for name in unheard if name not in by_that_name]
    plainly += [word for word in capitalised if word.lower() not in name_words]
    if plainly:
        listed = [name if " " in name else f"“{name}”" for name in plainly]
        notices.append(f"No indexed page mentions {names_phrase(listed)}; the answer draws on the nearest passages.")
    missing = [*carried, *unheard, *capitalised]
    doubtful = None
    if checked.unanswered > caution_threshold:
        doubtful = [word for word in checked.missing if word.lower() not in name_words]
        missing.extend(checked.missing)
    return Coverage(True, missing=missing, notice=" ".join(notices), doubtful=doubtful)


def _uncounted(thing: str, scored: Sequence[Scored], index: KeywordIndex) -> bool:
    """Whether no sentence of ``scored`` gives a number of ``thing``, a word the pages have (a typo or a word no page
    has is left to the other checks)."""
    terms = index.analyzer.terms(thing)
    if len(terms) != 1 or not index.doc_freq.get(terms[0], 0):
        return False
    return not any(counts(item.text, thing, index.analyzer.stem) for item in scored)


def caution_notice(words: Sequence[str]) -> str:
    """The near-miss check's notice, naming ``words`` that none of the answer's best sentences mentions."""
    lacking = f": none of their best sentences mentions {_quoted(words)}" if words else ""
    return f"The nearest passages may not answer this question{lacking}."
