"""What the structured support judge reads in a (premise, claim) pair: a row of numeric features.

``extract`` turns a claim, the premise's sentences and the embedding cosines into ``FEATURES``
(values mostly in [0, 1]) plus the evidence a reason can quote: content words of the claim the
premise lacks, numbers and units that differ, names the premise never mentions, a negation on
one side only, an opposite word (from a list, by stem, or by a negating prefix, unless the word is
itself negated), a hedge ("may") dropped or a hedged verb asserted, a quantifier ("some" -> "all")
or an intensifier added, shared names or words whose order is reversed, and terms that trade sides
around a relation word both use ("B leads to A" for "A leads to B": who did what to whom). Word
lists are small and English only; combining the features into a score is left to ``engine.judge``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from alignment_qa.index.lexical import Analyzer

FEATURES = (
    "cosine",  # best cosine between the claim and one premise sentence
    "cosine_whole",  # cosine between the claim and the whole premise
    "coverage",  # share of the claim's content terms the premise contains
    "weighted_coverage",  # the same, rare words (outside the embedder's vocabulary), names and numbers counting double
    "novel",  # content terms of the claim the premise lacks (count, capped at 4, / 4)
    "shared",  # content terms in common (capped at 6, / 6)
    "thin",  # fewer than two content terms in common: no substantive overlap
    "negation",  # an odd number of negations on one side only (against the best-matching premise sentence)
    "flipped",  # that negation on a claim that is otherwise the premise's words (coverage at least 0.8)
    "number",  # a number of the claim the premise does not contain
    "unit",  # a number the premise has, with another unit (years / months, $ / euros)
    "name",  # a name (capitalised word, acronym) of the claim the premise does not mention
    "order",  # share of pairs of shared terms whose order is reversed
    "swap",  # exchanging two words (or two-word spans) of the claim makes it match a premise sentence much better
    "cosine_coverage",  # cosine times weighted coverage: close in meaning and in words
    "antonym",  # the claim uses the opposite of a premise word (easy / hard, before / after)
    "hedge",  # the premise hedges (may, might, could, likely...) where the claim does not
    "certainty",  # the claim adds a word of certainty (will, certainly, proves...) the premise lacks
    "quantifier",  # the claim adds a quantifier (all, every, only, none...) the premise lacks
    "intensifier",  # the claim adds an intensifier (fully, already, impossible...) the premise lacks
    "length",  # claim content terms / premise content terms, capped at 1
    "crossed",  # around a relation word both share ("than", "leads", "after"), terms trade sides: roles reversed
    "hedge_dropped",  # the best premise sentence hedges strongly (may, could, if...), the close claim does not
    "quantifier_swapped",  # the claim's quantifier is of another class than the premise's ("all" for "some")
    "quantifier_close",  # an added quantifier on a claim that is otherwise the premise's words (coverage >= 0.8)
    "hedge_asserted",  # a word the closest premise sentence hedges ("may create") the claim asserts ("creates")
)

_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_NEGATIONS = frozenset(
    "not no never none nobody nothing neither nor cannot without lack lacks lacking unable insufficient "
    "impossible fail fails failed".split()
)
_HEDGES = frozenset(
    "may might could likely unlikely possibly potentially perhaps probably seems seem appears appear suggest "
    "suggests expected hope poised can".split()
)
_CERTAINTY = frozenset("will must certainly definitely surely always proves proven prove guarantees guarantee".split())
_QUANTIFIERS = frozenset("all every each always none never only entire everything nobody any whole".split())
_SOME = frozenset("some many most few several often sometimes majority much".split())
_INTENSIFIERS = frozenset(
    "fully completely entirely perfectly already impossible solved solves solve exactly best worthless "
    "indistinguishable totally".split()
)
_UNITS = {
    "year": "year", "years": "year", "month": "month", "months": "month", "week": "week", "weeks": "week",
    "day": "day", "days": "day", "hour": "hour", "hours": "hour", "minute": "minute", "minutes": "minute",
    "decade": "decade", "decades": "decade", "century": "century", "centuries": "century",
    "token": "token", "tokens": "token", "parameter": "parameter", "parameters": "parameter",
    "word": "word", "words": "word", "euro": "euro", "euros": "euro", "dollar": "dollar", "dollars": "dollar",
    "percent": "percent", "thousand": "thousand", "million": "million", "billion": "billion",
    "countries": "country", "country": "country", "people": "people", "users": "people",
}  # fmt: skip
_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20", "thirty": "30",
    "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000", "million": "1000000",
    "billion": "1000000000", "thousands": "1000", "millions": "1000000", "billions": "1000000000",
}  # fmt: skip
_NUMBER = re.compile(r"(\$)?(?<![\w.])(\d[\d,]*(?:\.\d+)?)(%)?")
_NAME = re.compile(r"\b(?:[A-Z][a-z]*[A-Z][\w]*|[A-Z]{2,}\w*|[A-Z][a-z]+)\b")
_ANTONYMS = [
    ("easy", "hard"), ("easy", "difficult"), ("eager", "reluctant"), ("happy", "wary"), ("stop", "continue"),
    ("common", "rare"), ("final", "preliminary"), ("increase", "decrease"), ("increased", "decreased"),
    ("more", "less"), ("more", "fewer"), ("before", "after"), ("higher", "lower"), ("high", "low"),
    ("strengthen", "weaken"), ("offense", "defense"), ("win", "lose"), ("won", "lost"), ("success", "failure"),
    ("successful", "unsuccessful"), ("safe", "dangerous"), ("safe", "unsafe"), ("true", "false"),
    ("accept", "reject"), ("accepted", "rejected"), ("allow", "forbid"), ("allowed", "banned"),
    ("early", "late"), ("first", "last"), ("large", "small"), ("big", "small"), ("fast", "slow"),
    ("faster", "slower"), ("better", "worse"), ("best", "worst"), ("over", "under"), ("overestimate", "underestimate"),
    ("overparameterized", "underparameterized"), ("inside", "outside"), ("inner", "outer"), ("internal", "external"),
    ("include", "exclude"), ("includes", "excludes"), ("same", "different"), ("similar", "different"),
    ("simple", "complex"), ("cheap", "expensive"), ("strong", "weak"), ("stronger", "weaker"), ("rise", "fall"),
    ("gain", "loss"), ("benefit", "harm"), ("help", "hurt"), ("open", "closed"),
    ("possible", "impossible"), ("likely", "unlikely"), ("aligned", "misaligned"), ("honest", "dishonest"),
    ("clear", "unclear"), ("known", "unknown"), ("sufficient", "insufficient"), ("able", "unable"),
    ("present", "absent"), ("always", "never"), ("all", "none"), ("everyone", "nobody"), ("remove", "add"),
    ("removes", "adds"), ("ignore", "follow"), ("verified", "unverified"), ("superior", "inferior"),
    ("maximize", "minimize"), ("positive", "negative"), ("optimistic", "pessimistic"), ("conservative", "aggressive"),
]  # fmt: skip
_OPPOSITE = {a: b for a, b in _ANTONYMS} | {b: a for a, b in _ANTONYMS}
_STRONG_HEDGES = frozenset(
    "may might could likely unlikely possibly potentially perhaps probably seems seem appears appear suggest "
    "suggests hope hopes whether if".split()
)
_HEDGE_WORDS = frozenset(
    "may might could likely possibly potentially perhaps probably seems seem appears appear suggests suggest "
    "suggesting hypothesized".split()
)  # "can" and "would" are left out: "can improve" states an ability, "would" often a plain conditional
_CLAIM_HEDGES = (
    _HEDGE_WORDS
    | _HEDGES
    | frozenset("can would should often sometimes seemed appeared suggested possible uncertain".split())
)
_HEDGE_FILLER = frozenset("be been have not also still even only the a an to that".split())  # a hedge ... its verb
_UNIVERSAL = frozenset("all every each always none never only entire everything nobody whole".split())
_RELATIONS = frozenset(
    "than after before from over into cause causes caused causing lead leads led stem stems stemmed motivated "
    "motivation motivates initiate initiates named beat beats defeated precede precedes preceded follow follows "
    "followed outperform outperforms outperformed replace replaces replaced train trains trained influence "
    "influences influenced inspire inspired inspires depend depends require requires enable enables enabled drive "
    "drives drove produce produces produced predict predicts predicted create creates created by".split()
)
_SCOPE = 4  # words after a negation that it covers
_TIME_UNITS = frozenset(("year", "month", "week", "day", "hour", "minute", "decade", "century"))


@dataclass
class Extracted:
    """One pair's feature row and what a reason can quote."""

    values: list[float]
    novel: list[str] = field(default_factory=list)  # claim words the premise lacks, as written
    numbers: tuple[list[str], list[str]] = ([], [])  # (claim's missing numbers, premise's numbers)
    units: tuple[str, str] = ("", "")  # (claim's unit, premise's unit) for one number
    names: list[str] = field(default_factory=list)
    negated: str = ""  # "claim" or "passage": the side with the extra negation
    hedge: str = ""  # the premise's hedge word
    quantifier: tuple[str, str] = ("", "")  # (claim's quantifier, premise's nearest one or "")
    intensifier: str = ""
    opposite: tuple[str, str] = ("", "")  # the claim's word and the premise's opposite
    swapped: tuple[str, str] = ("", "")  # two shared words in reversed order
    shared: list[str] = field(default_factory=list)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("n't", " not").replace("n’t", " not"))


