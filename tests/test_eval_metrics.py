"""Each evaluation formula on small cases computed by hand.

The support decisions here come from a lookup table standing in for the judge, so the numbers
depend only on the formulas (the real judges are tested in test_eval_run.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from alignment_qa.engine.answer import Answer
from alignment_qa.eval import metrics as m
from alignment_qa.eval.calibration import load_calibration
from alignment_qa.eval.questions import load_questions
from alignment_qa.eval.summary import compare, threshold_failures
from conftest import REPO, SHARED_CORPUS

REPO_QUESTIONS = REPO / "eval" / "questions.jsonl"


class TableJudge:
    """Supports exactly the (premise, hypothesis) pairs listed."""

    name = "table"

    def __init__(self, supported: set[tuple[str, str]]) -> None:
        self.supported = supported

    def support(self, premise: str, hypothesis: str) -> float:
        return 1.0 if (premise, hypothesis) in self.supported else 0.0

    def support_many(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [self.support(premise, hypothesis) for premise, hypothesis in pairs]


def test_retrieval_formulas() -> None:
    ranked, gold = ["a", "b", "c", "d"], {"b", "d"}
    assert [m.hit_at(ranked, gold, k) for k in (1, 3, 5)] == [0.0, 1.0, 1.0]
    assert m.recall_at(ranked, gold, 3) == 0.5 and m.recall_at(ranked, gold, 5) == 1.0
    assert m.reciprocal_rank(ranked, gold) == 0.5 and m.reciprocal_rank(ranked, {"z"}) == 0.0
    # DCG@3 = 1/log2(3); IDCG@3 over min(3, 2) gold pages = 1 + 1/log2(3)
    assert m.ndcg_at(ranked, gold, 3) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert m.ndcg_at(ranked, gold, 5) == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    assert m.ndcg_at(["b"], {"b"}, 10) == 1.0  # one gold page at rank 1: ideal, whatever k
    # more gold pages than k: the ideal is k gold pages, so two gold pages at ranks 1-2 are ideal for k = 2
    assert m.ndcg_at(["a", "b", "x"], {"a", "b", "c", "d", "e"}, 2) == 1.0
    assert m.reciprocal_rank([f"p{i}" for i in range(10)], {"gold"}) == 0.0  # not in the ranked 10: MRR@10 is 0


def _answer(**extra: Any) -> Answer:
    passages = {1: "P1 text.", 2: "P2 text.", 3: "P3 text.", 4: "P4 text."}
    data: dict[str, Any] = {
        "question": "q",
        "standalone_question": "q",
        "text": "S1. S2. S3.",
        "mode": "llm",
        "citations": [
            {
                "n": n,
                "page_id": f"p{n}",
                "title": "",
                "section": "",
                "quote": passages[n],
                "start": 0,
                "end": 8,
                "chunk_id": f"c{n}",
            }
            for n in (1, 2, 3)
        ],
        "sentences": [
            {"text": "S1.", "citations": [1, 2], "supported": True, "score": 1},
            {"text": "S2.", "citations": [3], "supported": False, "score": 0, "invalid_citations": [7]},
            {"text": "S3.", "citations": [], "supported": False, "score": 0},
        ],
        "retrieved": [
            {
                "page_id": f"p{n}",
                "section": "",
                "score": 1,
                "rank": n,
                "chunk_ids": [f"c{n}"],
                "text": text,
                "start": 0,
                "end": 8,
            }
            for n, text in passages.items()
        ],
        "dropped_citations": [7],
    }
    data.update(extra)
    return Answer.model_validate(data)


def test_alce_citation_recall_and_precision_and_faithfulness() -> None:
    judge = TableJudge(
        {
            ("P1 text.", "S1."),  # P1 alone supports S1
            ("P1 text. P2 text.", "S1."),  # so do P1 and P2 together
            ("P4 text.", "S2."),  # S2 is supported by a passage it does not cite
        }
    )
    check = m.check_answer(_answer(), judge, threshold=0.5)
    # recall: S1 yes (its citations jointly support it), S2 no (P3 does not), S3 no (no citation) -> 1/3
    assert check.citation_recall == pytest.approx(1 / 3)
    # precision: S1's [1] precise; S1's [2] irrelevant (P2 alone fails, the rest (P1) still supports);
    # S2's [3] not precise (S2 unsupported), nor its [7] (points to no passage) -> 1 of 4 citations
    assert check.citation_precision == pytest.approx(1 / 4)
    assert [s.precise for s in check.sentences] == [[True, False], [False, False], []]
    # faithfulness: S1 (by P1) and S2 (by P4) are supported by some retrieved passage -> 2/3
    assert check.faithfulness == pytest.approx(2 / 3)
    assert check.no_citation_rate == pytest.approx(1 / 3)
    # citations written: [1], [2], [3] valid and S2's [7] pointing nowhere -> 1/4 outside the retrieved set
    assert check.outside_citation_rate == pytest.approx(1 / 4)


def test_citations_that_support_only_together_are_both_precise() -> None:
    joint_only = {("P1 text. P2 text.", "S1.")}
    answer = _answer(sentences=[{"text": "S1.", "citations": [1, 2], "supported": True, "score": 1}])
    check = m.check_answer(answer, TableJudge(joint_only), 0.5)
    assert check.sentences[0].precise == [True, True]  # neither alone, but removing either loses support


def test_citations_map_to_their_retrieved_passage() -> None:
    answer = _answer()
    passages = answer.retrieved
    assert m.cited_passage(answer.citations[1], passages) == "P2 text."  # by chunk id
    by_offset = answer.citations[2].model_copy(update={"chunk_id": "merged-away", "start": 3})
    assert m.cited_passage(by_offset, passages) == "P3 text."  # same page, offset inside the passage
    elsewhere = answer.citations[0].model_copy(update={"chunk_id": "", "page_id": "gone", "quote": "the quote"})
    assert m.cited_passage(elsewhere, passages) == "the quote"  # nothing retrieved matches: the quote itself


def test_a_citation_that_alone_supports_is_precise_even_when_the_rest_does_too() -> None:
    both = {("P1 text.", "S1."), ("P2 text.", "S1."), ("P1 text. P2 text.", "S1.")}
    answer = _answer(sentences=[{"text": "S1.", "citations": [1, 2], "supported": True, "score": 1}])
    check = m.check_answer(answer, TableJudge(both), 0.5)
    assert check.citation_precision == 1.0 and check.citation_recall == 1.0


def test_only_three_citations_of_a_sentence_count() -> None:
    answer = _answer(
        citations=[
            {"n": n, "page_id": f"p{n}", "title": "", "section": "", "quote": f"P{n} text.", "start": 0, "end": 8}
            for n in (1, 2, 3, 4)
        ],
        sentences=[{"text": "S1.", "citations": [1, 2, 3, 4], "supported": True, "score": 1}],
    )
    joint = ("P1 text. P2 text. P3 text.", "S1.")
    check = m.check_answer(
        answer, TableJudge({joint, ("P1 text.", "S1."), ("P2 text.", "S1."), ("P3 text.", "S1.")}), 0.5
    )
    assert len(check.sentences[0].precise) == 3 and check.citation_precision == 1.0


def test_key_facts_and_declined_answers() -> None:
    answer = _answer()
    judge = TableJudge({("S1. S2. S3.", "fact a")})
    assert m.key_fact_recall(answer, ["fact a", "fact b"], judge, 0.5) == [True, False]
    declined = _answer(covered=False, sentences=[], citations=[])
    assert m.key_fact_recall(declined, ["fact a"], judge, 0.5) == [False]
    assert m.check_answer(declined, judge, 0.5).citation_recall is None  # undefined, not zero


def test_wilson_interval_for_yes_no_metrics() -> None:
    all_hits = m.estimate_mean([1.0] * 73)
    assert all_hits is not None and all_hits.mean == 1.0 and all_hits.high == pytest.approx(1.0)
    assert all_hits.low == pytest.approx(0.950, abs=0.001)  # not a zero-width interval at 73 of 73
    half = m.wilson([1.0, 0.0] * 10)
    assert (
        half is not None
        and half.low == pytest.approx(0.299, abs=0.001)
        and half.high == pytest.approx(0.701, abs=0.001)
    )
    mixed = m.estimate_mean([0.5, 1.0, 0.25])  # not yes/no: bootstrap
    assert mixed is not None and mixed.low < mixed.mean < mixed.high


def test_aggregate_averages_each_metric_over_its_own_questions() -> None:
    from alignment_qa.eval.questions import EvalQuestion
    from alignment_qa.eval.runner import QuestionResult
    from alignment_qa.eval.summary import aggregate

    def result(qid: str, latency: float, error: str | None = None, **values: float) -> QuestionResult:
        return QuestionResult(EvalQuestion(id=qid, question="q"), error=error, latency_ms=latency, metrics=values)

    results = [
        result("a", 100, **{"hit@1": 1.0, "false_abstention": 0.0, "key_fact_recall": 0.5}),
        result("b", 200, **{"hit@1": 0.0, "false_abstention": 1.0}),
        result("c", 300, abstention=1.0),
        result("d", 10_000, error="too long", **{"hit@1": 0.0}),  # an error is not averaged
    ]
    metrics, intervals = aggregate(results, samples=200, seed=0)
    assert metrics["hit@1"] == 0.5 and intervals["hit@1"]["n"] == 2
    assert metrics["false_abstention_rate"] == 0.5 and metrics["abstention_accuracy"] == 1.0
    assert metrics["key_fact_recall"] == 0.5 and intervals["key_fact_recall"]["n"] == 1
    assert metrics["latency_p50_ms"] == 200.0 and metrics["citation_recall"] is None  # measured by none: null
    assert set(metrics) >= {"mrr", "ndcg@5", "faithfulness", "latency_p95_ms"}  # stable keys, even when null


def test_report_escapes_question_text() -> None:
    from alignment_qa.eval.questions import EvalQuestion
    from alignment_qa.eval.report import render_html
    from alignment_qa.eval.runner import QuestionResult

    question = EvalQuestion(id="x<1>", question="<script>alert(1)</script> why?")
    summary = {
        "metrics": {"hit@1": None},
        "intervals": {},
        "definitions": {"hit@k": "<b>"},
        "counts": {"questions": 1, "answerable": 1, "unanswerable": 0, "scored": 0, "errors": [],
                   "skipped_lines": [{"line": 3, "reason": "<img src=x>"}], "unknown_gold_pages": []},
        "judge": {"name": "j", "threshold": 0.5, "calibration": {"pairs": 2, "balanced_accuracy": 0.5,
                  "ci95": [0.1, 0.9], "accuracy_by_kind": {}}},
        "thresholds": {"support_threshold": 0.5}, "mode": "evidence", "questions_file": {"path": "q"},
        "corpus": {"fingerprint": "f", "pages": 1}, "code_version": "v", "created": "now",
        "bootstrap": {"samples": 1, "seed": 0},
    }  # fmt: skip
    page = render_html([QuestionResult(question, error="<i>boom</i>")], summary)
    assert "<script>" not in page and "&lt;script&gt;" in page and "<img" not in page and "<i>boom" not in page


def test_bootstrap_and_balanced_accuracy() -> None:
    estimate = m.bootstrap_mean([0.0, 1.0, 1.0, 1.0], samples=500, seed=3)
    assert estimate is not None and estimate.mean == 0.75 and estimate.n == 4
    assert 0.0 <= estimate.low <= 0.75 <= estimate.high <= 1.0
    assert m.bootstrap_mean([0.0, 1.0, 1.0, 1.0], samples=500, seed=3) == estimate  # same inputs, same numbers
    assert m.bootstrap_mean([]) is None
    # TPR 1/2, TNR 1/2 -> 0.5; always "supported": TPR 1, TNR 0 -> 0.5 (plain accuracy would say 0.75)
    assert m.balanced_accuracy([True, True, False, False], [True, False, False, True]) == 0.5
    assert m.balanced_accuracy([True, True, True, False], [True, True, True, True]) == 0.5
    ba = m.bootstrap_balanced_accuracy([True] * 10 + [False] * 10, [True] * 9 + [False] + [False] * 10)
    assert ba.mean == pytest.approx(0.95) and ba.low <= 0.95 <= ba.high


def test_question_file_reports_bad_lines_and_ignores_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    lines = [
        json.dumps({"id": "a", "question": "What is X?", "gold_pages": ["x.md"], "kind": "extra"}),
        "{not json",
        json.dumps({"id": "b"}),
        json.dumps(["a list"]),
        "",
        json.dumps({"id": 7, "question": "Unanswerable?", "answerable": False}),
        json.dumps({"id": "a", "question": "Again?"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    loaded = load_questions(path)
    assert [q.id for q in loaded.questions] == ["a", "7"]
    assert loaded.questions[1].answerable is False and loaded.questions[0].key_facts == []
    assert [line for line, _ in loaded.problems] == [2, 3, 4, 7]
    reasons = dict(loaded.problems)
    assert "not valid JSON" in reasons[2] and "question" in reasons[3] and "duplicate id 'a'" in reasons[7]


def test_baseline_comparison_and_thresholds() -> None:
    rows = {
        row["metric"]: row
        for row in compare(
            {"hit@5": 0.9, "false_abstention_rate": 0.1, "answer_chars_mean": 300.0, "mrr": 0.5},
            {"metrics": {"hit@5": 0.8, "false_abstention_rate": 0.05, "answer_chars_mean": 250.0, "mrr": 0.5}},
        )
    }
    assert rows["hit@5"]["verdict"] == "better" and rows["hit@5"]["delta"] == pytest.approx(0.1)
    assert rows["false_abstention_rate"]["verdict"] == "worse"  # lower is better
    assert rows["answer_chars_mean"]["verdict"] == "changed" and rows["mrr"]["verdict"] == "same"
    failures = threshold_failures(
        {"hit@5": 0.8, "false_abstention_rate": 0.2}, {"hit@5": 0.9, "mrr": 0.1}, {"false_abstention_rate": 0.1}
    )
    assert failures == [
        "hit@5 = 0.8 is below 0.9",
        "mrr was not measured in this run (needed >= 0.1)",
        "false_abstention_rate = 0.2 is above 0.1",
    ]


def test_the_calibration_set() -> None:
    pairs = load_calibration()
    assert len(pairs) >= 100 and len({pair.id for pair in pairs}) == len(pairs)
    share = sum(pair.supported for pair in pairs) / len(pairs)
    assert 0.4 <= share <= 0.6
    supported_kinds = {"paraphrase", "entailment", "verbatim"}
    assert all((pair.kind in supported_kinds) == pair.supported for pair in pairs)
    folders = {pair.page_id.rsplit("/", 1)[0] if pair.page_id.startswith("atlas") else pair.page_id for pair in pairs}
    assert {f"atlas/0{n}" for n in range(1, 10)} <= folders and sum(f.startswith("wiki/") for f in folders) == 2


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="the development corpus is not at ../shared/corpus")
def test_calibration_passages_come_from_the_corpus() -> None:
    from alignment_qa.ingest.clean import clean_page

    missing = []
    for pair in load_calibration():
        page = SHARED_CORPUS / pair.page_id
        text = " ".join(page.read_text(encoding="utf-8").split())
        cleaned = " ".join(clean_page(page.read_text(encoding="utf-8"), page.name, page.suffix).text.split())
        head = " ".join(pair.passage.split())[:40]
        if head not in text and head not in cleaned:
            missing.append(pair.id)
    assert missing == []


CHINCHILLA = (
    "The Chinchilla scaling laws showed that for optimal performance, models should be trained on approximately "
    "20 times more data tokens than they have parameters."
)  # 14 content words: 20 approximately chinchilla data laws models optimal parameters performance scaling
#   showed times tokens trained


def test_evidence_overlap_counts_content_words_of_one_sentence() -> None:
    assert len(m.content_words(CHINCHILLA)) == 14
    assert m.content_words("The **Chinchilla** laws, [see](x.md)!") == {"chinchilla", "laws", "see"}  # markup gone
    ten = "Chinchilla scaling laws: optimal performance means training models on approximately 20 times more data."
    # has chinchilla scaling laws optimal performance models approximately 20 times data = 10 of 14 -> 0.714
    assert m.overlap(CHINCHILLA, ten) == pytest.approx(10 / 14)
    assert not m.evidence_found([CHINCHILLA], [ten])
    near = ten + " Tokens, parameters, trained."  # + tokens parameters trained = 13 of 14 -> 0.929
    assert m.overlap(CHINCHILLA, near) == pytest.approx(13 / 14) and m.evidence_found([CHINCHILLA], [near])
    eleven_of_14 = "Chinchilla scaling laws showed optimal performance when models trained on 20 times more data."
    assert m.overlap(CHINCHILLA, eleven_of_14) == pytest.approx(11 / 14)  # 0.786: just under 0.8
    assert not m.evidence_found([CHINCHILLA], [eleven_of_14])
    assert m.evidence_found([CHINCHILLA], [eleven_of_14 + " Approximately."])  # 12/14 = 0.857
    assert m.evidence_found(["", "the of and"], ["anything"]) is False  # nothing to find
    assert m.split_sentences("It said **hi**. Then e.g. it went. 2020 was a year! yes") == [
        "It said hi.",
        "Then e.g. it went.",
        "2020 was a year! yes",
    ]


def test_evidence_in_answer_needs_one_answer_sentence_to_carry_it() -> None:
    def said(*texts: str) -> list[dict[str, Any]]:
        return [{"text": text, "citations": [1], "supported": True, "score": 1} for text in texts]

    quoted = _answer(sentences=said("Other.", f"**{CHINCHILLA}**"))
    assert m.evidence_in_answer(quoted, ["Unrelated sentence about dogs.", CHINCHILLA]) == 1.0
    halves = CHINCHILLA.split(", ")  # the words are all there, but in two sentences: not carried
    split = _answer(sentences=said(halves[0] + ".", halves[1]))
    assert m.evidence_in_answer(split, [CHINCHILLA]) == 0.0
    declined = _answer(covered=False, sentences=[], citations=[], text=CHINCHILLA)
    assert m.evidence_in_answer(declined, [CHINCHILLA]) == 0.0


def test_evidence_retrieved_looks_at_each_sentence_of_each_passage() -> None:
    passage = f"Scaling laws matter. {CHINCHILLA} This meant many models were undertrained."
    assert m.evidence_retrieved(["Nothing here.", passage], [CHINCHILLA]) == 1.0
    scattered = (
        "Chinchilla scaling laws showed optimal performance. Models trained on approximately 20 times more data. "
        "Tokens and parameters."
    )  # every content word is in the passage, no sentence has 80% of them
    assert m.evidence_retrieved([scattered], [CHINCHILLA]) == 0.0
    assert m.evidence_retrieved([], [CHINCHILLA]) == 0.0


def test_split_is_a_function_of_the_id_and_the_stored_split_must_agree(tmp_path: Path) -> None:
    from alignment_qa.eval.questions import split_of

    assert split_of("dev-077") == "tune"  # the development questions join tune
    # sha256("q-1") starts with 0x8a (even): tune; sha256("q-2") starts with 0x55 (odd): test
    assert (split_of("q-1"), split_of("q-2")) == ("tune", "test")
    path = tmp_path / "q.jsonl"
    lines = [
        json.dumps({"id": "q-1", "question": "A?", "split": "tune", "evidence": ["Plain."], "gold_pages": ["a.md"]}),
        json.dumps({"id": "q-2", "question": "B?", "split": "tune"}),
        json.dumps({"id": "q-3", "question": "C?", "history": ["Earlier?"]}),
    ]
    path.write_text("\n".join(lines) + "\n")
    loaded = load_questions(path)
    assert [q.id for q in loaded.questions] == ["q-1", "q-3"]
    assert loaded.problems[0][0] == 2 and "split_of('q-2') is 'test'" in loaded.problems[0][1]
    first, third = loaded.questions
    assert first.evidence[0].page == "a.md" and first.evidence[0].text == "Plain."  # a plain string: first gold page
    assert third.split is None and third.split_name == split_of("q-3") and third.history == ["Earlier?"]


def test_the_question_set_stores_the_split_of_split_of() -> None:
    from alignment_qa.eval.questions import split_of

    questions = load_questions(REPO_QUESTIONS)
    assert questions.problems == [] and len(questions.questions) >= 330
    assert all(q.split == split_of(q.id) for q in questions.questions)
    new = [q for q in questions.questions if not q.id.startswith("dev-")]
    test_share = sum(q.split == "test" for q in new) / len(new)
    assert 0.4 <= test_share <= 0.6 and all(q.split == "tune" for q in questions.questions if q.id.startswith("dev-"))


def _checker() -> Any:
    """scripts/check_questions.py as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_questions", REPO / "scripts" / "check_questions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_question_set_checks_out_against_the_corpus() -> None:
    if not SHARED_CORPUS.is_dir():
        pytest.skip("../shared/corpus is not here")
    module = _checker()
    failures, summary = module.check(REPO_QUESTIONS, SHARED_CORPUS)
    assert failures == []
    assert summary["new (not dev)"] >= 250 and summary["unanswerable"] >= 50 and summary["near misses"] >= 40
    assert summary["comparison or multi-page"] >= 30 and summary["follow-ups with history"] >= 10
    assert summary["pages without a question"] == []


