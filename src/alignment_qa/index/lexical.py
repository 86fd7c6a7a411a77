"""Words for keyword matching: lower-cased, stop words dropped, stemmed, compounds kept whole.

One analyzer serves BM25, evidence-sentence scoring and the support judge, so "mesa-optimizer",
"mesa optimizer" and "mesaoptimizers" meet on the same terms (``mesa``, ``optim`` and the
joined ``mesaoptim``). English only; no spelling correction.
"""

from __future__ import annotations

import re
import threading

import Stemmer

STOP_WORDS = frozenset(
    (
        "a about above after again against all am an and any are aren't as at be because been before being below "
        "between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during "
        "each few for from further had hadn't has hasn't have haven't having he her here hers herself him himself "
        "his how i if in into is isn't it it's its itself just let's me more most mustn't my myself no nor not of "
        "off on once only or other ought our ours ourselves out over own same shan't she should shouldn't so some "
        "such than that that's the their theirs them themselves then there there's these they this those through "
        "to too under until up very was wasn't we were weren't what what's when where which while who whom why "
        "with won't would wouldn't you your yours yourself yourselves also may might must shall will s t"
    ).split()
)
# the past tense of one verb that is also the stem of another: a text's "found" (of "find") does not speak of
# "founded", though both stem to "found" ("bound", "ground" are left out: in these pages mostly nouns, "upper
# bound", "ground truth", whose plurals stem alike)
PAST_TENSE_STEMS = frozenset({"found"})
_WORD = re.compile(r"[0-9a-z]+(?:[-'’][0-9a-z]+)*")
_JOINERS = re.compile(r"[-'’]")


class Analyzer:
    """Turns text into search terms. Cheap to build; keep one per index or engine."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()  # a PyStemmer stemmer must not be called concurrently

    def tagged_words(self, text: str) -> list[tuple[str, bool]]:
        """Lower-cased words without stop words, possessives cut, not stemmed; each with
        whether it is the joined form of a compound ("mesaoptimizer" from "mesa-optimizer")."""
        return [tagged for group in self.word_groups(text) for tagged in group]

    def word_groups(self, text: str) -> list[list[tuple[str, bool]]]:
        """``tagged_words`` grouped by the written word they come from: a compound's parts with its joined form."""
        out: list[list[tuple[str, bool]]] = []
        for match in _WORD.finditer(text.lower()):
            word = match.group()
            if word.endswith(("'s", "’s")):
                word = word[:-2]
            parts = [part for part in _JOINERS.split(word) if part]
            group = [(part, False) for part in parts if part not in STOP_WORDS and (len(part) > 1 or part.isdigit())]
            if len(parts) > 1:
                group.append(("".join(parts), True))
            out.append(group)
        return out

    def words(self, text: str) -> list[str]:
        return [word for word, _ in self.tagged_words(text)]

    def stem(self, word: str) -> str:
        with self._lock:
            return str(self._stemmer.stemWord(word))

    def terms(self, text: str) -> list[str]:
        """Stemmed search terms of ``text``, in order, with repeats."""
        return self.stems(self.words(text))

    def stems(self, words: list[str]) -> list[str]:
        if not words:
            return []
        with self._lock:
            return list(self._stemmer.stemWords(words))

    def term_set(self, text: str) -> set[str]:
        return set(self.terms(text))

    def precise_terms(self, text: str) -> dict[str, str]:
        """Each distinct term of ``text`` under a key: the term itself, or for a bare past tense that is another
        verb's stem (``PAST_TENSE_STEMS``) a key of its own ("=found"), so that "found" does not match "founded"
        when words are compared, not searched. A compound whose joined form stems to one of its parts' stems ("palme"
        of "PaLM-E" to "palm") is its joined form unstemmed, so that PaLM does not stand in for PaLM-E."""
        groups = self.word_groups(text)
        tagged = [item for group in groups for item in group]
        terms = self.stems([word for word, _ in tagged])
        out: dict[str, str] = {}
        at = 0
        for group in groups:
            stems = terms[at : at + len(group)]
            for (word, joined), term in zip(group, stems, strict=True):
                if joined and term in stems[:-1]:
                    term = word
                out[precise_key(word, term)] = term
            at += len(group)
        return out


def precise_key(word: str, term: str) -> str:
    """The key ``Analyzer.precise_terms`` files ``word`` (stemmed to ``term``) under."""
    return "=" + word if word in PAST_TENSE_STEMS else term
