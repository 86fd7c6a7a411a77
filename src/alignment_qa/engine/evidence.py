"""Evidence-only answers: pick the source sentences that best answer the question, verbatim.

Every quotable sentence of the retrieved passages is scored: cosine between its own vector and
the question's (vectors come from ``SentenceVectors``: stored at ingest, else embedded once and
kept in a bounded in-memory cache keyed by the sentence's hash), IDF-weighted overlap with the
question's terms, its passage's standing, and whether it carries the kind of token the question
asks for (a year, a count, a share, a name: ``answer_type``). The weights were fitted on the
``tune`` questions (a logistic regression, see ``WEIGHTS``) with the passage's place (1 / (1 + rank)),
which the coverage check still reads; the answer ranks by the passage's retrieval score as a share of
the best one's instead (``for_answer``). The answer leads with the best sentence
and adds the next ones only while they score close to it, skipping near-duplicates and the
sentences an earlier answer in the conversation already quoted; for a comparison ("X vs Y") it makes
sure each side gets a sentence of its own when one scores close enough; for a question asking for several things
("What are the three layers …?") the items of a list one of the best sentences belongs to or introduces. No
paraphrase, so nothing is claimed that the sources do not say. Questions, headings, a bold label opening a paragraph
("Safety implications of process oversight ."), figure captions (all of a caption's line), formulas, signposts ("The
next section explores …"), reference-list entries, a page's reference section ("Sources cited"), link lists, lines
that introduce a list and sentences addressed to a language model ("ignore previous instructions …", see
``injection``) are never quoted.

``EvidenceSynthesizer`` is evidence mode as a LlamaIndex response synthesizer (it needs no LLM);
``Draft`` is what any synthesizer's answer becomes before ``verify`` checks it. Deciding whether
the pages cover the question at all is left to ``abstain``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.prompts.mixin import PromptDictType
from llama_index.core.response_synthesizers import BaseSynthesizer
from llama_index.core.schema import NodeWithScore, QueryBundle, QueryType
from llama_index.core.types import RESPONSE_TEXT_TYPE

from alignment_qa.engine import citations as cite
from alignment_qa.engine.answer_type import (
    AnswerType,
    asking_words,
    asks_about_the_text,
    asks_for_several,
    carries,
    defines,
    denied,
)
from alignment_qa.engine.condense import user_turns
from alignment_qa.engine.injection import is_instruction
from alignment_qa.engine.meta_text import goes_on_from_overview, is_meta_text, is_overview
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.vector_cache import SentenceVectors
from alignment_qa.ingest.chunk import CAPTION, LIST_MARK, QUOTE_MAX_CHARS, QUOTE_MIN_WORDS, quote_spans

HEADING_WORDS = 12  # a shorter line without final punctuation is a heading or a label, not a claim
# a label with no full stop outside brackets: "Definition: Corrigibility (Soares et al., 2015)"
_HEADING_LIKE = re.compile(r"^(?:Definition|Figure|Table|Source|Sources|Related pages?)\b(?:[^.(]|\([^()]*\))*$", re.I)
# "Hubinger, E., van Merwijk, C., … (2019). Risks from …", "Footnote 4: Wiener, N. (1960).", a line with a URL:
# reference-list material (a bare quoted title is ``_quoted_title``)
_REFERENCE = re.compile(
    r"^(?:[A-Z][\w'’-]+,\s+(?:[A-Z]\.\s?)+,?\s*(?:&|and)?\s*)+|^(?:Footnote\s+\d+|\[\^?\w+\])\s*:|"
    r"https?://|\bRetrieved from\b"
)
_QUOTED = re.compile(r"^[\"“]([^\"”]+)[\"”]\.?$")  # a whole line in quotes: a title, or a quoted statement
# "- specification-gaming — the outer-alignment failure mode.", "rlhf, constitutional-ai — …": a list of page slugs
_SLUG_ITEM = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:\s*,\s*[a-z0-9]+(?:-[a-z0-9]+)*)*\s+[—–]\s")
# "Related pages", not "Related to this asymmetry is the difficulty of …"
_RELATED = re.compile(
    r"^(?:Related(?!\s+to\b.*\b(?:is|are|was|were)\b)|See also|Further reading|References|Bibliography)\b", re.I
)
# "Originating paper: …": a key-facts row whose short label names a work, and its value
_LABELLED = re.compile(
    r"^[A-Z][a-z]+(?:\s+[a-z]+){0,3}\s*(?<![a-z])(?:[Pp]apers?|[Bb]ooks?|[Tt]itle|[Rr]eports?|[Pp]osts?|[Aa]rticles?|"
    r"[Pp]ublications?|[Ss]ources?|[Pp]reprints?)\s*:\s+(.+)$"
)
# a verb that makes a line of names a claim ("… Switchblade, Phoenix Ghost are AI-enabled drones.")
_COPULA = re.compile(r"\s(?:is|are|was|were|has|have|had)\s")
_TITLE_SMALL_WORDS = frozenset("from with into onto upon over under about after between through without within".split())
# the title of a quote box, "Quote: Dario Amodei (Co-Founder and CEO of Anthropic)": who is quoted, not a claim
_ATTRIBUTION = re.compile(r"^Quote:\s")
# a bold run-in at the start of its paragraph ("**Safety implications of process oversight** ." in the page) is a label
# unless a verb makes it a claim: an auxiliary ("AI safety is a socio-technical problem …"), a lower-case word in -s
# before a word that is not a preposition ("Debate helps discover …", "Complete automation leads to …"), as
# "implications of", "laws in" and "details and" are not, or one in -ed before an article ("passed the …"). A guess from
# the text: the page's bold is gone by now
_RUN_IN_STOP = re.compile(r"\s\.$")
_RUN_IN_VERB = re.compile(
    r"\b(?i:is|are|was|were|be|been|being|can|cannot|could|may|might|will|would|should|must|has|have|had|do|does|"
    r"did)(?:n['’]t)?\b|\b(?i:can['’]t|won['’]t)|"
    r"(?<=\S)\s[a-z]+[^su\W]s\s+(?!(?:of|in|and|or|for|from|with|on|as|at|by|vs)\b)[\w'’-]|"
    r"\s[a-z]{2,}ed\s+(?:the|a|an|its|their|our)\s"  # "GPT-4 passed the bar exam ."
)
_QUOTE_MARKS = "\"“”‘’'"
# a role after a speaker's name, "(Co-Founder and CEO of Anthropic)"; a citation with its year stays: it names the
# author when the title names a topic ("Orthogonality Thesis (Bostrom, 2012)")
_TRAILING_ROLE = re.compile(r"\s*\((?:[^()\d]|\([^()]*\))*\)\s*$")
# a short heading that ends with its acronym, "Theoretical problems with Reinforcement Learning from Human Feedback
# (RLHF)" (a bold lead-in with its stop after a space is quoted: "Control evaluations assess safety measures under
# adversarial conditions ." answers, though "The Broken Neural Scaling Laws (BNSL) update in 2023 ." does not)
_ACRONYM_END = re.compile(r"\s\([A-Z][A-Za-z0-9&-]{1,12}\)$")
# a formula line, "t(internally aligned) ~= t(corrigibly aligned) < t(deceptively aligned)", or a comparison of
# bracketed terms run on into a sentence, "#(internally aligned AIs) < #(corrigibly aligned AIs) Random sampling …"
_FORMULA = re.compile(r"~=|==|≈")  # not "≥" or " > ": "Training compute ≥ 10^26 FLOP triggers reporting"
_BRACKETS_COMPARED = re.compile(r"\)\s*(?:~=|<=|>=|==|[<>=≈≤≥])\s*\S{0,3}\(")
# a claim of four or five words with a subject of its own ("Instruction tuning is not alignment.", "Current alignment
# techniques are fragile."), not one that leans on the sentence before ("This is not enough.")
_SHORT_CLAIM = re.compile(
    r"^(?!(?:This|That|It|Its|These|Those|They|There|He|She|Here|See|But|So|And|Or|Hence|Thus|E\.g\.|Example|Task|"
    r"Some|All|Both|Each|Such|Figures?|Tables?|Results?|The\s+(?:implications?|results?|answer|same|latter|former|"
    r"figure|table))\b)(?!.*\b(?:below|above)\.$)"
    r"[A-Z][\w’'-]*(?:\s+[\w’'-]+){0,2}\s+(?:is|are|was|were|can|may|might|could|will|must|remains?|exhibits?)\s+"
    r"(?:not\s+|still\s+|very\s+|even\s+)?[\w’'-]+(?:\s+[\w’'-]+)?\.$"
)
SHORT_CLAIM_MIN_WORDS = 4
# a head that only announces the question after it ("A critical question we face is: How do we …?", "The central
# question of this chapter: how …?")
_POSED = re.compile(r"\bquestions?\b|\bissue\s+(?:we\s+face\s+|here\s+|now\s+)?(?:is|are|was)$", re.I)
# a question with a citation after it: "What do we care about? (Mowshowitz, 2023)"
_CITED_QUESTION = re.compile(r"\?[\"”’']?\s*\([^()]*\d{4}[^()]*\)\.?$")
# a sentence that opens as a question does
_ASKS = re.compile(
    r"^(?:what|how|why|when|where|which|who|whom|whose|is|are|do|does|did|can|could|should|would)\b", re.I
)
# a page's reference section: what it cites, and notes on how the list was made, not claims
_REFERENCE_SECTION = re.compile(
    r"^(?:sources?(?:\s+cited)?|references?|bibliography|citations?|works\s+cited|see\s+also|further\s+reading|"
    r"related(?:\s+(?:pages|articles|posts|reading))?|external\s+links|footnotes|notes\s+and\s+references)$",
    re.I,
)

# Score weights: cosine, term overlap, passage rank (1 / (1 + rank)), answer-type match, first sentence of
# its passage: a logistic regression on the tune split (is this sentence a gold evidence sentence?), scaled
# so the cosine weighs 0.6.
WEIGHTS = (0.6, 0.534, 0.541, 0.234, 0.101)
DUPLICATE_COSINE = 0.9
# added to the answer score of a sentence denying what a yes/no question asks: a question with a false premise ("Is
# weak-to-strong generalization a complete solution?") is answered by the sentence that denies it ("W2SG is not a
# complete solution."), which shares few words with it
DENIAL_BONUS = 0.25
# added to the answer score of a sentence saying what one side of a comparison is ("Fast takeoff describes scenarios
# where …" for "How is a fast takeoff different from a slow takeoff?"), up to just below the best sentence's (tune:
# evidence in the answer 0.759 at 0.1, 0.2, 0.25, 0.3 and 1.0, 0.765 at 0.15; key facts 0.606 -> 0.609 at each)
SIDE_DEFINITION_BONUS = 0.15
# a list item counts the question's words its lead-in line has ("… happens in three ways:") at this share of their
# weight (tune: 0.5 and 1.0 each one more evidence sentence, 1.0 also one fewer); the lead-in is looked for this
# many lines up at most
LEAD_IN_SHARE = 0.5
LEAD_IN_LINES = 30
# a follow-up joined to the earlier questions ("why might X be safer? and what would make it riskier?"): its own
# words weigh this many times as much as the earlier ones' in a sentence's word overlap
EMPHASIS = 2.0
# a follow-up asking for an example ("can you give an example?") and a sentence giving one
_ASKS_FOR_EXAMPLE = re.compile(r"\b(?:examples?|instances?|illustrations?)\b|\be\.g\.(?!\w)", re.I)
_GIVES_EXAMPLE = re.compile(
    r"\b(?:for\s+(?:example|instance)|an?\s+(?:\w+\s+){0,2}example|example\s+(?:of|is|by|from)|imagine|"
    r"illustrat\w*|instance\s+of)\b|\be\.g\.(?!\w)",
    re.I,
)
# the example leads only when its answer score is at least this share of the best sentence's: a weak one far down
# the passages does not push out what answers
EXAMPLE_FLOOR = 0.5
# a sentence that opens by pointing back ("This means …", "None of them solve …") is quoted after the sentence it
# points to; "It is …" and the like usually point nowhere
_NOT_BACK = (  # "This section …", "These days …", "Those who …" point at the page or nowhere
    r"(?!(?:this|these|those|that)\s+(?:section|chapter|book|text|paper|post|article|year|month|week|decade|century|"
    r"days|who|in\s+control)\b)"
)
_ADDING = (
    r"However|Moreover|Furthermore|In addition|Additionally|Instead|Still|Yet|Similarly|Likewise|Nevertheless|"
    r"Nonetheless|Conversely|In contrast|On the other hand"
)
_CONCLUDING = r"Thus|Therefore|Hence|Consequently|As a result|In turn"
_ADVERB = r"(?:" + _ADDING + "|" + _CONCLUDING + r"|[A-Z][a-z]{3,}ly),\s+"
_POINTS_BACK = re.compile(
    r"^(?:(?i:" + _NOT_BACK + r")(?:This|These|That|Those)|Such|They|Their|He|She|His|Her|Its"
    r"|Both(?!\s+[A-Z]|\s+\w+\s+and\b)|It(?!\s+(?:is|was|seems|may|might)\b|['’]s)"
    # "It is said to cost 50M in training.", "It is used to highlight …" (not "It is believed by many that …")
    r"|It\s+(?:is|was)\s+(?:said|known|used|called|based|made|trained|designed|built|given|shown|seen|found|"
    r"estimated|expected|considered|measured|generated|placed|explained|articulated|defined|described|developed|"
    r"run|held|done|taken|thought)\b(?!(?:\s+\S+){0,6}?\s+that\b)"
    r"|(?:None|Each|All|Some|Most|Many|One) of (?:them|these|those|this)|And|But|Yet|Also"
    r"|Which|To put (?:this|that|it|these) (?:in|into) (?:perspective|context)"
    # a restatement of the sentence before: "In other words, …"
    r"|(?:In other words|Put differently|Put another way|Said differently|Stated differently)(?=,)"
    # a conclusion or the next of several: "Therefore, …", "Second, and more worryingly, …"
    r"|(?:" + _CONCLUDING + r"|Second(?:ly)?|Third(?:ly)?|Lastly)(?=,)"
    # after a sentence adverb: "Predictably, this led to …" (not "Italy, they …": four letters before "ly" at least)
    r"|" + _ADVERB + _NOT_BACK + r"(?:this|these|that|those|such|they|their))\b"
)
# a sentence adding to or setting itself against the one before ("However, …", "Moreover, …"): quoted right after that
# sentence when both fit, else alone, since what it says stands without it
_GOES_ON = re.compile(r"^(?:" + _ADDING + "),")
# the first of the things the sentence before it announces ("The Act takes a dual approach …" then "First, there's a
# computational threshold: …"): it follows that sentence when chosen, scoring at least ``follow_ratio`` of the best
_FIRST_OF_SEVERAL = re.compile(r"^(?:First(?:ly)?|First of all|To begin with),\s")
ADJACENT_CHARS = 3  # at most this many characters between a sentence and the one before it in its page
SAME_PASSAGE_MAX = 3
LIST_LOOK = 3  # a question asking for several things reads the list of one of this many best sentences
LIST_FLOOR = 0.7  # and quotes the items that score at least this share of the best
# a follow-up repeats what an earlier answer quoted when every fresh sentence scores below this share of the best:
# "What do Zorblax safety audits check?" after an answer that quoted the one Zorblax sentence (fresh lead 0.35 of the
# best) is answered by it again, "and why does it happen?" after "What is reward hacking?" (0.50) by new sentences
REPEAT_BELOW = 0.4
NO_SIDE, BOTH_SIDES = -1, 2


@dataclass(frozen=True)
class Evidence:
    """A sentence chosen from passage ``passage`` (index into the retrieved list)."""

    passage: int
    text: str
    start: int  # offsets in the page's cleaned text
    end: int
    score: float
    cosine: float
    speaker: str = ""  # who said it, for a sentence of a quote box's first paragraph ("Shane Legg"): shown with it
    topic: str = ""  # the run-in heading a sentence pointing back opens after ("The First Line of Defense"): shown too


@dataclass(frozen=True)
class Scored:
    """A candidate sentence with its features and score."""

    passage: int
    text: str
    start: int
    end: int
    position: int  # index among its passage's quotable sentences
    cosine: float
    overlap: float
    typed: bool  # carries the token the question asks for
    score: float
    vector: np.ndarray = field(compare=False)
    side: int = NO_SIDE  # which side of a comparison question it speaks of (0, 1), both (BOTH_SIDES) or neither
    speaker: str = ""
    # ``score`` with its passage's bonus from how close the passage's fused score is to the best one's, not from its
    # place: what the answer ranks by (``for_answer``); the coverage check reads ``score``, as it was fitted
    answer_score: float | None = None
    lead_in: str = ""  # for a list item, the line that introduces its list (``Candidate.lead_in``)
    opens_item: bool = False  # the first sentence of its list item
    topic: str = ""  # ``Candidate.topic``


class Candidate(NamedTuple):
    """A quotable sentence of passage ``passage`` with its page offsets; ``speaker``: who said it, when it is in the
    first paragraph of a quote box ("Quote: Shane Legg (Co-Founder …)" before it); ``lead_in``: for a list item,
    the line that introduces its list, when it ends with a colon (``opens_item``: the sentence opens its item);
    ``topic``: for a sentence pointing back to the run-in heading it follows ("The First Line of Defense . This
    comprises …"), that heading; ``after_overview``: it goes on from an overview earlier in its paragraph ("It
    examines …" after "This section focuses on …")."""

    passage: int
    text: str
    start: int
    end: int
    speaker: str = ""
    lead_in: str = ""
    opens_item: bool = False  # the first sentence of its list item's line
    topic: str = ""
    after_overview: bool = False


def page_offset(spans: Sequence[Sequence[int]], offset: int) -> int:
    """Map an offset in a (possibly merged) passage's text to an offset in its page."""
    for text_offset, page_start, page_end in reversed([tuple(span) for span in spans]):
        if offset >= text_offset:
            return min(page_start + (offset - text_offset), page_end)
    return int(spans[0][1])


def _title_like(sentence: str) -> bool:
    """A short line whose longer words (over 3 letters) are nearly all capitalised, at most one of them in lower
    case: a book or section title, not a claim (a sentence full of names still has its lower-case verbs and nouns:
    "… Hinton, Bengio, and LeCun are the recipients of the Turing Award …"; outside a label, a lower-case "is",
    "are", "has" … makes a line of names a claim)."""
    words = [word for word in sentence.split() if len(word) > 3]
    if len(sentence.split()) > 16 or len(words) < 3 or (":" not in sentence and _COPULA.search(sentence)):
        return False
    capitalised = sum(word[:1].isupper() for word in words)
    return capitalised >= 0.75 * len(words) and len(words) - capitalised <= 1


def _labelled_title(sentence: str) -> bool:
    """A key-facts row whose value is a title ("Originating paper: Risks from Learned Optimization in Advanced
    Machine Learning Systems, arXiv:1906.01820"): it names a work, it claims nothing. Not a list of names ("Formal
    coinage: Hubinger, van Merwijk, Mikulik, Skalse, Garrabrant (2019)"), which answers "who"."""
    labelled = _LABELLED.match(sentence)
    if labelled is None or labelled.group(1).count(",") > 1:
        return False
    # prepositions a title leaves in lower case ("from") and identifiers ("arXiv:1906.01820") do not count
    words = [
        word
        for word in labelled.group(1).split()
        if word not in _TITLE_SMALL_WORDS and not any(char.isdigit() for char in word)
    ]
    return _title_like(" ".join(words))


def _quoted_title(sentence: str) -> bool:
    """A whole line in quotes that reads as a title ("Some Moral and Technical Consequences of Automation."), not
    a quoted statement ("Mitigating the risk of extinction from AI should be a global priority …")."""
    quoted = _QUOTED.match(sentence)
    return quoted is not None and _title_like(quoted.group(1))


def quotable(sentence: str) -> bool:
    """Whether ``sentence`` reads as a claim: not a heading, caption, reference, link list, instruction or the page
    talking about itself (``is_meta_text``)."""
    words = len(sentence.split())
    return not (
        words < SHORT_CLAIM_MIN_WORDS
        or (words < QUOTE_MIN_WORDS and not _SHORT_CLAIM.match(sentence))
        or len(sentence) > QUOTE_MAX_CHARS
        or sentence.endswith(":")
        or ((sentence.endswith("?") or _CITED_QUESTION.search(sentence)) and not _claim_then_question(sentence))
        or (words < HEADING_WORDS and _heading_end(sentence))
        or (_FORMULA.search(sentence) is not None and not sentence.endswith((".", "!", "?")))
        or _BRACKETS_COMPARED.search(sentence)
        or is_meta_text(sentence)
        or _HEADING_LIKE.match(sentence)
        or CAPTION.match(sentence)
        or _REFERENCE.search(sentence)
        or _quoted_title(sentence)
        or _SLUG_ITEM.match(sentence)
        or _RELATED.match(sentence)
        or _ATTRIBUTION.match(sentence)
        or _title_like(sentence)
        or _labelled_title(sentence)
        or is_instruction(sentence)
    )


def _claim_then_question(sentence: str) -> bool:
    """A claim that ends by stating a question ("Control evaluations produce a probability estimate: given that a
    model is trying its hardest to cause harm, what is the likelihood it succeeds?"), not a question posed ("The
    core question is: where does the deception lie?", "Stochastic Parrots: Do AIs only memorize …?")."""
    head, colon, _ = sentence.partition(": ")
    return bool(colon) and len(head.split()) >= QUOTE_MIN_WORDS and not _ASKS.match(head) and not _POSED.search(head)


def _heading_end(sentence: str) -> bool:
    """How a short line without a claim's full stop ends: a word, or an acronym in brackets (not a key-facts row
    such as "Formal coinage: Hubinger, …, Garrabrant (2019)")."""
    return sentence[-1].isalnum() or (_ACRONYM_END.search(sentence) is not None and ":" not in sentence)


def candidate_sentences(passages: Sequence[NodeWithScore]) -> list[Candidate]:
    """The sentences worth quoting: not in a page's reference section ("Sources cited"), nor in the later sentences
    of a figure caption's line (also where the caption's line was cut between two chunks: ``caption_openings``)."""
    found = []
    for index, item in enumerate(passages):
        if _REFERENCE_SECTION.match(str(item.node.metadata.get("section", "")).strip()):
            continue
        text = item.node.get_content()
        spans = item.node.metadata["spans"]
        openings = item.node.metadata.get("caption_openings") or []
        for start, end in quote_spans(text):
            sentence = text[start:end]
            line = text[text.rfind("\n", 0, start) + 1 : start]
            in_caption = CAPTION.match(line.lstrip()) or any(
                opening <= start and "\n" not in text[opening:start] for opening in openings
            )
            run_in_label = not line.strip() and _RUN_IN_STOP.search(sentence) and not _RUN_IN_VERB.search(sentence)
            if quotable(sentence) and not in_caption and not run_in_label:
                offsets = page_offset(spans, start), page_offset(spans, end)
                lead_in = _lead_in(text, start)
                opens = bool(lead_in) and _ITEM_LINE.fullmatch(line) is not None
                topic = _run_in_heading(line) if _POINTS_BACK.match(sentence) else ""
                after = goes_on_from_overview(sentence, line)
                found.append(Candidate(index, sentence, *offsets, _speaker(text, start), lead_in, opens, topic, after))
    return found


_ITEM_LINE = re.compile(r"\s*" + LIST_MARK.pattern)  # a line that is a list item


def _lead_in(text: str, start: int) -> str:
    """The line that introduces the list whose item holds ``start`` ("Safety washing happens in three ways:"), when
    it ends with a colon and lies in ``text`` at most ``LEAD_IN_LINES`` lines up; else ""."""
    line_start = text.rfind("\n", 0, start) + 1
    if not _ITEM_LINE.match(text, line_start):
        return ""
    end = line_start - 1
    for _ in range(LEAD_IN_LINES):
        if end <= 0:
            return ""
        previous = text.rfind("\n", 0, end) + 1
        line = text[previous:end].strip()
        if line and not _ITEM_LINE.match(text, previous):
            return line if line.endswith(":") else ""
        end = previous - 1
    return ""


_RUN_IN_END = re.compile(r"(?:\s\.|\s?:)$")  # "The First Line of Defense ." ("**X** ." in the page) or "X:"
_FOOTNOTE_LABEL = re.compile(r"^Footnote\s+\S+:$")


def _title_cased(text: str) -> bool:
    """Whether the longer words of ``text`` (four letters or more) are capitalised, as a title's are."""
    longer = [word for word in re.findall(r"[^\W\d_][\w'’-]*", text) if len(word) >= 4]
    return bool(longer) and all(word[0].isupper() for word in longer)


def _run_in_heading(line: str) -> str:
    """The run-in heading ``line`` (what its line holds before a sentence) is, when it is one: a short title that no
    sentence quotes ("The First Line of Defense . " gives "The First Line of Defense"); else ""."""
    prefix = LIST_MARK.sub("", line.lstrip(), count=1).rstrip()
    heading = prefix.rstrip(" .:")
    if _FOOTNOTE_LABEL.match(prefix) or not (_RUN_IN_END.search(prefix) or _title_cased(heading) or ": " in heading):
        return ""  # "**X** . This …", "X: This …", "**The Collingridge Dilemma.** This …", "**Label: X.** These …";
        # not "AI is hard. This …"
    if not any(char.isalpha() for char in heading) or len(heading.split()) > HEADING_WORDS:
        return ""
    if heading.endswith("?") or ", " in heading:
        return ""
    if quotable(heading + ".") or is_meta_text(heading) or _POINTS_BACK.match(heading):
        return ""  # a sentence of its own ("In a previous section, we spoke about X:", "This makes humans Y:")
    return heading


def attributed(sentence: str, speaker: str, topic: str = "") -> str:
    """``sentence`` with its speaker or run-in heading before it, as the answer shows it: what word overlap and answer
    typing read ("What did Legg say?", "signed by 28 countries", "Who is the second line of defense?")."""
    label = speaker or topic
    return f"{label}: {sentence}" if label else sentence


def _speaker(text: str, start: int) -> str:
    """Who is quoted, when the paragraph holding ``start`` comes right after a quote box's title ("Quote: Vernor
    Vinge at 1993 NASA speech. (Yudkowsky, 2021)" gives "Vernor Vinge at 1993 NASA speech (Yudkowsky, 2021)",
    "Quote: Shane Legg (Co-Founder …)" gives "Shane Legg"); else "". Later
    paragraphs of a quote cannot be told from the text after it, so they are left unattributed."""
    paragraph = text.rfind("\n\n", 0, start)
    if paragraph < 0:
        return ""
    before = text.rfind("\n\n", 0, paragraph)
    line = text[before + 2 if before >= 0 else 0 : paragraph]
    title = _ATTRIBUTION.match(line)
    if title is None:
        return ""
    speaker = _TRAILING_ROLE.sub("", line[title.end() :].strip())
    return re.sub(r"\.\s+\(", " (", speaker).rstrip(". ")  # "speech. (Yudkowsky, 2021)": "speech (Yudkowsky, 2021)"


def score_sentences(
    question: str,
    question_vector: np.ndarray,
    passages: Sequence[NodeWithScore],
    vectors: SentenceVectors,
    analyzer: Analyzer,
    idf: Callable[[str], float],
    kind: AnswerType | None = None,
    weights: Sequence[float] = WEIGHTS,
    sides: tuple[str, str] | None = None,
    yes_or_no: bool = False,
    denials_of: str | None = None,
    defined: str = "",
    emphasis: str = "",
) -> list[Scored]:
    """Every quotable sentence of ``passages``, best first; with the two ``sides`` of a comparison question,
    each marked with the side it speaks of. For a yes/no question (``yes_or_no``), a sentence whose negation covers
    one of the question's words but its first ("None of them solve inner alignment."), or one of ``denials_of``'s,
    gets ``DENIAL_BONUS`` in its ``answer_score``, up to just below the best sentence's, and for a comparison a
    sentence saying what one side is (``answer_type.defines``) ``SIDE_DEFINITION_BONUS``. For a question asking what
    a term means (``defined``: "reward shaping" for "explain reward shaping to me"), the best sentence that says what
    it is ("Reward Shaping: Reward shaping is a technique …", ``answer_type.defines``) leads the answer. The terms of
    ``emphasis`` (a follow-up's own words, joined to the earlier questions in ``question``) weigh ``EMPHASIS`` times
    as much in the word overlap: "what would make it riskier?" is asked, "why might X be safer?" was."""
    candidates = candidate_sentences(passages)
    if not asks_about_the_text(question):  # "This section delves into …" answers what a part covers, nothing else
        candidates = [
            candidate for candidate in candidates if not is_overview(candidate.text) and not candidate.after_overview
        ]
    if not candidates:
        return []
    own = side_terms(sides, analyzer) if sides else None
    wanted = analyzer.precise_terms(question)  # "founded" is not matched by "found"
    stressed = set(analyzer.precise_terms(emphasis).values()) if emphasis else set()

    def weight(term: str) -> float:
        return idf(term) * (EMPHASIS if term in stressed else 1.0)

    total = sum(weight(term) for term in set(wanted.values())) or 1.0
    pages = [str(passages[candidate.passage].node.metadata.get("page_id", "")) for candidate in candidates]
    encoded = vectors.encode([candidate.text for candidate in candidates], pages)
    cosines = encoded @ np.asarray(question_vector, dtype=np.float32)
    w_cos, w_lex, w_rank, w_type, w_first = weights
    closeness = _closeness(passages)
    scored = []
    lifted: set[int] = set()
    definers: set[int] = set()
    examples: set[int] = set()  # sentences giving an example, when a follow-up asks for one
    wants_example = bool(emphasis) and bool(_ASKS_FOR_EXAMPLE.search(emphasis))
    side_definers: set[int] = set()
    side_names = [re.sub(r"^(?:an?|the)\s+", "", side, flags=re.I) for side in sides or ()]  # "a fast takeoff"
    # a denial must cover a question word other than its first, usually its subject ("Is RLHF …?": "DPO does not need
    # the reward model that RLHF trains." denies nothing asked); for a follow-up asking nothing of its own, one of its
    # words ("and what about goal misgeneralization?")
    deniable = set(analyzer.precise_terms(denials_of)) if denials_of else set(wanted) - {next(iter(wanted), "")}
    positions: dict[int, int] = {}
    for row, (index, sentence, start, end, speaker, lead_in, opens_item, topic, _) in enumerate(candidates):
        position = positions.get(index, 0)
        positions[index] = position + 1
        said_by = attributed(sentence, speaker, topic)
        precise = analyzer.precise_terms(said_by)
        present = {term for key, term in wanted.items() if key in precise}
        lead_terms: set[str] = set()  # an item is about what its list's lead-in names ("three ways:")
        if lead_in:
            introduced = analyzer.precise_terms(lead_in)
            lead_terms = {term for key, term in wanted.items() if key in introduced} - present
        lead_weight = LEAD_IN_SHARE * sum(weight(term) for term in lead_terms)
        overlap = (sum(weight(term) for term in present) + lead_weight) / total
        typed = kind is not None and carries(said_by, kind)
        cosine = float(cosines[row])
        base = w_cos * cosine + w_lex * overlap + w_type * typed + w_first * (position == 0)
        score = base + w_rank / (1 + index)
        answer_score = base + w_rank * closeness[index]
        if yes_or_no and deniable & analyzer.precise_terms(denied(said_by)).keys():
            lifted.add(row)  # it denies something the question asks about
        if defined and defines(sentence, defined):
            definers.add(row)
        if wants_example and _GIVES_EXAMPLE.search(sentence):
            examples.add(row)
        if any(defines(sentence, term) for term in side_names):
            side_definers.add(row)
        side = which_side(set(precise.values()), own) if own else NO_SIDE
        scored.append(
            Scored(
                index, sentence, start, end, position, cosine, overlap, typed, score, encoded[row], side, speaker,
                answer_score, lead_in, opens_item, topic,
            )
        )  # fmt: skip
    scored = _lifted(scored, lifted, DENIAL_BONUS)  # a denial joins the best sentences, below the best one
    scored = _lifted(scored, side_definers, SIDE_DEFINITION_BONUS)  # so does what a comparison's side is
    scored = _led_by(scored, definers)  # the best sentence saying what the asked term is leads the answer
    if not definers:  # a follow-up asking for an example: the best sentence giving one, when it is close to the best
        scored = _led_by(scored, examples, EXAMPLE_FLOOR)
    scored.sort(key=lambda item: -item.score)
    return scored


def _led_by(scored: list[Scored], rows: set[int], floor: float = 0.0) -> list[Scored]:
    """``scored`` with the best of the sentences at ``rows`` given the lead in the answer's ranking (an answer score
    just above the best), when its own is at least ``floor`` of the best."""
    if not rows:
        return scored
    top = max(item.answer_score or 0.0 for item in scored)
    best = max(rows, key=lambda row: scored[row].answer_score or 0.0)
    if not floor * top <= (scored[best].answer_score or 0.0) < top:
        return scored
    return [replace(item, answer_score=top + 1e-6) if row == best else item for row, item in enumerate(scored)]


def _lifted(scored: list[Scored], rows: set[int], bonus: float) -> list[Scored]:
    """``scored`` with the answer score of the sentences at ``rows`` raised by ``bonus``, up to just below the best
    sentence's, which keeps the lead."""
    if not rows:
        return scored
    top = max(item.answer_score or 0.0 for item in scored)
    return [
        replace(item, answer_score=min((item.answer_score or 0.0) + bonus, top - 1e-6))
        if row in rows and (item.answer_score or 0.0) < top
        else item
        for row, item in enumerate(scored)
    ]


def _closeness(passages: Sequence[NodeWithScore]) -> list[float]:
    """Each passage's fused retrieval score (kept in ``retrieval_score`` when a reranker rescored the passages) as a
    share of the best passage's: 1 for the best, 0 for a score at or below 0. By place, 1 / (1 + rank), when a score
    is missing or not a number or the best is not positive."""
    scores = []
    for passage in passages:
        kept = passage.node.metadata.get("retrieval_score")
        score = kept if isinstance(kept, (int, float)) else passage.score
        scores.append(float(score) if score is not None else math.nan)
    best = max(scores, default=0.0)
    if any(math.isnan(score) for score in scores) or not best > 0:
        return [1 / (1 + rank) for rank in range(len(passages))]
    return [max(score, 0.0) / best for score in scores]


def for_answer(scored: Sequence[Scored]) -> list[Scored]:
    """``scored`` ranked by ``answer_score`` (as ``score``), best first: a sentence of a passage that retrieval
    scored nearly as high as the first is not held back by its place (on ``tune``, evidence in the answer 0.722 ->
    0.741 at ``answer.keep_ratio`` 0.7, with no evidence sentence lost; 0.735 at 0.8, which keeps answers as long as
    before)."""
    ranked = [item if item.answer_score is None else replace(item, score=item.answer_score) for item in scored]
    return sorted(ranked, key=lambda item: -item.score)


def side_terms(sides: tuple[str, str], analyzer: Analyzer) -> tuple[frozenset[str], frozenset[str]] | None:
    """The terms each side of a comparison has and the other lacks ("unipolar" / "multipolar" for "a unipolar
    and a multipolar takeoff"), or None when one side has none of its own."""
    left, right = (analyzer.term_set(side) for side in sides)
    own = (frozenset(left - right), frozenset(right - left))
    return own if all(own) else None


def which_side(present: set[str] | frozenset[str], own: tuple[frozenset[str], frozenset[str]]) -> int:
    """The side whose own terms a sentence mostly has (at least half of them), BOTH_SIDES or NO_SIDE."""
    hits = [2 * len(terms & present) >= len(terms) for terms in own]
    if all(hits):
        return BOTH_SIDES
    return hits.index(True) if any(hits) else NO_SIDE


def choose(
    scored: Sequence[Scored],
    max_sentences: int,
    keep_ratio: float,
    already_said: Callable[[str], bool] = lambda sentence: False,
    follow_ratio: float | None = None,
    side_ratio: float | None = None,
    several: bool = False,
) -> list[Evidence]:
    """The sentences to quote: the best one; right after it, the next quotable sentence of its passage when
    that scores at least ``follow_ratio`` of it (a topic sentence is often followed by the one that carries the
    answer: the sentence-window idea; None: never); then the next best while they score at least ``keep_ratio``
    of it. A sentence that opens by pointing back ("None of them solve inner alignment.") comes right after the
    sentence it points to ("RLHF, Constitutional AI, and IRL all aim to …"), which joins the answer with it (all of a
    chain must fit, else it is left out, the best sentence too, which then gives the lead to the next that fits), so
    that every quote reads on its own ("Therefore, …" and "Second, …" point back too); one going on from the sentence
    before ("However, …", "Moreover, …") comes right after it when both fit, else alone. The first of the things a
    chosen sentence announces ("The Act takes a dual approach …", then "First, there's a computational threshold: …")
    comes right after it when it scores at least ``follow_ratio`` of the best and there is room once the sentences
    scoring higher are in.
    Near-duplicates are skipped, and so is what ``already_said`` says was quoted before, and a fourth sentence
    from one passage while other passages have candidates. For a comparison (sentences marked with a side), a
    side no chosen sentence speaks of alone gets its best sentence when that scores at least ``side_ratio`` of
    the best (None: never), in place of the weakest other one when the answer is full. For a question that asks for
    several things (``several``: "What advantages do red teams have …?"), when one of the ``LIST_LOOK`` best
    sentences is one of a list's items or introduces them ("Red teams have structural advantages over actual scheming
    models."), the sentence introducing the list and the items scoring at least ``LIST_FLOOR`` of the best follow
    the best sentence in page order, whatever the keep ratio, up to ``max_sentences``, though they all come from one
    passage."""
    fresh = _one_of_each([item for item in scored if not already_said(item.text)])
    if not fresh:
        return []
    lead = fresh[0]
    best = lead.score
    follower = None
    if follow_ratio is not None:
        follower = next(
            (
                item
                for item in fresh
                if item.passage == lead.passage
                and item.position == lead.position + 1
                and item.score >= follow_ratio * best
            ),
            None,
        )
    intro, members = _list_items(fresh, LIST_FLOOR * best) if several else (None, [])
    listed = [*([intro] if intro is not None and intro is not lead else []), *members]
    if listed:
        follower = None  # the list's lead-in and items come right after the best sentence
    ordered = [lead, *([follower] if follower else []), *listed]  # none twice: no follower beside a list
    ordered += [item for item in fresh[1:] if not any(item is other for other in ordered)]
    several_passages = len({item.passage for item in fresh}) > 1
    chosen: list[Scored] = []

    def whatever_its_score(item: Scored) -> bool:
        """The lead, its follower once the lead is in, and a list's lead-in and items."""
        if item is lead or any(item is other for other in listed):
            return True
        return item is follower and lead in chosen

    def announcer(item: Scored) -> Scored | None:
        """The chosen sentence right before ``item`` when ``item`` is the first of the things it announces ("The Act
        takes a dual approach …", then "First, there's a computational threshold: …") and scores at least
        ``follow_ratio`` of the best."""
        if follow_ratio is None or item.score < follow_ratio * best or not _FIRST_OF_SEVERAL.match(item.text):
            return None
        return next((o for o in chosen if o.passage == item.passage and o.position == item.position - 1), None)

    for item in ordered:
        if len(chosen) >= max_sentences:
            break
        announcing = announcer(item)
        if not whatever_its_score(item) and item.score < keep_ratio * best and announcing is None:
            continue  # below the keep ratio: only a follower or the first of what a chosen sentence announces
        limited = several_passages and not any(item is other for other in members)  # a list's items: one passage
        if item in chosen or _unwanted(item, chosen, limited):
            continue
        placed = _placed(item, chosen, fresh, max_sentences, limited)
        if placed is not None and announcing is not None:  # right after the sentence announcing it
            placed.remove(item)
            placed.insert(placed.index(announcing) + 1, item)
        chosen = placed if placed is not None else chosen
    if not chosen and max_sentences > 0:
        chosen = [lead]  # the best, if need be alone, when nothing else could be placed
    if side_ratio is not None:
        chosen = _cover_sides(chosen, fresh, side_ratio * best, max_sentences, several_passages)
    return [
        Evidence(item.passage, text, item.end - len(text), item.end, item.score, item.cosine, item.speaker, item.topic)
        for item in chosen
        for text in [_without_repeated_label(item.text)]
    ]


_LABEL = re.compile(r"^([^:]{2,80}?)\s?:\s+(?:(?:A|An|The)\s+)?")


def _without_repeated_label(sentence: str) -> str:
    """``sentence`` without a glossary label its own words repeat ("Reward tampering: Reward tampering refers to …"
    is quoted from "Reward tampering refers to …"); else unchanged."""
    found = _LABEL.match(sentence)
    if found is None:
        return sentence
    label, rest = found.group(1).strip(), sentence[found.end() :]
    if rest[: len(label)].lower() != label.lower() or rest[len(label) : len(label) + 1].isalnum():
        return sentence  # "RL: RLHF is …" repeats no label
    return sentence[found.end(1) :].lstrip(" :")


def _list_items(fresh: Sequence[Scored], floor: float) -> tuple[Scored | None, list[Scored]]:
    """The sentence that introduces a list (None when it is not quotable) and the list's items (each one's first
    sentence, scoring at least ``floor``, in page order): the list of the first of the ``LIST_LOOK`` best sentences of
    ``fresh`` that is one of two or more such items or introduces them (its sentence is in the items' lead-in line);
    (None, []) when none is."""
    for item in fresh[:LIST_LOOK]:
        lead_in = item.lead_in or next(
            (other.lead_in for other in fresh if other.passage == item.passage and item.text in other.lead_in), ""
        )
        if not lead_in:
            continue
        items = [
            other
            for other in fresh
            if other.passage == item.passage and other.lead_in == lead_in and other.opens_item and other.score >= floor
        ]
        if len(items) >= 2:
            intro = next((other for other in fresh if other.passage == item.passage and other.text in lead_in), None)
            return intro, sorted(items, key=lambda other: other.start)
    return None, []


def _one_of_each(scored: Sequence[Scored]) -> list[Scored]:
    """``scored`` (best first) with one candidate per sentence text. A sentence two pages hold (a quote box that a
    chapter's overview repeats) has a vector from each context, too far apart to count as near-duplicates; it is
    quoted once, at the best score of its copies, from the copy whose attribution fits the question best: the one
    that carries the asked kind of token, then the one with more of the question's words ("How many countries
    signed the Bletchley Declaration?": the copy titled "signed by 28 countries")."""
    keys = [_plain(item.text) for item in scored]
    copies: dict[str, list[Scored]] = {}
    for key, item in zip(keys, scored, strict=True):
        copies.setdefault(key, []).append(item)
    kept = []
    for key, item in zip(keys, scored, strict=True):
        same = copies[key]
        if item is same[0]:
            best = max(same, key=lambda copy: (copy.typed, copy.overlap))
            kept.append(item if best is item else replace(best, score=item.score))
    return kept


def _unwanted(
    item: Scored, chosen: Sequence[Scored], several_passages: bool, companions: Sequence[Scored] = ()
) -> bool:
    """Whether ``item`` says the same as a chosen sentence, or would be a fourth from one passage (counting its
    ``companions``, the sentences joining the answer with it) while other passages have candidates: leave room for
    other sources (not counting a sentence that only comes along with the one pointing back to it measured worse on
    ``tune``). A companion is never its near-duplicate: the sentence a quote points back to is its neighbour in
    the page, and in-context vectors of neighbours can be closer than ``DUPLICATE_COSINE``."""
    if any(float(item.vector @ other.vector) > DUPLICATE_COSINE for other in chosen):
        return True
    together = [*chosen, *companions]
    return several_passages and sum(other.passage == item.passage for other in together) >= SAME_PASSAGE_MAX


def _cover_sides(
    chosen: list[Scored], fresh: Sequence[Scored], floor: float, max_sentences: int, several_passages: bool
) -> list[Scored]:
    """``chosen`` with, for each side of a comparison that none of its sentences speaks of alone, that side's best
    sentence of ``fresh`` scoring at least ``floor``, in score order after the lead. When the answer is full it
    takes the place of the weakest sentence that is neither the lead, nor the only one of its side, nor one of a
    sentence and the one pointing back to it (a follower may go; keeping it measured the same on ``tune``).
    Near-duplicates, a fourth sentence from one passage (while others have candidates) and a sentence pointing
    back to one not quoted are left out."""
    out = list(chosen)
    lead = out[0] if out else fresh[0]  # the best sentence may have been left out (its chain did not fit)
    for side in (0, 1):
        if any(item.side == side for item in out):
            continue
        extra = next(
            (
                item
                for item in fresh
                if item.side == side
                and item.score >= floor
                and not _unwanted(item, out, several_passages)
                and _antecedent(item, fresh) in (None, *out)  # one pointing back comes with what it points to
            ),
            None,
        )
        if extra is None:
            continue
        anchor = _antecedent(extra, fresh)
        if len(out) >= max_sentences:
            # positions whose sentence points back to the one before it: neither half of such a pair is replaced
            pointing = {
                position for position in range(1, len(out)) if _antecedent(out[position], fresh) is out[position - 1]
            }
            replaceable = [
                position
                for position, item in enumerate(out)
                if item is not lead
                and item is not anchor
                and (item.side not in (0, 1) or sum(o.side == item.side for o in out) > 1)
                and position not in pointing
                and position + 1 not in pointing
            ]
            if not replaceable:
                continue
            del out[min(replaceable, key=lambda position: out[position].score)]
        if anchor is not None:
            at = out.index(anchor) + 1
        else:
            at = next((position for position in range(1, len(out)) if out[position].score < extra.score), len(out))
            while at < len(out) and _antecedent(out[at], fresh) is out[at - 1]:
                at += 1  # not between a sentence and the one pointing back to it
        out.insert(at, extra)
    return out


def _antecedent(item: Scored, fresh: Sequence[Scored], going_on: bool = False) -> Scored | None:
    """The quotable sentence right before ``item`` in its passage, when ``item`` opens by pointing back to it (or, with
    ``going_on``, goes on from it: ``_GOES_ON``)."""
    if not (_POINTS_BACK.match(item.text) or (going_on and _GOES_ON.match(item.text))):
        return None
    return next(
        (
            other
            for other in fresh
            if other.passage == item.passage
            and other.start < item.start
            and 0 <= item.start - other.end <= ADJACENT_CHARS
        ),
        None,
    )


def _placed(
    item: Scored,
    chosen: list[Scored],
    fresh: Sequence[Scored],
    max_sentences: int,
    several_passages: bool,
    alone: bool = False,
) -> list[Scored] | None:
    """``chosen`` with ``item`` added: at the end, or, when it points back, right after the sentence it points to,
    which comes along when not yet chosen (and the one that one points to, and so on). None when they do not all fit
    in ``max_sentences`` (a chain cut short would open with a sentence pointing to nothing quoted) or one of them is
    unwanted (``_unwanted``). A sentence whose antecedent is not quotable (a heading) goes in alone, and so does one
    going on from the sentence before ("However, …", ``_GOES_ON``) when they cannot go in together or that sentence
    points back in turn (``alone``)."""
    chain: list[Scored] = []
    anchor = None
    current = item
    fits = True
    while not alone and (before := _antecedent(current, fresh, current is item)) is not None and before not in chain:
        if before in chosen:
            anchor = before
            break
        if len(chosen) + len(chain) + 2 > max_sentences:
            fits = False  # what it points to does not fit: it would not read on its own
            break
        chain.insert(0, before)
        current = before
    going_on = not alone and _GOES_ON.match(item.text) and not _POINTS_BACK.match(item.text)
    if going_on and len(chain) > 1:  # it brings the sentence before it, not what that one points back to
        return _placed(item, chosen, fresh, max_sentences, several_passages, alone=True)
    added: list[Scored] = []
    if fits and len(chosen) + len(chain) + 1 <= max_sentences:
        for sentence in [*chain, item]:
            if _unwanted(sentence, chosen, several_passages, companions=added):
                break
            added.append(sentence)
    if len(added) < len(chain) + 1:
        return _placed(item, chosen, fresh, max_sentences, several_passages, alone=True) if going_on else None
    at = chosen.index(anchor) + 1 if anchor is not None else len(chosen)
    return [*chosen[:at], *added, *chosen[at:]]


@dataclass
class Draft:
    """Answer sentences with renumbered citations (1..n, pointing to retrieved passages through
    ``parsed.order``), and the quoted evidence behind them; ``verify`` checks it."""

    parsed: cite.ParsedAnswer
    evidence: dict[int, Evidence] = field(default_factory=dict)  # sentence index -> quoted sentence


def evidence_draft(chosen: Sequence[Evidence]) -> Draft:
    """A draft quoting ``chosen`` sentences, citations numbered by first use of each passage.

    Literal "[n]" marks inside a quoted sentence are removed from the answer text (they would
    read as this answer's citations); the citation's quote keeps the page's exact words. A sentence from a quote
    box is shown with its speaker ("Shane Legg: “…”"), one pointing back to the run-in heading it follows with that
    heading ("The First Line of Defense: This comprises …").
    """
    order: list[int] = []
    sentences: list[cite.CitedSentence] = []
    evidence: dict[int, Evidence] = {}
    previous: Evidence | None = None
    for item in chosen:
        if item.passage not in order:
            order.append(item.passage)
        evidence[len(sentences)] = item
        text = " ".join(cite.MARKER.sub("", item.text).split())
        # a quoted person's words are shown as theirs, not as the page's claim (once for a run of their sentences)
        if item.speaker:  # one sentence of a quote keeps a lone mark of the quote around it: replaced by “…”
            if not (text[:1] in _QUOTE_MARKS and text[-1:] in _QUOTE_MARKS):
                text = f"“{text.strip(_QUOTE_MARKS)}”"
            if not (previous and (previous.passage, previous.speaker) == (item.passage, item.speaker)):
                text = f"{item.speaker}: {text}"
        elif item.topic:  # "The First Line of Defense: This comprises …": what "This" is
            text = f"{item.topic}: {text}"
        previous = item
        sentences.append(cite.CitedSentence(text, [order.index(item.passage) + 1]))
    return Draft(cite.ParsedAnswer(sentences, order, []), evidence)


Scorer = Callable[[QueryBundle, Sequence[NodeWithScore]], list[Scored]]


class EvidenceSynthesizer(BaseSynthesizer):
    """Evidence mode as a response synthesizer: quotes the best scored sentences of the passages.

    ``synthesize(query, nodes, scored=..., history=...)`` returns a ``Response`` whose text is the
    cited quotes and whose ``metadata["draft"]`` is the ``Draft`` (no sentences when nothing is
    quotable). ``scored`` is the sentences already scored for the coverage check; without it the
    ``scorer`` scores them. Sentences an assistant turn of ``history`` quoted are left out, unless
    nothing else is left or what is left scores below ``REPEAT_BELOW`` of the best.
    ``asked``: the user's own words when the query joins earlier turns (whether they ask for several things).
    """

    def __init__(
        self,
        scorer: Scorer,
        max_sentences: int,
        keep_ratio: float,
        follow_ratio: float | None,
        callback_manager: CallbackManager | None = None,
        side_ratio: float | None = None,
    ) -> None:
        # BaseSynthesizer.__init__ insists on an LLM (or LlamaIndex's global one); quoting needs none, so this
        # sets only what the methods kept from it read, and replaces synthesize, which would pass it text alone.
        self._callback_manager = callback_manager or CallbackManager([])
        self._streaming = False
        self._scorer = scorer
        self._max_sentences = max_sentences
        self._keep_ratio = keep_ratio
        self._follow_ratio = follow_ratio
        self._side_ratio = side_ratio

    def _get_prompts(self) -> PromptDictType:
        return {}

    def _update_prompts(self, prompts: PromptDictType) -> None:
        return None

    def synthesize(
        self,
        query: QueryType,
        nodes: list[NodeWithScore],
        additional_source_nodes: Sequence[NodeWithScore] | None = None,
        *,
        scored: Sequence[Scored] | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
        asked: str | None = None,
        **response_kwargs: Any,
    ) -> Response:
        bundle = QueryBundle(query_str=query) if isinstance(query, str) else query
        scored = for_answer(self._scorer(bundle, nodes) if scored is None else scored)
        earlier = [_plain(str(turn.get("content", ""))) for turn in history or [] if turn.get("role") == "assistant"]
        if _plain(bundle.query_str) in {_plain(turn) for turn in user_turns(history)}:
            earlier = []  # the same question again gets the same answer

        def said(sentence: str) -> bool:  # as an answer shows it: without a label it repeats
            return any(_plain(_without_repeated_label(sentence)) in turn for turn in earlier)

        ratios = (self._follow_ratio, self._side_ratio, asks_for_several(asking_words(asked, bundle.query_str)))
        chosen = choose(scored, self._max_sentences, self._keep_ratio, said, *ratios)
        best = scored[0].score if scored else 0.0
        asked_for = (
            bool(scored)
            and scored[0].typed
            and said(scored[0].text)
            and not any(item.typed and item.score >= self._keep_ratio * best and not said(item.text) for item in scored)
        )
        if not chosen or chosen[0].score < REPEAT_BELOW * best or asked_for:
            # what answers was said before, and what is left scores far below it, or only far below it has the
            # asked kind of token ("who proposed it, and in what year?" when the answer before named them): saying
            # it again beats saying nothing, or leading with sentences that do not answer
            chosen = choose(scored, self._max_sentences, self._keep_ratio, lambda sentence: False, *ratios)
        draft = evidence_draft(chosen)
        sources = [*nodes, *(additional_source_nodes or [])]
        return Response(draft.parsed.text(), source_nodes=sources, metadata={"draft": draft})

    def get_response(self, query_str: str, text_chunks: Sequence[str], **response_kwargs: Any) -> RESPONSE_TEXT_TYPE:
        raise NotImplementedError("quotes need the passages' page offsets: call synthesize with the nodes")

    async def aget_response(
        self, query_str: str, text_chunks: Sequence[str], **response_kwargs: Any
    ) -> RESPONSE_TEXT_TYPE:
        raise NotImplementedError("quotes need the passages' page offsets: call synthesize with the nodes")


def _plain(text: str) -> str:
    """Lower-case words and numbers only, for "was this sentence quoted before" across markup and citations."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", cite.MARKER.sub(" ", text).lower())) + " "
