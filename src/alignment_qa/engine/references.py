"""Where a question names the collection it asks ("according to the Atlas", "the wiki's definition"), not a topic.

A collection's name is the top-level folder of its page ids ("atlas" of "atlas/03/03.md") when few of that folder's
chunks use the word: the Atlas's pages rarely say "Atlas", so "the Atlas" in a question picks out the few that do
(its index page, a wiki page citing it) and not the ones that answer. ``without_references`` leaves such a
reference ("according to the Atlas,", "the Atlas's", "in the wiki") out of the text that is searched, scored and
checked for coverage; the question shown and handed to a language model keeps it. A question about the collection
itself ("Who wrote the Atlas?") or one that would keep no search term is left whole. A folder whose word its pages
use ("governance/…", where pages say "governance") names a topic and is never left out; neither is a name after
other words ("the AI Safety Atlas", "the Inner Alignment wiki"), whose words may be the topic.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from alignment_qa.index.keyword import KeywordIndex

NAMING_SHARE = 0.25  # a folder's word in fewer than this share of its chunks names the collection
_FOLDER = re.compile(r"[a-z]{3,}")
_PREPOSITIONS = r"(?i:according\s+to|as\s+per|per|in|from|by|of|on|at)"
_LEAD = r"\b(?i:the)\s+"  # "the Atlas", "The wiki's"


@dataclass(frozen=True)
class References:
    """Patterns for the references to a collection's names."""

    anywhere: re.Pattern[str]  # "the Atlas's", "according to the Atlas,", "in the wiki", "the Atlas"
    asked_about: re.Pattern[str]  # "Who wrote the Atlas?": the collection is what the question asks about


def collection_names(index: KeywordIndex) -> frozenset[str]:
    """The top-level folders of the indexed pages whose word few of their own chunks use."""
    folders = Counter(chunk_id.split("/", 1)[0].lower() for chunk_id in index.ids if "/" in chunk_id)
    return frozenset(
        folder
        for folder, chunks in folders.items()
        if _FOLDER.fullmatch(folder) and index.doc_freq.get(index.analyzer.stem(folder), 0) < NAMING_SHARE * chunks
    )


def reference_patterns(names: Sequence[str]) -> References | None:
    """The patterns for ``names`` (None without names). A reference that is not possessive takes a leading "according
    to" / "in" / ... and a trailing comma with it."""
    if not names:
        return None
    name = "(?i:" + "|".join(re.escape(name) for name in sorted(names)) + ")"
    possessive = _LEAD + name + r"['’]s\b"
    plain = rf"(?:\b{_PREPOSITIONS}\s+)?{_LEAD}{name}\b(?!['’])\s*,?"
    # "Who wrote the Atlas?", not "… according to the Atlas?"
    last = rf"(?<![\w'’])(?!(?:{_PREPOSITIONS}|(?i:to))\s)[\w'’]+\s+{_LEAD}{name}\s*[?.!]*\s*$"
    return References(re.compile(f"{possessive}|{plain}"), re.compile(last))


def without_references(question: str, references: References | None, index: KeywordIndex) -> str:
    """``question`` less its references to the collection; whole when it asks about the collection itself or when no
    search term would be left."""
    if references is None or references.asked_about.search(question):
        return question
    stripped = re.sub(r"\(\s*\)", " ", references.anywhere.sub(" ", question))
    stripped = re.sub(r"\s+,", ",", re.sub(r"\s{2,}", " ", stripped))
    stripped = re.sub(r"\s*,?\s*([?.!;])", r"\1", stripped).strip(" ,")
    if stripped == question or not index.analyzer.term_set(stripped):
        return question
    return stripped