def test_the_checker_catches_a_wrong_evidence_sentence_and_a_present_absent_term(tmp_path: Path) -> None:
    module = _checker()
    corpus = tmp_path / "corpus"
    (corpus / "a").mkdir(parents=True)
    (corpus / "a" / "p.md").write_text("# P\n\nThe **bitter** lesson\nis about [compute](x.md). Aimed high.\n")
    rows = [
        {"id": "q-1", "question": "?", "gold_pages": ["a/p.md"], "evidence": ["The bitter lesson is about compute."],
         "key_facts": ["k"], "kind": "definition"},
        {"id": "q-3", "question": "?", "gold_pages": ["a/p.md"], "evidence": ["The sweet lesson."], "key_facts": ["k"],
         "kind": "definition"},
        {"id": "q-4", "question": "?", "answerable": False, "absent": ["aime", "compute"], "kind": "near_miss"},
        {"id": "q-5", "question": "?", "gold_pages": ["a/missing.md"], "key_facts": ["k"], "kind": "x"},
    ]  # fmt: skip
    from alignment_qa.eval.questions import split_of

    for row in rows:
        row["split"] = split_of(row["id"])
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    failures, _ = module.check(path, corpus)
    assert not any(f.startswith("q-1") for f in failures)  # markup and line breaks ignored
    assert any(f.startswith("q-3: evidence not found") for f in failures)
    assert [f for f in failures if f.startswith("q-4")] == ["q-4: the 'absent' term 'compute' occurs in the corpus"]
    assert {"q-5: gold page a/missing.md is not in the corpus", "q-5: answerable without evidence"} <= set(failures)


