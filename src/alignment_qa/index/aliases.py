"""An alias table learned from the corpus itself, for expanding questions.

Two kinds of evidence in the pages are used:

- abbreviations defined in the text, "Reinforcement Learning from Human Feedback (RLHF)" or
  "RLHF (Reinforcement Learning from Human Feedback)", accepted only when the letters of the
  abbreviation are the initials of the long form;
- explicit synonyms, "X (also called Y)" / "X is sometimes called Y", where X is a quoted
  phrase or a known term (a page title or a term of a "Definition: X" block), and key-facts
  rows such as "Also known as: Y, Z" of a page.

A question that mentions one name gets the others appended, so "Is RLHF an inner alignment fix?"
also searches for "reinforcement learning from human feedback". Page titles that number a part of a book
("Chapter 08 - Scalable Oversight", "8.2 Task Decomposition") give that part's name to a question that refers to it
by number ("What does chapter 8 cover?", "section 8.2"; ``named_parts``), one way only. No hand-written synonyms
and no guessing from word vectors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

_CONNECTORS = frozenset("of from for and the to in on with by via a an".split())
_ABBR_AFTER = re.compile(r"\(\s*([A-Z][A-Za-z0-9]{1,9}?)(s?)\s*\)")
_ABBR_BEFORE = re.compile(r"\b([A-Z][A-Z0-9]{1,9})(s?)\s+\(([^()]{4,90})\)")
_SYNONYM = re.compile(
    r"(?:,\s*|\s+is\s+|\s*\(\s*)(?:also\s+|sometimes\s+|often\s+|commonly\s+)+(?:called|known\s+as|referred\s+to\s+as)"
    r"\s+(?:the\s+|an?\s+)?[\"“]?([A-Za-z][\w\-’' ]{2,50}?)[\"”]?(?=[),.;:]|\s+or\s|\s+and\s|\s+\()"
)
_QUOTED_END = re.compile(r"[\"“]([^\"”]{3,60})[\"”]\s*$")
_DEFINITION = re.compile(r"^Definition:\s*([^(\n]{3,60}?)\s*(?:\(|$)", re.MULTILINE)
_FACT_ROW = re.compile(r"^(?:Also known as|Aliases|Other names|Synonyms|Abbreviations?):\s*(.+)$", re.MULTILINE | re.I)
_DIGIT_WORDS = {"to": "2", "for": "4"}  # "W2SG", "B2B", "G4G"
# a page title that numbers a part of a book, and a question's reference to a part by number
_CHAPTER_TITLE = re.compile(r"^Chapter\s+0*(\d{1,3})\s*[-–—:.]\s*(\S.{1,80})$", re.I)
_SECTION_TITLE = re.compile(r"^0*(\d{1,3}(?:\.\d{1,3})+)\s+(\S.{1,80})$")
# "chapter 8", "Ch. 08", "section 8.2" (not "section 4.2 of Anthropic's RSP", another document's part)
_PART_REFERENCE = re.compile(
    r"\b(chapter|ch|section|sec)\.?\s*0*(\d{1,3}(?:\.\d{1,3})*)\b(?!\s+(?:of|in)\s+(?!(?:the\s+)?(?:atlas|book)\b))",
    re.I,
)
_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")


def _initials(words: list[str], digits: bool = False) -> str:
    """The first letters of ``words`` and of their hyphenated parts, connectors left out; with ``digits``, "to" and
    "for" are written "2" and "4" ("Weak-to-Strong Generalization": "w2sg")."""
    letters = []
    for word in words:
        if word.lower() in _CONNECTORS and not (digits and word.lower() in _DIGIT_WORDS):
            continue
        for part in word.split("-"):
            if part:
                letters.append(_DIGIT_WORDS.get(part.lower(), part[0]) if digits else part[0])
    return "".join(letters).lower()


def _spells(words: list[str], abbr: str) -> bool:
    """Whether the initials of ``words`` spell ``abbr`` ("W2SG", a digit for "to", is tried both ways)."""
    target = abbr.lower()
    return _initials(words) == target or (any(ch in "24" for ch in target) and _initials(words, True) == target)


def _long_form_before(text: str, end: int, abbr: str) -> str | None:
    """The shortest run of words ending at ``end`` whose initials spell ``abbr``."""
    words = _WORD_RE.findall(text[max(0, end - 160) : end])
    for size in range(1, min(len(words), len(abbr) + 4) + 1):
        candidate = words[-size:]
        if candidate[0].lower() in _CONNECTORS or candidate[-1].lower() in _CONNECTORS:  # not "harm to" for "H2"
            continue
        if _spells(candidate, abbr):
            return " ".join(candidate)
    return None


def _clean_phrase(phrase: str) -> str:
    return " ".join(phrase.split()).strip(" ,.;:\"'“”")


def _mentions(question: str, lowered: str, name: str, exact_case: set[str]) -> bool:
    if name.lower() not in lowered:  # every match below contains it: skip the regex for most names
        return False
    if name.isupper():  # an abbreviation: a whole word, plural allowed; "rlhf" is fine, "sad" is not "SAD"
        if name in exact_case:
            return re.search(rf"\b{re.escape(name)}s?\b", question) is not None
        return re.search(rf"\b{re.escape(name.lower())}s?\b", lowered) is not None
    return re.search(rf"\b{re.escape(name.lower())}", lowered) is not None


@dataclass
class AliasTable:
    """Groups of names that mean the same thing."""

    groups: list[set[str]] = field(default_factory=list)
    exact_case: set[str] = field(default_factory=set)  # abbreviations that are also plain words ("LAW")
    parts: dict[str, str] = field(default_factory=dict)  # "chapter 8" -> "Scalable Oversight", "section 8.2" -> …

    def named_parts(self, question: str) -> str:
        """``question`` with the name of each part of a book it refers to by number right after the reference ("What
        does chapter 8 (Scalable Oversight) cover?"), so that a comparison's sides keep theirs; unchanged when it
        refers to none the titles number, or already says the name."""
        lowered = question.lower()

        def named(match: re.Match[str]) -> str:
            kind = "chapter" if match.group(1).lower().startswith("ch") else "section"
            name = self.parts.get(f"{kind} {match.group(2)}")
            return f"{match.group()} ({name})" if name and name.lower() not in lowered else match.group()

        return _PART_REFERENCE.sub(named, question)

    def expansions(self, question: str) -> list[str]:
        """Other names for the names in ``question`` that it does not already use."""
        lowered = question.lower()
        extra: list[str] = []
        seen: set[str] = set()
        for group in self.groups:
            if not any(_mentions(question, lowered, name, self.exact_case) for name in group):
                continue
            for name in sorted(group):
                if not _mentions(question, lowered, name, self.exact_case) and name.lower() not in seen:
                    seen.add(name.lower())
                    extra.append(name)
        return extra

    def expand(self, question: str) -> str:
        """``question`` with the other names appended, or unchanged when it uses none."""
        extra = self.expansions(question)
        return f"{question} ({'; '.join(extra)})" if extra else question

    def to_json(self) -> dict[str, Any]:
        return {
            "groups": [sorted(group) for group in self.groups],
            "exact_case": sorted(self.exact_case),
            "parts": dict(sorted(self.parts.items())),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AliasTable:
        return cls([set(group) for group in data["groups"]], set(data["exact_case"]), dict(data.get("parts", {})))


def _known_term_before(before: str, known: set[str]) -> str | None:
    quoted = _QUOTED_END.search(before)
    if quoted:
        return quoted.group(1)
    lowered = before.lower().rstrip(" ,")
    # the longest known term that ends the text and starts it or follows a character that is not a letter or digit:
    # one look-up per place it could start (the text is short), not one comparison per known term
    for start in range(len(lowered) + 1):
        if (start == 0 or not lowered[start - 1].isalnum()) and lowered[start:] in known:
            return lowered[start:]
    return None


Evidence = list[
    tuple[str, str, str]
]  # one chunk's: ("pair", name, name), ("known", term, ""), ("synonym", before, name), ("part", "chapter 8", name)


def alias_evidence(title: str, text: str) -> Evidence:
    """What one page or chunk says about names: abbreviation and key-facts pairs, terms it defines, and synonym
    phrases with the text before them (resolved against every known term by ``table_from_evidence``)."""
    found: Evidence = [("known", term, "") for term in _DEFINITION.findall(text)]
    for match in _ABBR_AFTER.finditer(text):
        abbr = match.group(1)
        if len(abbr) > 2 and not any(ch.isupper() for ch in abbr[1:]):
            continue  # "(Ought)" or "(Christiano)": a name, not an abbreviation
        long_form = _long_form_before(text, match.start(), abbr)
        if long_form and long_form.upper() != long_form:
            found.append(("pair", long_form, abbr))
    for match in _ABBR_BEFORE.finditer(text):
        abbr, words = match.group(1), _WORD_RE.findall(match.group(3))
        if words and _spells(words, abbr):
            found.append(("pair", " ".join(words), abbr))
    for match in _SYNONYM.finditer(text):
        found.append(("synonym", text[max(0, match.start() - 80) : match.start()], match.group(1)))
    for row in _FACT_ROW.findall(text):
        found.extend(("pair", title, name) for name in row.split(","))
    chapter, section = _CHAPTER_TITLE.match(title.strip()), _SECTION_TITLE.match(title.strip())
    if chapter:
        found.append(("part", f"chapter {chapter.group(1)}", chapter.group(2).strip()))
    elif section:
        found.append(("part", f"section {section.group(1)}", section.group(2).strip()))
    return found


def table_from_evidence(
    titles: Iterable[str], evidence: Iterable[Evidence], is_plain_word: Callable[[str], bool] = lambda word: False
) -> AliasTable:
    """The alias table from every chunk's title and ``alias_evidence``, in order: the same groups, in the same
    order, as adding each pair to an ``AliasTable`` one by one, in time linear in the pairs (union-find)."""
    evidence = list(evidence)
    known = {title.lower() for title in titles if title}
    known.update(term.lower() for items in evidence for kind, term, _ in items if kind == "known")
    parent: dict[str, str] = {}
    spellings: dict[str, set[str]] = {}
    touched: dict[str, int] = {}  # a group's root -> when a pair last touched it (the group order of AliasTable.add)
    step = 0

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    parts: dict[str, str] = {}
    for items in evidence:
        for kind, first, second in items:
            if kind == "part":
                parts.setdefault(first, second)
                continue
            if kind == "known":
                continue
            if kind == "synonym":
                subject = _known_term_before(first, known)
                if subject is None:
                    continue
                first = subject
            a, b = _clean_phrase(first), _clean_phrase(second)
            if len(a) < 2 or len(b) < 2 or a.lower() == b.lower():
                continue
            for name in (a, b):
                key = name.lower()
                if key not in parent:
                    parent[key], spellings[key] = key, set()
                spellings[root(key)].add(name)
            ra, rb = root(a.lower()), root(b.lower())
            if ra != rb:
                parent[rb] = ra
                spellings[ra] |= spellings.pop(rb)
                touched.pop(rb, None)
            step += 1
            touched[ra] = step
    table = AliasTable([spellings[key] for key in sorted(touched, key=touched.__getitem__)], parts=parts)
    table.exact_case = {
        name for group in table.groups for name in group if name.isupper() and is_plain_word(name.lower())
    }
    return table


def learn_aliases(
    pages: Iterable[tuple[str, str]], is_plain_word: Callable[[str], bool] = lambda word: False
) -> AliasTable:
    """Build the alias table from ``(title, text)`` pairs (whole pages or chunks).

    ``is_plain_word`` says whether a lower-cased abbreviation is also an ordinary word ("law",
    "sad"); such abbreviations then match a question only in capitals.
    """
    pages = list(pages)
    return table_from_evidence((title for title, _ in pages), (alias_evidence(*page) for page in pages), is_plain_word)
