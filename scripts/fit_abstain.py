"""Fit the near-miss check's weights on the ``tune`` questions and write src/alignment_qa/engine/abstain_weights.py.

Each ``tune`` question of eval/questions.jsonl that the other abstention signals let through is asked as the eval
asks it (evidence mode, follow-ups joined to their history), and the features of ``engine.answerability`` are read
from its retrieved passages and scored sentences; the label is whether the question is unanswerable. A logistic
regression (numpy, L2 penalty, classes weighted equally) is fitted on them. The cut is chosen by repeated 5-fold
cross-validation on ``tune``: the lowest at which the held-out folds flag at most ``ALLOWED`` answerable questions on
average. It is moved to the default ``answer.caution_threshold`` (a notice) by shifting the bias; the default
``answer.unanswered_threshold`` (a decline, 0.7) is chosen apart from this script, on ``tune`` and two check sets (see
docs/answers.md). No ``test`` question is read here.
Run: HF_HUB_OFFLINE=1 .venv/bin/python scripts/fit_abstain.py [--corpus DIR] [--check]
(--check: compare with the shipped weights, writing nothing; exit 1 when one differs by more than ``TOLERANCE``).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from llama_index.core.schema import QueryBundle

from alignment_qa.engine.abstain_weights import WEIGHTS as shipped
from alignment_qa.engine.answer_type import asked_type
from alignment_qa.engine.answerability import FEATURES, features
from alignment_qa.engine.assistant import Assistant
from alignment_qa.engine.condense import cap_turns, condense, user_turns
from alignment_qa.eval.logistic import fit_logistic, standard_scale, weights_module, within_tolerance, write_or_check
from alignment_qa.eval.questions import load_questions
from alignment_qa.eval.runner import prepare_index
from alignment_qa.index.embedder import build_embedder
from alignment_qa.settings import AnswerSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "alignment_qa" / "engine" / "abstain_weights.py"
PENALTY = 33.0  # L2 on standardised weights: 1/C for C = 0.03, the best of 0.03, 0.1 and 0.3 in an ad-hoc repeated
# 5-fold cross-validation on tune (scikit-learn, 2026-12-06); this script does not choose it
ALLOWED = 3.0  # answerable tune questions the check may flag, on average over the held-out folds
REPEATS, FOLDS = 20, 5
TOLERANCE = 0.05  # --check: largest difference from the shipped values that still matches


def standalone_question(question: str, history: list[str], answer: AnswerSettings) -> str:
    """The question as evidence mode asks it (``Assistant._standalone``): a follow-up joined to the user's
    earlier turns, the last ``answer.history_turns`` of them, each capped."""
    turns = user_turns([{"role": "user", "content": turn} for turn in history])
    limit = answer.max_question_chars
    earlier = cap_turns(turns[-answer.history_turns :], limit) if answer.history_turns else []
    return condense(question.strip(), earlier, limit)


def tune_rows(settings: Settings, corpus: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features, labels (1: unanswerable) and questions of the ``tune`` questions the other signals let through."""
    embedding = settings.embedding.model_copy(update={"backend": "onnx"})  # the shipped weights' fp32 features
    settings = settings.model_copy(update={"embedding": embedding})
    embedder = build_embedder(settings)
    scoped, _ = prepare_index(settings, corpus, embedder)
    answer = scoped.answer.model_copy(update={"unanswered_threshold": 1.0})  # the check itself stays out
    assistant = Assistant.open(scoped.model_copy(update={"answer": answer}), embedder=embedder)
    engine = assistant.query_engine
    rows, labels, asked = [], [], []
    for question in load_questions(ROOT / "eval" / "questions.jsonl").questions:
        if question.split_name != "tune":
            continue
        standalone = standalone_question(question.question, question.history, answer)
        bundle = QueryBundle(query_str=standalone)
        passages = engine.retrieve(bundle, scoped.retrieval.top_k)
        scored = engine.score(bundle, passages)
        if not engine.coverage(standalone, passages, scored).covered:
            continue
        texts = [item.node.get_content() for item in passages]
        searched = engine.retriever.searched(standalone)  # as ``coverage`` reads it: "according to the Atlas" left out
        values, _ = features(searched, scored, texts, engine.retriever.keyword_index, asked_type(searched) is not None)
        rows.append(values)
        labels.append(0.0 if question.answerable else 1.0)
        asked.append(standalone)
    return np.array(rows, dtype=float), np.array(labels), asked