def numbers(text: str) -> dict[str, str]:
    """Numbers in ``text`` as digits ("twenty" as "20", "1,000" as "1000"), each with its unit or ""."""
    found: dict[str, str] = {}
    lowered = text.lower()
    for match in _NUMBER.finditer(text):
        value = match.group(2).replace(",", "").rstrip(".")
        after = _TOKEN.match(lowered, match.end() + 1) if match.end() < len(text) else None
        unit = "dollar" if match.group(1) else "percent" if match.group(3) else ""
        if not unit and after is not None and match.end() < len(text) and text[match.end()] in " -":
            unit = _UNITS.get(after.group(), "")
        found.setdefault(value, unit)
    words = tokens(text)
    for index, word in enumerate(words):
        if word in _NUMBER_WORDS:
            unit = _UNITS.get(words[index + 1], "") if index + 1 < len(words) else ""
            found.setdefault(_NUMBER_WORDS[word], unit if word not in _UNITS else "")
    return found


def names(text: str) -> list[str]:
    """Capitalised words and acronyms, a sentence's first word only when it is not a plain capitalised word."""
    out = []
    for match in _NAME.finditer(text):
        word = match.group()
        at_start = match.start() == 0 or text[: match.start()].rstrip()[-1:] in '.!?:"“'
        if len(word) > 2 and (not at_start or not word[1:].islower()):
            out.append(word)
    return out


