"""The near-miss check: its features, its probability, and what ``abstain.decide`` does with it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pytest

from alignment_qa.engine.abstain import Coverage, caution_notice, decide, named_in_passages
from alignment_qa.engine.abstain_weights import WEIGHTS
from alignment_qa.engine.answer_type import AnswerType
from alignment_qa.engine.answerability import FEATURES, answerability, features, probability
from alignment_qa.engine.evidence import Scored
from alignment_qa.index.keyword import KeywordIndex
from alignment_qa.index.lexical import Analyzer

RECORDS = [
    ("1", "Institutes", "The UK AI Safety Institute evaluates frontier models before release."),
    ("2", "Institutes", "Several governments announced AI safety institutes in 2023 and 2024."),
    ("3", "Budgets", "A lab's annual budget grew, and so did the budget of one AI Safety Institute in the UK."),
    ("4", "Other", "Reward hacking is a failure of outer alignment."),
    ("5", "Other", "Interpretability studies the internals of neural networks."),
    ("6", "Logic", "Gödel proved two incompleteness theorems."),
]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(RECORDS, "r1", Analyzer())


def _scored(text: str, cosine: float, overlap: float, score: float, typed: bool = False) -> Scored:
    return Scored(0, text, 0, len(text), 0, cosine, overlap, typed, score, np.ones(2, dtype=np.float32) / np.sqrt(2))


def _decide(
    question: str,
    passages: Sequence[str],
    index: KeywordIndex,
    *,
    cosine: float,
    best: float | None = None,
    score: float = 1.1,
    is_plain_word: Callable[[str], bool] = lambda word: False,
    min_relevance: float = 0.3,
    rare_idf: float = 100.0,
    unanswered: float = 1.0,
    caution: float = 1.0,
) -> Coverage:
    """``decide`` with the first passage as the one scored sentence (cosine ``cosine``, the best passage's
    ``best``, by default the same)."""
    return decide(
        question,
        [_scored(passages[0], cosine, 0.5, score)],
        cosine if best is None else best,
        passages,
        index,
        is_plain_word,
        min_relevance=min_relevance,
        unknown_margin=0.1,
        rare_idf=rare_idf,
        typed_top=3,
        unanswered_threshold=unanswered,
        caution_threshold=caution,
    )


def _typed(question: str, passage: str, index: KeywordIndex, kind: AnswerType, typed: bool) -> Coverage:
    """``decide`` for a question asking for a ``kind`` of token, with ``passage`` as its one scored sentence, marked as
    carrying that kind (``typed``) or not; the near-miss check off."""
    scored = [_scored(passage, 0.6, 0.5, 1.1, typed=typed)]
    return decide(
        question, scored, 0.6, [passage], index, lambda word: False, min_relevance=0.2, unknown_margin=0.1,
        rare_idf=100.0, typed_top=3, unanswered_threshold=1.0, caution_threshold=1.0, kind=kind,
    )  # fmt: skip


def test_features_measure_what_the_best_sentences_lack(index: KeywordIndex) -> None:
    question = "What is the annual budget of the UK AI Safety Institute?"
    scored = [
        _scored("The UK AI Safety Institute evaluates frontier models before release.", 0.6, 0.5, 1.1),
        _scored("Several governments announced AI safety institutes in 2023 and 2024.", 0.5, 0.4, 0.9),
    ]
    values, missing = features(question, scored, [RECORDS[0][2], RECORDS[1][2]], index, typed_question=True)
    named = dict(zip(FEATURES, values, strict=True))
    assert named["best_overlap"] == 0.5 and named["best_cosine"] == 0.6 and named["best_score"] == 1.1
    assert set(missing) == {"annual", "budget"}  # the asked fact, in words no best sentence has
    assert 0 < named["missing_from_top_sentences"] < 1  # a share of the question's IDF
    assert named["missing_from_best_passage"] == max(index.idf(index.analyzer.stem(w)) for w in missing)
    assert named["typed_question"] == 1.0 and named["typed_found"] == 0.0
    covered, _ = features(question, [_scored(RECORDS[2][2], 0.6, 0.5, 1.1)], [RECORDS[2][2]], index, True)
    assert covered[FEATURES.index("missing_from_top_sentences")] == 0.0
    # a quote's speaker is part of what the answer shows: "The UK AI Safety Institute's annual budget report: “…”"
    quoted = replace(_scored("It grew.", 0.6, 0.5, 1.1), speaker="The UK AI Safety Institute annual budget report")
    attributed, missing = features(question, [quoted], [RECORDS[2][2]], index, True)
    assert attributed[FEATURES.index("missing_from_top_sentences")] == 0.0 and missing == []


def test_the_missing_words_are_the_questions_own_and_not_its_asking_words(index: KeywordIndex) -> None:
    scored = [_scored("Several governments announced AI safety institutes in 2023 and 2024.", 0.5, 0.4, 0.9)]
    _, missing = features("In what year did the UK AI Safety Institute's budget grow?", scored, [], index, True)
    assert "budget" in missing and "year" not in missing  # a year answer need not say "year"
    assert "UK" in missing  # as the question spells it
    counts = ("7", "Counts", "Three labs vs one: hundreds of budgets.")
    counted = KeywordIndex.build([*RECORDS, counts], "r4", Analyzer())
    _, missing = features("Are three labs vs one budget hundreds?", scored, [], counted, False)
    assert missing == ["labs", "budget"] or missing == ["budget", "labs"], missing  # no number words, no "vs"
    _, missing = features("What did Gödel say about the lab's budget?", scored, [], index, False)
    assert missing == ["lab", "budget"] or missing == ["budget", "lab"], missing  # not "del", a piece of "Gödel"
    # a verb with its particle names nothing ("took part", "run out"): "none of their best sentences mentions “took”"
    phrasal = ("8", "Parts", "Labs took part, and part of a budget may run out, they found out.")
    verbs = KeywordIndex.build([*RECORDS, phrasal], "r5", Analyzer())
    _, missing = features("How many labs took part before budgets run out?", scored, [], verbs, True)
    assert sorted(missing) == ["budgets", "labs"], missing
    text = ("8", "Book", "This chapter of the book says a lot, and its section on topics covers budgets.")
    book = KeywordIndex.build([*RECORDS, text], "r5", Analyzer())
    _, missing = features("What topics does the budget chapter of the Atlas book say?", scored, [], book, False)
    assert missing == ["budget"], missing  # not the words that ask what the pages say ("topics", "chapter", "say")


def test_a_worse_match_is_more_likely_unanswered(index: KeywordIndex) -> None:
    strong = [0.9, 0.8, 1.5, 0.0, 0.0, 0.0, 0.0]
    weak = [0.2, 0.3, 0.8, 0.6, 5.0, 1.0, 0.0]
    assert probability(weak) > 0.5 > probability(strong)
    with pytest.raises(ValueError, match="fit_abstain"):
        probability(strong, {**WEIGHTS, "features": ["cosine"]})
    assert answerability("reward hacking?", [], [], index, False).unanswered >= 0  # nothing scored: no crash


def test_decide_declines_or_warns_by_the_two_thresholds(index: KeywordIndex) -> None:
    question = "What is the annual budget of the UK AI Safety Institute?"

    def verdict(unanswered: float, caution: float) -> Coverage:
        return _decide(
            question, [RECORDS[0][2]], index, cosine=0.6, min_relevance=0.2, unanswered=unanswered, caution=caution
        )

    off = verdict(1.0, 1.0)
    assert off.covered and not off.notice and not off.missing
    warned = verdict(1.0, 0.0)
    assert warned.covered and warned.doubtful is not None and "budget" in warned.doubtful
    notice = caution_notice(warned.doubtful)
    assert "may not answer this question" in notice and "“budget”" in notice
    assert caution_notice([]) == "The nearest passages may not answer this question."
    declined = verdict(0.0, 0.0)
    assert not declined.covered and "none of their best sentences mentions" in declined.reason
    assert "“budget”" in declined.reason and "“annual”" in declined.reason


def test_a_phrase_the_question_names_keeps_a_distant_question_covered() -> None:
    """ "What is the sharp left turn?" sits far from its one sentence in embedding space; that a passage holds
    the phrase word for word (or a name outside the model's vocabulary, "Pangolin", or in capitals, "CIRL") keeps
    it from being declined as off-topic. An ordinary capitalised word ("France"), words in another order, a
    lower-case single word or a phrase without a rare word do not, nor does a question with a word no page has."""
    passages = [
        "This matters for the “sharp left turn” hypothesis, where capabilities generalise before alignment does.",
        'Researchers described an assistant called "Pangolin" that answers in German.',
        "Cotra’s CIRL-based estimate was revised, says a report from France.",
    ]
    records = [*RECORDS, *((str(7 + i), "New", text) for i, text in enumerate(passages))]
    named_index = KeywordIndex.build(records, "r2", Analyzer())
    rare = 1.5  # the IDF of a word in one of the nine records
    plain = {"france", "german", "sharp", "left", "turn", "report", "estimate", "paul", "dario"}.__contains__

    def named(question: str, texts: list[str] = passages, min_idf: float = rare) -> bool:
        return named_in_passages(question, texts, named_index, min_idf, plain)

    assert named("What is the sharp left turn?") and named("What is the 'sharp left turn'?")
    assert named("What was the Pangolin assistant?") and named("Pangolin: what was it?")
    assert not named("What was the Pangolin experiment?")  # "experiment", as rare here, is in no passage
    assert named("What did CIRL revise?") and named("What is Cotra's estimate?")  # "CIRL-based", "Cotra’s"
    assert not named("what was the pangolin experiment?")  # a lower-case word alone is no name
    assert not named("What is the capital of France?")  # an ordinary word, capitalised
    assert not named("Which turn left is sharp?")  # not the phrase
    assert named("What is the sharp left turn?", min_idf=50.0)  # nothing rare, but the page quotes it as a term
    unquoted = ["This matters for the sharp left turn hypothesis."]
    assert not named("What is the sharp left turn?", unquoted, 50.0)  # nothing rare, and not set off
    assert not named("What is the sharp left turn?", passages[1:])
    # a term the page sets off in quotes counts whatever its words' rarity: "pace" is in many pages
    paced = ['The "pacing problem" further complicates matters.', "Cotra’s anchors report’s view on pacing."]
    assert named("What is the pacing problem?", paced, 50.0) and named("what's the Pacing Problem", paced, 50.0)
    assert not named("What is the problem of pacing?", paced, 50.0)  # not the quoted term
    assert not named("Why does the anchors report matter?", paced, 50.0)  # apostrophes are no quotes
    assert not named("What is the pacing problem's budget?", paced, 1.5)  # "budget", rare, is in no passage
    cited = ["Paul Christiano and Dario Amodei proposed debate (Christiano, 2018)."]
    assert named("Who is Paul Christiano?", cited, 50.0)  # a full name, however often the pages cite it
    assert not named("Who is Paul Smith?", cited, 50.0) and not named("Who is Christiano?", cited, 50.0)
    assert not named("Who is Paul Dario?", ["Paul dario"], 50.0)  # "Paul" and "Dario" are plain words here
    cites = [
        (str(20 + i), "Cites", f"Paul Christiano and others wrote paper {i} (Christiano, 2018).") for i in range(9)
    ]
    cited_index = KeywordIndex.build([*RECORDS, *cites], "r6", Analyzer())
    assert cited_index.idf("christiano") < rare < cited_index.idf("dentist")
    assert named_in_passages("Who is Paul Christiano?", cited, cited_index, rare, plain)
    assert not named_in_passages("Who is Paul Christiano's dentist?", cited, cited_index, rare, plain)  # not here

    def verdict(question: str) -> Coverage:  # the cosine is below min_relevance
        return _decide(question, passages, named_index, cosine=0.2, score=0.8, is_plain_word=plain, rare_idf=rare)

    assert verdict("What is the sharp left turn?").covered
    assert not verdict("What is a right turn?").covered  # not in any passage: the cosine decides
    assert not verdict("What is the sharp left turn in sourdough baking?").covered  # a word no page has
    assert not verdict("What did the Pangolin Report say?").covered  # a name the pages never hold together


def test_a_decline_names_a_huge_unknown_word_briefly() -> None:
    """A 2,000-letter "word" or a list of made-up names is not echoed whole into the answer."""
    from alignment_qa.engine.abstain import SHOWN_NAME_CHARS, _quoted, names_phrase

    shown = _quoted(["x" * 2000, "zorp"])
    assert shown.startswith("“x") and shown.endswith("…” or “zorp”") and len(shown) < SHOWN_NAME_CHARS + 12
    assert names_phrase(["Zorp"]) == "Zorp"
    assert names_phrase(["A", "B", "C"]) == "A, B or C"
    assert names_phrase([f"N{i}" for i in range(20)]) == "N0, N1, N2, N3, N4 or 15 more"  # five named, not twenty


def test_an_acronym_vouched_for_by_its_code_number_does_not_decline() -> None:
    """ "EO 14110", where the page says "Executive Order 14110": the acronym is no unknown word, so the question is
    answered at the usual bar instead of being declined as naming "EO"; a code number no page has still declines."""
    order = "Executive Order 14110 sets compute thresholds for frontier models."
    orders_index = KeywordIndex.build([*RECORDS, ("7", "Orders", order)], "r3", Analyzer())

    def verdict(question: str) -> Coverage:  # the best passage above min_relevance, below it plus unknown_margin
        return _decide(question, [order], orders_index, cosine=0.5, best=0.35, score=1.0)

    assert verdict("What compute threshold does EO 14110 set?").covered
    declined = verdict("What compute threshold does EO 14111 set?")
    assert not declined.covered and "EO 14111" in declined.reason


def test_an_ordinary_word_no_page_has_counts_when_capitalised_inside_a_name(index: KeywordIndex) -> None:
    """ "Dartmouth" and "Nobel" are ordinary words of the model's vocabulary, so ``unknown_words`` passes over
    them; written with a capital after "the" or beside another capitalised word they may name something no page
    has. A capital alone, a clause's first word (after ".", ":", a quote or a dash), "I'm" beside it or a question
    in title case does not count. Emphasis has the same shape ("the Scary scenario"), so such a word raises the
    relevance bar and is named in a decline, but does not decline a relevant question by itself; the answer then
    says no page mentions it."""
    from alignment_qa.engine.abstain import unknown_capitalised

    plain = frozenset("dartmouth workshop nobel prize cup beginner world sorry scary hold".split()).__contains__
    assert unknown_capitalised("When was the Dartmouth workshop?", index, plain) == ["Dartmouth"]
    assert unknown_capitalised("Who won the 2024 Nobel prize?", index, plain) == ["Nobel"]
    assert unknown_capitalised("Who won the World Cup?", index, plain) == ["World", "Cup"]
    assert unknown_capitalised("Explain reward hacking like I'm a Beginner", index, plain) == []
    assert unknown_capitalised("Dartmouth workshop: when was it?", index, plain) == []  # the first word
    assert unknown_capitalised("What Did The Dartmouth Workshop Do?", index, plain) == []  # title case
    assert unknown_capitalised("When was the UK AI Safety Institute founded?", index, plain) == []  # pages have it
    for question in ("I work in AI. Sorry, what is it?", 'He said: "Scary AI stories" are hype', "UK - Sorry AI"):
        assert unknown_capitalised(question, index, plain) == [], question

    def verdict(question: str, cosine: float) -> Coverage:
        return _decide(question, [RECORDS[0][2]], index, cosine=cosine, is_plain_word=plain)

    declined = verdict("When did the Dartmouth workshop review the UK AI Safety Institute?", 0.35)
    assert not declined.covered and "“Dartmouth”" in declined.reason, declined.reason
    answered = verdict("When did the Dartmouth workshop review the UK AI Safety Institute?", 0.6)
    assert answered.covered and "Dartmouth" in answered.missing
    assert "No indexed page mentions “Dartmouth”; the answer draws on the nearest passages." in answered.notice
    assert verdict("When did the UK AI Safety Institute hold a workshop?", 0.35).covered


def test_a_notice_does_not_name_words_that_stand_for_anything() -> None:
    """ "… if all we asked it to do is something simple …": the words the best sentences lack that a notice names
    leave out "something", "asked" and "simple", which name nothing the pages lack; the features still count them."""
    records = [*RECORDS, ("9", "Other", "Someone asked for something simple like this.")]
    index = KeywordIndex.build(records, "r9", Analyzer())
    scored = [_scored(RECORDS[0][2], 0.6, 0.5, 1.1)]
    question = "Why would the UK institute refuse if all we asked is something simple like an annual budget?"
    values, missing = features(question, scored, [RECORDS[0][2]], index, typed_question=False)
    assert "annual" in missing and "budget" in missing
    assert not {"something", "asked", "simple", "like"} & {word.lower() for word in missing}
    plain, _ = features("Why would the UK institute refuse an annual budget?", scored, [RECORDS[0][2]], index, False)
    assert values != plain  # what the probability reads still counts them: only the named words are filtered


def test_a_casual_word_the_pages_seldom_use_is_not_an_absent_term() -> None:
    """Formal pages rarely say "got", so it looks rare; it asks for nothing, so a passage lacking it is no reason
    to decline ("Who decided how GPT-3 got released?")."""
    from alignment_qa.engine.abstain import absent_terms

    records = [*RECORDS, ("7", "Chat", "The model got better."), ("8", "Releases", "Labs decide on model releases.")]
    chat_index = KeywordIndex.build(records, "r5", Analyzer())
    passages = ["Labs decide on releases."]
    assert absent_terms("Who decided how the model got released?", passages, chat_index, 0.0) == ["model"]
    assert "budget" in absent_terms("Who decided on the budget of releases?", passages, chat_index, 0.0)


def test_a_chat_spelling_is_no_unknown_word(index: KeywordIndex) -> None:
    """No page has "whats" or "hows", but they are contractions, not names or typos: they neither raise the
    relevance bar nor become the reason for a decline ("no indexed page mentions “whats”")."""
    from alignment_qa.engine.abstain import unknown_words

    plain = {"it", "work"}.__contains__
    assert unknown_words("whats zorblax and hows it work?", index, plain) == ["zorblax"]

    def verdict(question: str) -> Coverage:  # above min_relevance, below it plus the unknown-word margin
        return _decide(question, [RECORDS[0][2]], index, cosine=0.35, is_plain_word=plain)

    assert verdict("whats reward hacking?").covered and verdict("hows reward hacking work").covered
    declined = verdict("whats zorblax?")
    assert not declined.covered and "whats" not in declined.reason and "zorblax" in declined.reason


def test_a_past_tense_does_not_stand_for_another_verb_with_its_stem() -> None:
    analyzer = Analyzer()
    assert analyzer.stem("found") == analyzer.stem("founded")  # why the distinction is needed
    assert "=found" in analyzer.precise_terms("More detail can be found in the post.")
    assert "found" in analyzer.precise_terms("Conjecture was founded in 2022.")
    records = [
        *RECORDS,
        ("7", "Labs", "Conjecture was founded by three researchers."),
        ("8", "Labs", "More on Conjecture's vision can be found in a post."),
    ]
    index = KeywordIndex.build(records, "r5", Analyzer())
    found = [_scored(records[7][2], 0.5, 0.4, 0.9)]
    _, missing = features("Who founded Conjecture?", found, [records[7][2]], index, True)
    assert missing == ["founded"]  # the sentence's "found" is of "find"
    founded = [_scored(records[6][2], 0.5, 0.4, 0.9)]
    assert features("Who founded Conjecture?", founded, [records[6][2]], index, True)[1] == []
    assert features("What was found about Conjecture?", found, [records[7][2]], index, False)[1] == []


def test_a_compound_whose_joined_form_stems_to_a_part_is_not_that_part() -> None:
    """ "PaLM-E" joined is "palme", which stems to "palm": compared as "palme", so that a sentence about PaLM does not
    cover a question about PaLM-E in the word overlap, while other compounds keep their stemmed joined form."""
    analyzer = Analyzer()
    asked = analyzer.precise_terms("How many parameters does PaLM-E have?")
    assert "palme" in asked and "palme" not in analyzer.precise_terms("PALM has 512 B parameters.")
    assert "palme" in analyzer.precise_terms("PaLM-E is an embodied model with 562 billion parameters.")
    assert analyzer.precise_terms("a mesa-optimizer")["mesaoptim"] == "mesaoptim"


def test_a_first_name_the_pages_leave_out_does_not_make_a_known_person_unknown() -> None:
    """The pages cite "Bostrom", never "Nick": "what did Nick Bostrom say about paperclips" was declined as naming
    “Nick”. A first name before a surname the pages use (outside the model's vocabulary) is no unknown name."""
    from alignment_qa.engine.abstain import unheard_names, unknown_capitalised

    passages = ["Bostrom argued that a superintelligence with the goal of making paperclips would pursue power."]
    records = [*RECORDS, *((str(30 + i), "Cites", f"As Bostrom (2014) notes, point {i}.") for i in range(3))]
    people = KeywordIndex.build([*records, ("40", "Paperclips", passages[0])], "r7", Analyzer())
    plain = {"nick", "say", "about", "food", "favorite", "what", "did", "is"}.__contains__
    question = "What did Nick Bostrom argue about paperclips?"
    assert unknown_capitalised(question, people, plain) == [] and unheard_names(question, people, plain) == []
    assert named_in_passages(question, passages, people, 1.5, plain)
    assert not named_in_passages("What is Nick Bostrom's favorite food?", passages, people, 1.5, plain)
    assert unknown_capitalised("When was the Nick workshop?", people, plain) == ["Nick"]  # no surname after it


def test_a_dotted_name_is_searched_for_whole() -> None:
    """ "Character.AI" reads as two known words; the chunks' text is searched for it whole, in any case, and at most
    ``MOST_CHECKED`` such names are searched. A full stop with no space after it ("RLHF.Is", "OpenAI.and") is no
    name."""
    from alignment_qa.engine.abstain import MOST_CHECKED, unknown_dotted

    searched: list[str] = []

    def matches(pattern: str) -> bool:
        searched.append(pattern)
        return "node" in pattern.lower()

    chat = " Thanks.now what? Ok.next one. Sure.list them. See Vol.III"
    assert unknown_dotted("Did Character.AI or Node.js ship it? RLHF.Is OpenAI.and" + chat, matches) == ["Character.AI"]
    assert len(searched) == 2 and all(pattern.startswith("(?i)") for pattern in searched)
    many = " ".join(f"Name{number}.ai" for number in range(MOST_CHECKED + 2))
    assert len(unknown_dotted(many, lambda pattern: False)) == MOST_CHECKED


def test_a_question_asking_for_a_kind_of_token_no_passage_gives_is_declined(index: KeywordIndex) -> None:
    """ "What % of compute did OpenAI promise the team?": no sentence of the passages carries a share at all."""
    question = "What share of compute does the UK AI Safety Institute get?"
    declined = _typed(question, RECORDS[0][2], index, "percent", typed=False)
    assert not declined.covered and declined.reason == "None of the nearest passages gives a share."
    # one sentence with a share, however far down: the usual checks decide
    assert _typed(question, RECORDS[0][2], index, "percent", typed=True).covered


def test_what_a_how_many_question_counts_and_whether_a_sentence_counts_it() -> None:
    from alignment_qa.engine.answer_type import counted_thing, counts

    assert counted_thing("how many GPUs were used to train GPT-4?") == "GPUs"
    assert counted_thing("How many procedurally generated levels was the CoinRun agent trained on?") == "levels"
    assert counted_thing("and how many human labelers did OpenAI hire for that?") == "labelers"
    assert counted_thing("How many people signed the pause letter?") == "people"
    assert counted_thing("How big is GPT-2's vocabulary?") == ""
    assert counted_thing("How many signed the pause letter?") == ""  # nothing named to count
    assert counted_thing("How many bias benchmarks are there?") == "benchmarks"
    stem = Analyzer().stem
    assert counts("Yet today, only nine countries possess nuclear weapons.", "countries", stem)
    assert counts("The benchmark contains 3,668 multiple choice questions on biosecurity.", "questions", stem)
    assert counts("Models should see approximately 20 times more data tokens than parameters.", "tokens", stem)
    assert counts("The letter drew over 1,000 signatories.", "people", stem)  # "people" goes by other words
    assert not counts("The study drew 30,000 individuals.", "participants", stem)  # a specific word does not
    # a number that is a name's ("Claude 3"), a year, or too far from the word counts nothing
    assert not counts("In a study on Claude 3 Sonnet, safety-relevant features were found.", "features", stem)
    assert not counts("In 2023 countries met in Bletchley.", "countries", stem)
    assert not counts("After 1,000 turns of the game, the agent reaches the end of its levels.", "levels", stem)
    # after the word, and inside a compound: "a parameter count of 1.8 trillion", "a 100,000-GPU cluster"
    assert counts("GPT-4 has a parameter count of 1.8 trillion.", "parameters", stem)
    assert counts("It ran on a 100,000-GPU cluster.", "GPUs", stem)
    assert counts("More than 700 employees threatened to quit.", "staff", stem)


def test_a_how_many_question_no_sentence_counts_for_is_declined_by_name(index: KeywordIndex) -> None:
    """ "How many GPUs …?": the passages give numbers, none of them a count of what is asked."""
    passage = "Several governments announced AI safety institutes in 2023 and 2024, and two labs joined."

    def verdict(question: str) -> Coverage:
        return _typed(question, passage, index, "number", typed=True)

    declined = verdict("How many institutes did governments announce?")
    assert not declined.covered and declined.missing == ["institutes"]
    assert declined.reason == "None of the nearest passages gives a number of “institutes”."
    assert verdict("How many labs joined the institutes?").covered  # "two labs"
    assert verdict("How many zorblaxes did governments announce?").covered  # no page has the word: other checks
