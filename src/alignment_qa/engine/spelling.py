"""Typos in a question: a word no page has, one edit away from a word the pages use, is read as that word.

"constitutonal" becomes "constitutional" and "proccess" "process": an edit is a letter deleted, inserted
or replaced, or two neighbours swapped (Norvig's candidate set). A candidate must be a real word (one the
embedding model knows whole, or one the pages spell: "corrigibilty" becomes "corrigibility", but not by another
letter among its last two: "myopia" is not a typo of "myopic"), keep the first letter ("acausal" is not a typo
of "causal") and have its stem in the keyword index in at least two chunks; the most used one wins. A British
spelling no page uses is read the American way when the pages use that ("generalisation", "behaviour", "defence",
"centre", "modelling", "analyse"), also in a word the model knows or one written with a capital ("Weak-to-Strong
Generalisation"). Left alone: words the pages have, words the model knows, words under six or over thirty letters,
chat spellings ("whats"), other words written with a capital, and words with a digit, a hyphen or an apostrophe
(names and codes: "No indexed page mentions …" must still name them), and a question with more than eight unknown
words. A stem alone is never a correction (it let "qualit" for "qualia" through). A word of eight letters or more
with no such word one edit away may be one two edits away that the pages spell ("critisims" becomes "criticisms").
A word that is no typo may be two words run together, which the pages write apart and some chunk holds both of
("taskrabbit" becomes "task rabbit"). A word split in two ("reward hack ing") and context are out of scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Mapping

from alignment_qa.engine.chat_words import CHAT_SPELLINGS
from alignment_qa.index.keyword import KeywordIndex

MIN_LENGTH = 6  # shorter words have too many neighbours one edit away ("shard" / "hard")
MIN_DOC_FREQ = 2  # a correction must be a term at least this many chunks use
MIN_PART = 3  # a word read as two joined words: each has at least this many letters
TWO_EDITS_MIN_LENGTH = 8  # a word this long with no word one edit away may be read as one two edits away
MAX_WORDS = 8  # unknown words tried per question (each costs about 1 ms)
MAX_LENGTH = 30  # a longer "word" is no typo (and its candidates would cost seconds)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# British spellings, each with the American one the pages may use instead: "generalisation", "behaviour",
# "defence", "centre", "modelling", "analyse". Beyond "-ise", only the word stems that take them: "scouring" is not
# a British "scoring", nor "filled" a British "filed"
_BRITISH = (
    (re.compile(r"is(ation|ations|ing|ed|es|e)$"), r"iz\1"),
    (
        re.compile(r"^(behavi|col|fav|hon|neighb|hum|rum|vap|flav|endeav|arm|harb|od|rig|vig|savi|val|tum)our"),
        r"\1or",
    ),
    (re.compile(r"^(def|off|lic|pret)ence(s)?$"), r"\1ense\2"),
    (re.compile(r"^(cen|me|thea|li|spec|lus)tre(s)?$"), r"\1ter\2"),
    (re.compile(r"^(cen|me|thea|li|spec|lus)tred$"), r"\1tered"),
    (
        re.compile(
            r"^(model|label|signal|travel|cancel|fuel|level|channel|tunnel|counsel|total|equal|rival|dial)l"
            r"(ed|ing|er|ers)$"
        ),
        r"\1\2",
    ),
    (re.compile(r"^(anal|paral|catal|hydrol|dial|electrol)ys(e|ed|es|ing)$"), r"\1yz\2"),
)
_PLAIN_WORD = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])")
_WORD = re.compile(r"(?<![\w'’-])[A-Za-z]+(?![\w'’-])")


def one_edit(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion away from ``word``."""
    splits = [(word[:at], word[at:]) for at in range(len(word) + 1)]
    deletes = {left + right[1:] for left, right in splits if right}
    swaps = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    replaces = {left + letter + right[1:] for left, right in splits if right for letter in _LETTERS}
    inserts = {left + letter + right for left, right in splits for letter in _LETTERS}
    return (deletes | swaps | replaces | inserts) - {word}


def corrections(
    question: str,
    index: KeywordIndex,
    is_plain_word: Callable[[str], bool],
    matches: Callable[[str], bool],
) -> dict[str, str]:
    """``{typo: correction}`` for the words of ``question`` that read as typos of a word the pages use; nothing
    for a question with more than ``MAX_WORDS`` unknown words (that is not a question with typos). ``matches``
    searches the chunks' text with a regular expression: a word read as two must be written so somewhere ("task
    rabbit", "task-rabbit")."""
    analyzer = index.analyzer

    def used(candidate: str) -> int:
        return index.doc_freq.get(analyzer.stem(candidate), 0)

    unknown = set(index.unknown_words(question, is_plain_word))  # no page has them, the model does not know them
    typos = [
        word
        for word in dict.fromkeys(match.group() for match in _PLAIN_WORD.finditer(question))
        if word in unknown and MIN_LENGTH <= len(word) <= MAX_LENGTH and word not in CHAT_SPELLINGS
    ]
    if len(typos) > MAX_WORDS:
        return {}
    found: dict[str, str] = {}
    # a British spelling no page uses, in any word of letters, whether the model knows it ("behaviour") or not,
    # capitalised or not ("Weak-to-Strong Generalisation"): the pages spell it the American way
    for written in dict.fromkeys(match.group() for match in _WORD.finditer(question)):
        word = written.lower()
        if written[1:].islower() and MIN_LENGTH <= len(word) <= MAX_LENGTH and word not in index.spellings:
            american = _american(word, used, index.spellings)
            if american:
                found[written] = american.capitalize() if written[0].isupper() else american
    for word in typos:
        if word in found:
            continue
        # a real word (the pages spell it, or the embedding model knows it whole) with the same first letter:
        # "acausal" is not "causal"
        ranked = [
            (used(candidate), candidate)
            for candidate in sorted(one_edit(word))
            if candidate[0] == word[0]
            and (is_plain_word(candidate) or (candidate in index.spellings and not _suffix_swap(word, candidate)))
        ]
        # equally used (one stem: "actual", "actually" for "actualy"): the one that ends as the typo does
        best = max(ranked, default=(0, ""), key=lambda item: (item[0], _common_ending(word, item[1])))
        if best[0] < MIN_DOC_FREQ and len(word) >= TWO_EDITS_MIN_LENGTH:  # "critisims": two edits from "criticisms"
            best = _likeliest_two_edits_away(word, index, used)
        if best[0] >= MIN_DOC_FREQ:
            found[word] = best[1]
        else:
            split = _split(word, used, index, is_plain_word, matches)
            if split:
                found[word] = split
    return found