def _negated(analyzer: Analyzer, text: str) -> list[set[str]]:
    """The content terms in the scope of each negation (the few words after it, up to a clause boundary)."""
    scopes: list[set[str]] = []
    for clause in re.split(r"[,;:.!?()–—]|\bbut\b|\bwhile\b|\bwhereas\b", text.lower()):
        words = tokens(clause)
        for index, word in enumerate(words):
            if word in _NEGATIONS or (word == "no" and words[index + 1 : index + 2] == ["longer"]):
                scope = set(analyzer.terms(" ".join(words[index + 1 : index + 1 + _SCOPE])))
                if scope:
                    scopes.append(scope)
    return scopes


def _unmatched(scopes: list[set[str]], other: set[str], other_scopes: list[set[str]]) -> bool:
    """Whether one negation covers terms the other side states without any negation over them."""
    negated = set().union(*other_scopes) if other_scopes else set()
    return any(scope & other and not scope & negated for scope in scopes)


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def _swap(claim: Sequence[str], sentence: Sequence[str]) -> tuple[float, tuple[str, str]]:
    """How much closer the claim comes to being a subsequence of ``sentence`` when two of its spans
    (one or two words each) trade places: a role swap ("B beat A" for "A beat B")."""
    n = len(claim)
    if n < 3 or n > 24:
        return 0.0, ("", "")
    base = _lcs(claim, sentence)
    if base >= n:
        return 0.0, ("", "")  # already the sentence's words in its order
    best, example = 0, ("", "")
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for position, term in enumerate(sentence):
        first.setdefault(term, position)
        last[term] = position
    for i in range(n):
        for width_a in (1, 2):
            if i + width_a > n or claim[i] not in first:
                continue
            for j in range(i + width_a, n):
                for width_b in (1, 2):
                    # only a pair the sentence has the other way round can gain from trading places
                    if j + width_b > n or claim[j] not in first or first[claim[j]] > last[claim[i]]:
                        continue
                    a, b = list(claim[i : i + width_a]), list(claim[j : j + width_b])
                    swapped = [*claim[:i], *b, *claim[i + width_a : j], *a, *claim[j + width_b :]]
                    gain = _lcs(swapped, sentence) - base
                    if gain > best:
                        best, example = gain, (" ".join(a), " ".join(b))
    if best >= 2 and base + best >= n - 1:  # after the swap the claim is (almost) the sentence's own words
        return 1.0, example
    if best and base + best >= 0.8 * n:
        return 0.5, example
    return 0.0, ("", "")


