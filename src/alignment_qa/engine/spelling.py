"""Typos in a question: a word no page has, one edit away from a word the pages use, is read as that word.

"corrigibilty" becomes "corrigibility" and "constitutonal" "constitutional": an edit is a letter deleted,
inserted or replaced, or two neighbours swapped (Norvig's candidate set), and a candidate counts when its
stem is a term of the keyword index; a word the embedding model knows beats one it does not, then the one
the most chunks use wins. A British "-ise" spelling is first tried as "-ize". Left alone: words the pages
have, words the embedding model knows as whole words, words under six letters, chat spellings ("whats"),
and words written with a capital, a digit, a hyphen or an apostrophe (names and codes: "No indexed page
mentions …" must still name them). Two edits, split or joined words and context are out of scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from alignment_qa.index.keyword import KeywordIndex

MIN_LENGTH = 6  # shorter words have too many neighbours one edit away ("shard" / "hard")
MIN_DOC_FREQ = 2  # a correction must be a term at least this many chunks use
MAX_WORDS = 8  # unknown words tried per question (each costs about 1 ms)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_CHAT = frozenset(  # spellings without the apostrophe, not typos
    "doesnt didnt havent hasnt wouldnt shouldnt couldnt arent isnt wasnt werent theyre youre whats thats".split()
)
_BRITISH = re.compile(r"is(ation|ations|ing|ed|es|e)$")
_PLAIN_WORD = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])")


def one_edit(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion away from ``word``."""
    splits = [(word[:at], word[at:]) for at in range(len(word) + 1)]
    deletes = {left + right[1:] for left, right in splits if right}
    swaps = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    replaces = {left + letter + right[1:] for left, right in splits if right for letter in _LETTERS}
    inserts = {left + letter + right for left, right in splits for letter in _LETTERS}
    return (deletes | swaps | replaces | inserts) - {word}


def corrections(question: str, index: KeywordIndex, is_plain_word: Callable[[str], bool]) -> dict[str, str]:
    """``{typo: correction}`` for the words of ``question`` that read as typos of a word the pages use."""
    analyzer = index.analyzer
    found: dict[str, str] = {}
    tried = 0
    for match in _PLAIN_WORD.finditer(question):
        word = match.group()
        if len(word) < MIN_LENGTH or word in found or word in _CHAT or is_plain_word(word):
            continue
        if index.doc_freq.get(analyzer.stem(word), 0):
            continue
        tried += 1
        if tried > MAX_WORDS:  # not a question with typos: do not spend time on it
            break
        american = _BRITISH.sub(r"iz\1", word)  # "generalisation": the pages spell it "generalization"
        if american != word and index.doc_freq.get(analyzer.stem(american), 0) >= MIN_DOC_FREQ:
            found[word] = american
            continue
        ranked = []
        for candidate in sorted(one_edit(word)):
            freq = index.doc_freq.get(analyzer.stem(candidate), 0)
            if freq >= MIN_DOC_FREQ:
                ranked.append((is_plain_word(candidate), freq, candidate))
        if ranked:  # a word the embedding model knows first ("generalization", not "generalication"), then use
            found[word] = max(ranked, key=lambda item: item[:2])[2]
    return found


def corrected(question: str, index: KeywordIndex, is_plain_word: Callable[[str], bool]) -> tuple[str, str]:
    """``question`` with its typos corrected, and a notice that says what was read instead ("" when nothing)."""
    fixes = corrections(question, index, is_plain_word)
    if not fixes:
        return question, ""
    text = _PLAIN_WORD.sub(lambda match: fixes.get(match.group(), match.group()), question)
    read = ", ".join(f"“{typo}” as “{fix}”" for typo, fix in fixes.items())
    return text, f"Read {read}."