def balanced(y: np.ndarray) -> np.ndarray:
    """Sample weights that give both classes the same total weight."""
    return np.where(y == 1, len(y) / (2 * max(y.sum(), 1)), len(y) / (2 * max((1 - y).sum(), 1)))


def fitted(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Bias, weights, and the features' means and scales, of the model fitted on ``x`` and ``y``."""
    mean, scale = standard_scale(x)
    bias, weights = fit_logistic((x - mean) / scale, y, PENALTY, balanced(y))
    return bias, weights, mean, scale


def logits(model: tuple[float, np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The log-odds of ``model`` (as ``fitted`` returns it) for each row of ``x``."""
    bias, weights, mean, scale = model
    return np.asarray(bias + ((x - mean) / scale) @ weights)


def held_out_logits(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Out-of-fold logits, one row per repeat of stratified 5-fold cross-validation."""
    out = np.zeros((REPEATS, len(y)))
    for repeat in range(REPEATS):
        rng = np.random.default_rng(repeat)
        fold = np.zeros(len(y), dtype=int)
        for label in (0, 1):
            members = rng.permutation(np.flatnonzero(y == label))
            fold[members] = np.arange(len(members)) % FOLDS
        for k in range(FOLDS):
            test = fold == k
            out[repeat, test] = logits(fitted(x[~test], y[~test]), x[test])
    return out


def held_out_cut(held_out: np.ndarray, y: np.ndarray, allowed: float) -> float:
    """The lowest out-of-fold logit cut at which the held-out folds flag at most ``allowed`` answerable questions
    on average; it prints how many of each kind they flag."""
    answerable = held_out[:, y == 0]
    cut = float(answerable.max())
    for candidate in sorted(set(answerable.ravel()), reverse=True):  # lower and lower: more flagged
        if (answerable > candidate).sum(axis=1).mean() > allowed:
            break
        cut = float(candidate)
    flagged = held_out > cut
    print(
        f"cross-validated ({REPEATS}x{FOLDS}-fold), at most {allowed:g} answerable on average: flags "
        f"{flagged[:, y == 1].sum(axis=1).mean():.1f} of {int(y.sum())} unanswerable, "
        f"{flagged[:, y == 0].sum(axis=1).mean():.1f} of {int((1 - y).sum())} answerable"
    )
    return cut


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--check", action="store_true", help="compare with the shipped weights, write nothing")
    args = parser.parse_args()
    x, y, asked = tune_rows(Settings(), args.corpus)
    print(f"tune questions the other signals let through: {len(y)} ({int(y.sum())} unanswerable)")
    cut = held_out_cut(held_out_logits(x, y), y, ALLOWED)
    bias, weights, mean, scale = fitted(x, y)
    threshold = float(AnswerSettings.model_fields["caution_threshold"].default)
    if not 0 < threshold < 1:
        raise SystemExit(
            f"the default answer.caution_threshold must be between 0 and 1 to place the cut; it is {threshold}"
        )
    bias = bias - cut + math.log(threshold / (1 - threshold))
    model: dict[str, object] = {
        "features": list(FEATURES),
        "bias": round(bias, 6),
        "weights": [round(float(v), 6) for v in weights],
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
    }
    final = logits((bias, weights, mean, scale), x) > math.log(threshold / (1 - threshold))
    print(
        f"fitted on all of tune: flags {int(final[y == 1].sum())} unanswerable, {int(final[y == 0].sum())} answerable"
    )
    for i in np.flatnonzero(final & (y == 0)):
        print(f"  answerable, flagged: {asked[i]}")
    for name, weight in zip(FEATURES, model["weights"], strict=True):  # type: ignore[call-overload]
        print(f"  {name:28s} {weight:+.3f}")
    # --check: Chroma's approximate search can move a question's features from run to run
    same = within_tolerance(shipped, model, TOLERANCE)
    doc = "The near-miss check's weights, fitted on the tune questions by scripts/fit_abstain.py (do not edit)."
    return write_or_check(OUT, weights_module(doc, model), args.check, same)


if __name__ == "__main__":
    sys.exit(main())