def _order(claim_terms: Sequence[str], premise_terms: Sequence[str], claim: str, premise: str) -> tuple[float, tuple]:
    """Share of pairs of shared terms (in claim order) that appear reversed in the premise."""
    first: dict[str, int] = {}
    for position, term in enumerate(premise_terms):
        first.setdefault(term, position)
    seen: list[str] = []
    for term in claim_terms:
        if term in first and term not in seen:
            seen.append(term)
    pairs = reversed_pairs = 0
    example: tuple[str, str] = ("", "")
    passive = _passive(claim) != _passive(premise)
    for i, a in enumerate(seen):
        for b in seen[i + 1 :]:
            pairs += 1
            if first[a] > first[b]:
                reversed_pairs += 1
                if not example[0]:
                    example = (a, b)
    if not pairs or passive:
        return 0.0, ("", "")
    return reversed_pairs / pairs, example


def _hedge_asserted(analyzer: Analyzer, claim_tokens: Sequence[str], premise_tokens: Sequence[str]) -> str:
    """The premise's hedge word when a word it hedges ("may create", "suggests that X") comes back in a claim
    with no hedge of its own ("creates"); "" otherwise."""
    if _CLAIM_HEDGES & set(claim_tokens):
        return ""
    claim_stems = {analyzer.stem(word) for word in claim_tokens}
    for index, word in enumerate(premise_tokens):
        following = premise_tokens[index + 1 : index + 2]
        if word not in _HEDGE_WORDS or (word == "may" and following and following[0].isdigit()):
            continue  # "In May 2023, …" names a month
        at = index + 1
        while at < len(premise_tokens) and premise_tokens[at] in _HEDGE_FILLER:
            at += 1
        hedged = premise_tokens[at] if at < len(premise_tokens) else ""
        if len(hedged) >= 3 and analyzer.stem(hedged) in claim_stems:
            return word
    return ""


def _passive(text: str) -> bool:
    return " by " in f" {text.lower()} "


def _crossed(analyzer: Analyzer, claim: str, sentences: Sequence[str]) -> bool:
    """Whether, around a relation word both sides use, one shared term moves from before it to after it and
    another from after to before: "B leads to A" for "A leads to B", "GPT-3 beats GPT-4" for the reverse.
    Positions count across the whole premise; a premise sentence in the passive voice where the claim is
    not (or the reverse) reverses its order on purpose and is skipped."""
    claim_tokens = tokens(claim)
    anchors = {analyzer.stem(word) for word in claim_tokens if word in _RELATIONS}
    if not anchors:
        return False
    claim_stems = [analyzer.stem(word) for word in claim_tokens]
    content = set(analyzer.terms(claim)) | {word for word in claim_tokens if word.isdigit()}
    premise_stems: list[str] = []
    skip: set[int] = set()  # positions of anchors inside a sentence of the other voice
    for sentence in sentences:
        words = [analyzer.stem(word) for word in tokens(sentence)]
        if _passive(sentence) != _passive(claim):
            skip.update(range(len(premise_stems), len(premise_stems) + len(words)))
        premise_stems.extend(words)
    for anchor in anchors & set(premise_stems):
        at = claim_stems.index(anchor)
        before = {term for term in claim_stems[:at] if term in content}
        after = {term for term in claim_stems[at + 1 :] if term in content}
        for position, term in enumerate(premise_stems):
            if term != anchor or position in skip:
                continue
            premise_before, premise_after = set(premise_stems[:position]), set(premise_stems[position + 1 :])
            if (before & premise_after) - premise_before and (after & premise_before) - premise_after:
                return True
    return False


_PREFIXES = ("un", "in", "im", "dis", "non", "mis", "ir", "il")


