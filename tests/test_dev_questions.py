"""Retrieval and abstention on the development question set over ../shared/corpus.

eval/dev-questions.jsonl holds questions written for this project with gold page ids; the
issue's bar is page-level hit@5 >= 0.9 on the answerable ones. Unanswerable questions must be
declined, answerable ones must not be; eval/name-variants.jsonl checks names written another way and
eval/follow-up-questions.jsonl follow-ups asked in a conversation.
"""

from __future__ import annotations

import json

import pytest

from alignment_qa.engine.assistant import Assistant
from alignment_qa.index.embedder import Embedder
from conftest import REPO, BuiltIndex

QUESTIONS = REPO / "eval" / "dev-questions.jsonl"
VARIANTS = REPO / "eval" / "name-variants.jsonl"
FOLLOW_UPS = REPO / "eval" / "follow-up-questions.jsonl"


@pytest.fixture(scope="module")
def dev_assistant(dev_index: BuiltIndex, embedder: Embedder) -> Assistant:
    return Assistant.open(dev_index.settings, embedder=embedder)


def test_hit_at_5_and_abstention(dev_assistant: Assistant) -> None:
    questions = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [q for q in questions if q["answerable"]]
    assert len(answerable) >= 30
    hits, misses, wrong_abstentions, wrong_answers = 0, [], [], []
    for question in questions:
        answer = dev_assistant.ask(question["question"])
        pages = list(dict.fromkeys(passage.page_id for passage in answer.retrieved))[:5]
        if question["answerable"]:
            if set(pages) & set(question["gold_pages"]):
                hits += 1
            else:
                misses.append((question["id"], pages))
            if not answer.covered:
                wrong_abstentions.append(question["id"])
        elif answer.covered:
            wrong_answers.append(question["id"])
    hit_at_5 = hits / len(answerable)
    assert hit_at_5 >= 0.9, f"hit@5 = {hit_at_5:.3f}; missed: {misses}"
    assert len(wrong_abstentions) <= 0.05 * len(answerable), wrong_abstentions
    unanswerable = len(questions) - len(answerable)
    assert len(wrong_answers) <= unanswerable // 3, wrong_answers


def test_the_issue_examples_answer_or_decline_specifically(dev_assistant: Assistant) -> None:
    authors = dev_assistant.ask("Who wrote Risks from Learned Optimization?")
    assert authors.covered and "Garrabrant" in authors.sentences[0].text, authors.text  # the authors lead
    asilomar = dev_assistant.ask("What did the 2017 Asilomar AI Principles say about an AI arms race?")
    assert not asilomar.covered and "no indexed page mentions the Asilomar AI Principles" in asilomar.text
    bank = dev_assistant.ask("What does the European Central Bank say about AI risk?")  # words known, never together
    assert bank.covered and "No indexed page mentions the European Central Bank by that name" in bank.notice
    budget = dev_assistant.ask("What is the annual budget of the UK AI Safety Institute?")
    assert not budget.covered and "budget" in budget.text.split("The nearest pages")[0]
    for answer in (authors, dev_assistant.ask("Which AI Safety Institutes have been announced?")):
        assert not any(s.text.startswith(("Figure", "Footnote", "Human Compatible")) for s in answer.sentences)
    # the mission's own question: the wiki's denial joins the answer, with the sentence it points back to
    rlhf = [s.text for s in dev_assistant.ask("Is RLHF an inner alignment fix?").sentences]
    denial = next((i for i, text in enumerate(rlhf) if text.startswith("None of them solve inner alignment")), -1)
    assert denial > 0 and rlhf[denial - 1].startswith("RLHF, Constitutional AI, and IRL all aim"), rlhf


def test_a_figure_the_question_states_and_the_quotes_lack_is_named(dev_assistant: Assistant) -> None:
    """A false premise: the pages say who developed RLHF, not that it was in 2022; and the wrong year of a coinage."""
    invented = dev_assistant.ask("Did OpenAI invent RLHF in 2022?")
    assert invented.covered and "do not mention 2022, which the question states" in invented.notice, invented.notice
    coined = dev_assistant.ask("Why were the terms outer and inner alignment introduced back in 2019?")
    assert coined.covered and "which the question states" not in coined.notice, (coined.notice, coined.text)


def test_a_question_asking_what_a_term_means_leads_with_its_definition(dev_assistant: Assistant) -> None:
    """It had led with a kind of mesa-optimizer ("Internally aligned mesa-optimizer : These AIs want …") and with what
    goes wrong with reward shaping, the definitions last or missing."""
    mesa = dev_assistant.ask("what's a mesa-optimizer?")
    assert "A mesa-optimizer is a learned algorithm that is itself an optimizer" in mesa.sentences[0].text, mesa.text
    shaping = dev_assistant.ask("explain reward shaping to me")
    assert "Reward shaping is a technique" in shaping.sentences[0].text, shaping.text