def _common_ending(left: str, right: str) -> int:
    """How many final letters ``left`` and ``right`` share."""
    shared = 0
    for a, b in zip(reversed(left), reversed(right), strict=False):
        if a != b:
            break
        shared += 1
    return shared


def _likeliest_two_edits_away(word: str, index: KeywordIndex, used: Callable[[str], int]) -> tuple[int, str]:
    """``(uses, page word)`` for the most used page word two edits from ``word``; words of one stem count as one
    ("criticism", "criticisms": the one closest in length, then the first alphabetically), and two stems used
    equally often ("inequalies": "inequalities" or "inequities") give ``(0, "")``: no guess."""
    by_stem: dict[str, list[str]] = {}
    for spelled in _two_edits_away(word, index.spellings):
        by_stem.setdefault(index.analyzer.stem(spelled), []).append(spelled)
    ranked = sorted(((used(words[0]), stem) for stem, words in by_stem.items()), reverse=True)
    if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
        return 0, ""
    uses, stem = ranked[0]
    return uses, min(by_stem[stem], key=lambda spelled: (abs(len(spelled) - len(word)), spelled))


def _two_edits_away(word: str, spellings: frozenset[str]) -> list[str]:
    """The words the pages spell that are two edits from ``word`` (with its first letter, no more than two letters
    longer or shorter, not one of its last two letters apart: ``_suffix_swap``); compared with the pages' words
    rather than generated, since the strings two edits away number in the hundreds of thousands."""
    return [
        spelled
        for spelled in spellings
        if spelled[:1] == word[:1]
        and abs(len(spelled) - len(word)) <= 2
        and not _suffix_swap(word, spelled)
        and _edit_distance(word, spelled, 2) == 2
    ]


def _edit_distance(left: str, right: str, most: int) -> int:
    """Optimal string alignment distance between ``left`` and ``right`` (deletions, insertions, replacements and swaps
    of neighbours), or ``most + 1`` once it is sure to exceed ``most``."""
    previous2: list[int] = []
    previous = list(range(len(right) + 1))
    for i, a in enumerate(left, 1):
        current = [i] + [0] * len(right)
        for j, b in enumerate(right, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == right[j - 2] and left[i - 2] == b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > most:
            return most + 1
        previous2, previous = previous, current
    return previous[-1]


def _split(
    word: str,
    used: Callable[[str], int],
    index: KeywordIndex,
    is_plain_word: Callable[[str], bool],
    matches: Callable[[str], bool],
) -> str:
    """``word`` as two real words (the pages spell them, or the embedding model knows them whole) of at least
    ``MIN_PART`` letters, each used by some chunk, that the pages write next to each other ("taskrabbit" -> "task
    rabbit"): the pair whose rarer word is the most used, or ""."""

    def real(part: str) -> bool:
        return part in index.spellings or is_plain_word(part)

    pairs = [
        (min(used(left), used(right)), left, right)
        for left, right in ((word[:at], word[at:]) for at in range(MIN_PART, len(word) - MIN_PART + 1))
        if real(left) and real(right)
    ]
    for uses, left, right in sorted(pairs, reverse=True):
        if not uses or not index.in_one_chunk(f"{left} {right}"):
            continue
        if matches(rf"(?i)\b{left}[ -]?{right}\b"):  # some chunk holds both (the cheap check first): written so?
            return f"{left} {right}"
    return ""


def _american(word: str, used: Callable[[str], int], spellings: Container[str]) -> str:
    """The American spelling of ``word`` that the pages write and at least ``MIN_DOC_FREQ`` chunks use, or "" (a
    stem alone is no word: "improvize" stems as "improve" does)."""
    for british, american in _BRITISH:
        spelled = british.sub(american, word)
        if spelled != word and spelled in spellings and used(spelled) >= MIN_DOC_FREQ:
            return spelled
    return ""


def _suffix_swap(word: str, candidate: str) -> bool:
    """Whether ``candidate`` differs from ``word`` by one letter among its last two: "myopia" / "myopic", "alarmist" /
    "alarmism" are two words, not a typo of one."""
    return len(word) == len(candidate) and word[:-2] == candidate[:-2]


def applied(text: str, fixes: Mapping[str, str]) -> str:
    """``text`` with each word of ``fixes`` replaced by its correction."""
    return _WORD.sub(lambda match: fixes.get(match.group(), match.group()), text) if fixes else text


def read_as(fixes: Mapping[str, str]) -> str:
    """The notice for ``fixes`` ("Read “constitutonal” as “constitutional”."), or "" when there are none."""
    return "Read " + ", ".join(f"“{typo}” as “{fix}”" for typo, fix in fixes.items()) + "." if fixes else ""