def _opposite(analyzer: Analyzer, claim_tokens: Sequence[str], premise_sequence: Sequence[str]) -> tuple[str, str]:
    """A claim word whose opposite the premise uses and which the premise itself lacks: from the word list
    (by stem, so "stops" meets "continues"), by a negating prefix ("unaligned" / "aligned"), or over/under.
    A word right after a negation ("lack of adequate", "not surprising") states its opposite and is left out."""
    negated = {
        word
        for sequence in (claim_tokens, premise_sequence)
        for index, word in enumerate(sequence)
        if _NEGATIONS & set(sequence[max(0, index - 3) : index])  # "lack" and "not" are both negations
    }
    premise_tokens = {word for word in premise_sequence if word not in negated}
    claim_tokens = [word for word in claim_tokens if word not in negated]
    premise_stems = {analyzer.stem(word): word for word in premise_tokens}
    opposite_stems = {analyzer.stem(a): analyzer.stem(b) for a, b in _OPPOSITE.items()}
    for word in claim_tokens:
        if word in premise_tokens or len(word) < 4:
            continue
        stem = analyzer.stem(word)
        if stem in premise_stems:
            continue
        other = opposite_stems.get(stem)
        if other and other in premise_stems:
            return word, premise_stems[other]
        for prefix in _PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= 4 and word[len(prefix) :] in premise_tokens:
                return word, word[len(prefix) :]
            if prefix + word in premise_tokens:
                return word, prefix + word
        for a, b in (("over", "under"), ("under", "over"), ("top", "bottom"), ("bottom", "top")):
            if word.startswith(a) and b + word[len(a) :] in premise_tokens:
                return word, b + word[len(a) :]
    return "", ""


