"""Where a question names the collection it asks ("according to the Atlas", "the wiki's definition"), not a topic.

A collection's name is the top-level folder of its page ids ("atlas" of "atlas/03/03.md") when the word is in fewer
than a quarter as many chunks (of the whole index) as the folder holds: the Atlas's pages rarely say "Atlas", so
"the Atlas" in a question picks out the few that do (its index page, a wiki page citing it) and not the ones that
answer. ``without_references`` leaves out of the text that is searched, scored and checked for coverage a reference
that only says where to look: introduced by a preposition ("according to the Atlas,", "in the wiki"), possessive
("the Atlas's conclusion"), or the collection as the one who says something ("The Atlas says …", "how does the
Atlas define …"). The question shown and handed to a language model keeps it. A question with any other mention
("What does the Atlas cover?", "Who wrote the Atlas?", "How is the wiki organised?") asks about the collection and
is searched whole, and so is one left with no search term. Not a reference: a name followed by "of" or joined to
another word ("the Atlas of AI", "wiki-style"), a name after other words ("the AI Safety Atlas"), a folder whose
word its pages use ("governance/…") or a stop word ("other/").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from alignment_qa.index.keyword import KeywordIndex
from alignment_qa.index.lexical import STOP_WORDS

NAMING_SHARE = 0.25  # a folder's word in fewer chunks than this share of the folder's names the collection
_FOLDER = re.compile(r"[a-z]{3,}")
_PREPOSITIONS = r"(?i:according\s+to|as\s+per|per|in|from|by|of|on|at)"
# verbs with the collection as the one who says something; not "cover", "have", "contain": those ask about it
_SAYING = (
    r"(?i:say|says|said|state|states|argue|argues|claim|claims|note|notes|write|writes|describe|describes|define|"
    r"defines|call|calls|suggest|suggests|explain|explains|mention|mentions|name|names|propose|proposes|recommend|"
    r"recommends|list|lists|relate|relates|discuss|discusses|mean|means|conclude|concludes)"
)
_THE = r"\b(?i:the)\s+"
_ALONE = r"\b(?![-\w])(?!\s+of\b)"  # "the Atlas", not "the Atlas of AI" or "wiki-style"
_PAGE = r"(?:\s+(?i:page|pages|article|articles|entry|entries))?"  # "in the wiki page on RLHF"


@dataclass(frozen=True)
class References:
    """Patterns for the mentions of a collection's names."""

    where: re.Pattern[str]  # a reference that only says where to look: left out
    any: re.Pattern[str]  # any mention: one left after ``where`` means the question asks about the collection


def collection_names(index: KeywordIndex) -> frozenset[str]:
    """The top-level folders of the indexed pages whose word few chunks use."""
    folders = Counter(chunk_id.split("/", 1)[0].lower() for chunk_id in index.ids if "/" in chunk_id)
    return frozenset(
        folder
        for folder, chunks in folders.items()
        if _FOLDER.fullmatch(folder)
        and folder not in STOP_WORDS
        and index.doc_freq.get(index.analyzer.stem(folder), 0) < NAMING_SHARE * chunks
    )


def reference_patterns(names: Sequence[str]) -> References | None:
    """The patterns for ``names``; None without names."""
    if not names:
        return None
    name = "(?i:" + "|".join(re.escape(name) for name in sorted(names)) + ")"
    introduced = rf"\b{_PREPOSITIONS}\s+{_THE}{name}{_ALONE}{_PAGE}(?!['’])\s*,?"
    possessive = rf"{_THE}{name}['’]s\b"
    speaker = rf"(?:^\s*|\b(?i:does|did|do)\s+){_THE}{name}{_ALONE}(?=\s+{_SAYING}\b)"
    return References(
        re.compile(f"{introduced}|{possessive}|{speaker}"),
        re.compile(rf"(?<![-\w]){name}{_ALONE}"),
    )


def without_references(question: str, references: References | None, index: KeywordIndex) -> str:
    """``question`` less the references that only say where to look; whole when it mentions the collection
    otherwise, mentions it not at all, or would keep no search term."""
    if references is None or not references.where.search(question):
        return question
    stripped = references.where.sub(" ", question)
    if references.any.search(stripped):
        return question
    stripped = re.sub(r"\s+,", ",", re.sub(r"\s{2,}", " ", re.sub(r"\(\s*\)", " ", stripped)))
    stripped = re.sub(r"\s*,?\s*([?.!;])", r"\1", stripped).strip(" ,")
    if not index.analyzer.term_set(stripped):
        return question
    return stripped