def test_a_follow_up_does_not_repeat_a_definition_quoted_without_its_label(dev_assistant: Assistant) -> None:
    """ "Reward tampering: Reward tampering refers to …" is quoted as "Reward tampering refers to …"; the follow-up's
    check for what was said compared the labelled text and quoted it again."""
    first = dev_assistant.ask("What is reward tampering?")
    history = [{"role": "user", "content": first.question}, {"role": "assistant", "content": first.text}]
    again = dev_assistant.ask("tell me more about reward tampering", history=history)
    said = {sentence.text for sentence in first.sentences}
    assert again.covered and not said & {sentence.text for sentence in again.sentences}, again.text


def test_a_sentence_pointing_back_to_a_run_in_heading_names_it(dev_assistant: Assistant) -> None:
    """ "**The Second Line of Defense** . This includes …": quoted alone, "This" pointed to nothing."""
    second = dev_assistant.ask("who is the second line of defense in an AI company?")
    lines = [sentence.text for sentence in second.sentences]
    assert any(text.startswith("The Second Line of Defense: This includes") for text in lines), lines


def test_a_chapter_asked_for_by_number_is_found_by_its_title(dev_assistant: Assistant) -> None:
    """ "What does chapter 8 cover?" had quoted a page about summarizing each chapter of a book; the title "Chapter 08
    - Scalable Oversight" names chapter 8."""
    answer = dev_assistant.ask("What does chapter 8 cover?")
    assert answer.covered and answer.retrieved[0].page_id.startswith("atlas/08/"), answer.text
    assert answer.citations[0].page_id.startswith("atlas/08/") and "each chapter" not in answer.text, answer.text


def test_a_comparison_with_an_unknown_side_answers_the_known_side(dev_assistant: Assistant) -> None:
    answer = dev_assistant.ask("What is the difference between outer alignment and Asilomar alignment?")
    assert answer.covered and answer.sentences
    assert "No indexed page mentions Asilomar" in answer.notice and "outer alignment" in answer.notice
    bank = dev_assistant.ask("What is the difference between the European Central Bank and the AI Safety Institutes?")
    assert bank.covered and "No indexed page mentions the European Central Bank by that name" in bank.notice, bank.text
    assert "answers only about the AI Safety Institutes" in bank.notice


def test_a_near_miss_is_declined_or_warned_naming_what_the_quotes_lack(dev_assistant: Assistant) -> None:
    """InstructGPT is in the pages, how many labelers trained it is not: no passage gives a number of labelers
    (``answer_type.counts``), so the answer declines naming them. The count question may be declined one step
    earlier, when no sentence among the best carries a count and a rare word is in no passage ("none of the nearest
    passages mentions “hire”"): which step decides moved between two fresh ingests of the same corpus in CI. Above
    ``answer.unanswered_threshold`` the near-miss check declines, naming the words the best sentences lack; below it
    and above the caution cut, it answers with a notice (engine/answerability.py)."""
    hired = dev_assistant.ask("How many human labelers did OpenAI hire to train InstructGPT?")
    assert not hired.covered, hired.text
    named = "none of the nearest passages gives a number of “labelers”" in hired.text
    assert named or "none of the nearest passages mentions “hire”" in hired.text, hired.text
    scoring = dev_assistant.ask("What did o3 score on ARC-AGI?")
    assert scoring.covered and "The nearest passages may not answer this question" in scoring.notice, scoring.notice
    assert "“ARC”" in scoring.notice  # as the question spells it
    plain = dev_assistant.ask("What is reward hacking?")
    assert plain.covered and "may not answer" not in plain.notice
    # no page gives a number of participants ("30,000 individuals" elsewhere counts other people): declined
    counted = dev_assistant.ask("How many participants took part in Bowman et al.'s sandwiching experiment?")
    assert not counted.covered, counted.text
    assert "gives a number of “participants”" in counted.text or "none of the nearest passages mentions" in counted.text


def test_a_name_no_page_has_a_word_of_is_named_once(dev_assistant: Assistant) -> None:
    """No page has "Philanthropy": the answer says that no page mentions Open Philanthropy, once, without "by that
    name" (which says the pages may know it by another), and does not name its words as missing again."""
    given = dev_assistant.ask("How much money does Open Philanthropy give to AI safety research each year?")
    said = given.notice if given.covered else given.text
    assert said.lower().count("no indexed page mentions") == 1, said
    assert "mentions Open Philanthropy" in said and "by that name" not in said, said
    assert "“Open”" not in said and "“Philanthropy”" not in said


def test_a_named_phrase_answers_a_distant_question_but_an_ordinary_name_does_not(dev_assistant: Assistant) -> None:
    """ "The sharp left turn" is one sentence of the corpus, far from the question in embedding space: the phrase
    found word for word keeps it answered (engine/abstain.named_in_passages). General-knowledge questions that
    name an ordinary place, a word of the model's vocabulary that some page also mentions, stay declined."""
    turn = dev_assistant.ask("What is the sharp left turn?")
    assert turn.covered and "sharp left turn" in turn.text
    for question in ("What is the capital of France?", "What is the population of Germany?"):
        assert not dev_assistant.ask(question).covered, question