def test_breakdown_by_kind_and_split() -> None:
    from alignment_qa.eval.questions import EvalQuestion
    from alignment_qa.eval.runner import QuestionResult
    from alignment_qa.eval.summary import breakdown

    def result(qid: str, kind: str, error: str | None = None, **values: float) -> QuestionResult:
        return QuestionResult(EvalQuestion(id=qid, question="q", kind=kind), error=error, metrics=values)

    results = [
        result("a", "factoid", **{"hit@5": 1.0, "evidence_in_answer": 1.0, "false_abstention": 0.0}),
        result("b", "factoid", **{"hit@5": 0.0, "evidence_in_answer": 0.0, "false_abstention": 1.0}),
        result("c", "factoid", **{"hit@5": 1.0, "false_abstention": 0.0}),  # no evidence: not counted there
        result("d", "near_miss", abstention=1.0),
        result("e", "near_miss", error="boom", abstention=0.0),  # errors are left out
        result("f", "", abstention=0.0),
    ]
    table = breakdown(results, lambda r: r.question.kind)
    assert list(table) == ["?", "factoid", "near_miss"]
    factoid = table["factoid"]
    assert factoid["questions"] == 3 and factoid["hit@5"] == {"mean": 0.6667, "n": 3}
    assert factoid["evidence_in_answer"] == {"mean": 0.5, "n": 2}
    assert factoid["false_abstention_rate"] == {"mean": 0.3333, "n": 3} and "abstention_accuracy" not in factoid
    assert table["near_miss"] == {"questions": 1, "abstention_accuracy": {"mean": 1.0, "n": 1}}