def extract(
    analyzer: Analyzer,
    sentences: Sequence[str],
    claim: str,
    cosines: Sequence[float],
    cosine_whole: float,
    is_rare: Callable[[str], bool],
) -> Extracted:
    """The feature row of ``claim`` against a premise made of ``sentences`` (``cosines``: one per sentence)."""
    premise = " ".join(sentences)
    claim_words = analyzer.words(claim)
    claim_terms = analyzer.terms(claim)
    premise_terms = analyzer.terms(premise)
    premise_set = set(premise_terms)
    stems = dict(zip(claim_terms, claim_words, strict=False))
    unique = list(dict.fromkeys(claim_terms))
    claim_numbers, premise_numbers = numbers(claim), numbers(premise)
    number_values = set(claim_numbers)

    def weight(term: str) -> float:
        word = stems.get(term, term)
        return 2.0 if term in number_values or is_rare(word) else 1.0

    missing = [term for term in unique if term not in premise_set]
    shared = [term for term in unique if term in premise_set]
    total = sum(weight(term) for term in unique) or 1.0
    coverage = len(shared) / len(unique) if unique else 0.0
    weighted = sum(weight(term) for term in shared) / total if unique else 0.0

    # the premise sentence that shares the most with the claim carries its hedges
    claim_set = set(unique)
    overlaps = [
        len(claim_set & analyzer.term_set(sentence)) + cos for sentence, cos in zip(sentences, cosines, strict=True)
    ]
    best = sentences[max(range(len(sentences)), key=lambda i: overlaps[i])] if sentences else ""
    claim_tokens, best_tokens, premise_tokens = tokens(claim), tokens(best), set(tokens(premise))
    # a negation counts when it covers a term both sides share and the other side leaves that term unnegated
    claim_scopes, premise_scopes = _negated(analyzer, claim), _negated(analyzer, premise)
    negated_claim = _unmatched(claim_scopes, premise_set, premise_scopes)
    negated_premise = _unmatched(premise_scopes, claim_set, claim_scopes)

    out = Extracted(values=[])
    out.novel = [stems.get(term, term) for term in missing]
    out.shared = [stems.get(term, term) for term in shared]
    lacking = sorted(set(claim_numbers) - set(premise_numbers), key=claim.find)
    if lacking:
        out.numbers = (lacking, sorted(premise_numbers, key=premise.find))
    for value, unit in claim_numbers.items():
        other = premise_numbers.get(value)
        if other is not None and unit and other and unit != other:
            out.units = (unit, other)
    if not out.units[0]:
        claim_units = {_UNITS[word] for word in claim_tokens if _UNITS.get(word) in _TIME_UNITS}
        premise_units = {_UNITS[word] for word in premise_tokens if _UNITS.get(word) in _TIME_UNITS}
        if claim_units and premise_units and not claim_units & premise_units:
            out.units = (sorted(claim_units)[0], sorted(premise_units)[0])
    premise_words = {word.lower() for word in re.findall(r"[A-Za-z0-9]+", premise)}
    premise_lower = premise.lower()
    out.names = [
        name
        for name in dict.fromkeys(names(claim))
        if name.lower() not in premise_lower and not any(word.startswith(name.lower()) for word in premise_words)
    ]
    if negated_claim or negated_premise:
        out.negated = "claim" if negated_claim else "passage"
    opposite = _opposite(analyzer, claim_tokens, tokens(premise))
    opposites = [opposite[0]] if opposite[0] else []
    best_set = set(best_tokens)
    hedges = [word for word in best_tokens if word in _HEDGES]
    if hedges and not any(word in _HEDGES for word in claim_tokens):
        out.hedge = hedges[0]
    certainty = [word for word in claim_tokens if word in _CERTAINTY and word not in best_set]
    after_not = {b for a, b in itertools.pairwise(claim_tokens) if a in _NEGATIONS}
    quantifier = [
        word for word in claim_tokens if word in _QUANTIFIERS and word not in premise_tokens and word not in after_not
    ]  # "not only", "no ... any" are not universal claims
    if not quantifier:
        quantifier = [
            word for word in claim_tokens if word in _SOME and word not in premise_tokens and premise_tokens & _SOME
        ]
    if quantifier:
        nearest = next((word for word in best_tokens if word in _SOME | _QUANTIFIERS), "")
        out.quantifier = (quantifier[0], nearest)
    intensifier = [word for word in claim_tokens if word in _INTENSIFIERS and word not in premise_tokens]
    out.intensifier = intensifier[0] if intensifier else ""
    out.opposite = opposite
    order, swapped = _order(claim_terms, premise_terms, claim, premise)
    out.swapped = (stems.get(swapped[0], swapped[0]), stems.get(swapped[1], swapped[1]))
    swap = 0.0
    plain = [analyzer.stem(word) for word, joined in analyzer.tagged_words(claim) if not joined]
    if coverage >= 0.75:
        for sentence in sentences:
            if _passive(claim) != _passive(sentence):
                continue  # one side in the passive voice: its order is reversed on purpose
            terms = [analyzer.stem(word) for word, joined in analyzer.tagged_words(sentence) if not joined]
            gain, pair = _swap(plain, terms)
            if gain > swap:
                swap, out.swapped = gain, pair

    strong_hedge = any(word in _STRONG_HEDGES for word in best_tokens) or "remains to be seen" in best.lower()
    hedge_dropped = strong_hedge and coverage >= 0.7 and not any(word in _STRONG_HEDGES for word in claim_tokens)
    claim_universal = {word for word in claim_tokens if word in _UNIVERSAL and word not in after_not}
    best_partial = {word for word in best_tokens if word in _SOME}
    claim_partial = {word for word in claim_tokens if word in _SOME}
    best_universal = {word for word in best_tokens if word in _UNIVERSAL}
    quantifier_swapped = bool(
        (claim_universal and best_partial and not claim_universal & best_universal)
        or (claim_partial and best_universal and not claim_partial & best_partial)
        or ({"few", "only"} & set(claim_tokens) and {"majority", "most", "many"} & best_set)
    )
    if quantifier_swapped and not out.quantifier[0]:
        said = sorted(claim_universal or claim_partial or {"few"})[0]
        out.quantifier = (said, sorted(best_partial or best_universal or {"most"})[0])

    asserted = _hedge_asserted(analyzer, claim_tokens, best_tokens)  # another sentence's "may" hedges another claim
    out.values = [
        max(cosines) if cosines else 0.0,
        cosine_whole,
        coverage,
        weighted,
        min(len(missing), 4) / 4,
        min(len(shared), 6) / 6,
        float(len(shared) < 2),
        float(bool(out.negated)),
        float(bool(out.negated) and coverage >= 0.8),
        float(bool(out.numbers[0])),
        float(bool(out.units[0])),
        min(len(out.names), 2) / 2,
        order,
        swap,
        (max(cosines) if cosines else 0.0) * weighted,
        float(bool(opposites)),
        float(bool(out.hedge)),
        float(bool(certainty)),
        float(bool(quantifier)),
        float(bool(intensifier)),
        min(1.0, len(unique) / max(len(set(premise_terms)), 1)),
        float(_crossed(analyzer, claim, sentences)),
        float(hedge_dropped),
        float(quantifier_swapped),
        float(bool(quantifier) and coverage >= 0.8),
        float(bool(asserted)),
    ]
    out.hedge = out.hedge or asserted  # for the reason only: the "hedge" feature above is the premise's own
    return out