def test_a_version_no_page_mentions_is_declined_by_name(dev_assistant: Assistant) -> None:
    """The pages discuss GPT-4 and Claude 3, so every word of "GPT-5" or "Claude 4" is in some page; only a search
    of the chunks' text shows no page names them. Versions the pages do name are answered."""
    for question, name in (("Is GPT-5 aligned?", "GPT-5"), ("How does Claude 4 handle deception?", "Claude 4")):
        answer = dev_assistant.ask(question)
        assert not answer.covered and f"no indexed page mentions {name}" in answer.text, answer.text[:200]
    for question in ("How did GPT-4 get past a CAPTCHA during testing?", "what did claude 3.5 sonnet do in testing?"):
        assert dev_assistant.ask(question).covered, question
    assert dev_assistant.ask("What is in Section 4 of the Executive Order on AI?").covered  # no name: a section


def test_a_dotted_name_no_page_writes_is_declined_by_name(dev_assistant: Assistant) -> None:
    """ "Character.AI" is "character" and "ai" to the keyword index, both in many pages; only the text search shows
    that no page names it. A missing space after a full stop is no name."""
    answer = dev_assistant.ask("What happened in the Character.AI lawsuit about the teenager's suicide?")
    assert not answer.covered and "no indexed page mentions Character.AI" in answer.text, answer.text[:200]
    assert dev_assistant.ask("I read about RLHF.Is it an outer alignment fix?").covered


def test_an_acronym_no_page_writes_in_capitals_is_declined_by_name(dev_assistant: Assistant) -> None:
    """Pages say "chips" but never "CHIPS": the keyword index folds case, the text search does not. A shouted
    question is not read for acronyms."""
    answer = dev_assistant.ask("How much money does the US CHIPS Act put into chip manufacturing?")
    assert not answer.covered and "no indexed page mentions the US CHIPS Act" in answer.text, answer.text[:200]
    for question in (
        "Why should AI labs apply KYC to people using their most dangerous models?",
        "WHAT IS RLHF?",  # shouted
        "Is reward hacking REALLY a problem?",  # emphasis
        "What does OPENAI say about superalignment?",  # a name the pages know, in capitals
        "Is AGI 5 years away?",  # a count after the number, not a version
        "What is the Top 3 concern of experts?",
    ):
        assert dev_assistant.ask(question).covered, question


def test_names_written_another_way_are_answered_and_names_no_page_has_are_not(dev_assistant: Assistant) -> None:
    """eval/name-variants.jsonl: 60 answerable questions that name what the pages discuss the way a user might
    ("Weak to Strong Generalisation", "Lee Se-dol", "the Bletchley Park AI Summit") and 30 near misses naming a
    real organisation, law or paper no page mentions ("the Partnership on AI"). A variant must not be declined as
    an unknown name; the near misses are mostly answered with a notice, and the share declined must not fall."""
    questions = [json.loads(line) for line in VARIANTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    declined = {question["id"]: not dev_assistant.ask(question["question"]).covered for question in questions}
    variants = [question["id"] for question in questions if question["answerable"]]
    misses = [question["id"] for question in questions if not question["answerable"]]
    assert len(variants) == 60 and len(misses) == 30
    assert sum(declined[name] for name in variants) <= 2, [name for name in variants if declined[name]]
    assert sum(declined[name] for name in misses) >= 5, [name for name in misses if declined[name]]


def test_follow_ups_asked_in_a_conversation_find_their_pages(dev_assistant: Assistant) -> None:
    """eval/follow-up-questions.jsonl: 30 answerable follow-ups, after one or two earlier questions, asked as a chat
    asks them (each earlier turn answered first; its 6 near misses are left to the eval). No answerable one is
    declined, and at most 2
    miss every gold page among their first five (1 does); before "what's the downside?" or "does that still hold
    if …?" were read as follow-ups, they were searched on their own words alone and this failed."""
    from alignment_qa.eval.runner import conversation

    questions = [json.loads(line) for line in FOLLOW_UPS.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [question for question in questions if question["answerable"]]
    assert len(answerable) == 30 and len(questions) == 36
    declined, missed = [], []
    for question in answerable:
        history = conversation(dev_assistant, question["history"])
        answer = dev_assistant.ask(question["question"], history=history)
        if not answer.covered:
            declined.append(question["id"])
        pages = list(dict.fromkeys(passage.page_id for passage in answer.retrieved))[:5]
        if not set(pages) & set(question["gold_pages"]):
            missed.append(question["id"])
    assert not declined, declined
    assert len(missed) <= 2, missed
