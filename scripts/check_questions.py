"""Check an evaluation question file against its corpus; print what is wrong and a summary.

Usage: python scripts/check_questions.py [eval/questions.jsonl] [--corpus ../shared/corpus]

Checks: every line parses (ids unique, stored split equal to ``split_of``), every gold page and
evidence page exists in the corpus, every evidence page is a gold page, every evidence sentence
occurs in its page (both sides compared after ``normalize_text``: markup stripped, quotes and
whitespace normalized), answerable questions other than the dev ones have evidence, key facts and a
kind, unanswerable ones have no gold pages, and each term listed in an unanswerable question's
``absent`` field occurs nowhere in the corpus (case-insensitive, as a whole word or phrase). Exit
status 1 when anything fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from alignment_qa.eval.questions import DEV_PREFIX, load_questions, normalize_text

REPO = Path(__file__).resolve().parents[1]
COMPARISON_KINDS = {"comparison", "multi_page"}


def corpus_pages(corpus: Path) -> dict[str, str]:
    """Page id (POSIX path relative to ``corpus``) -> normalized text, for .md and .txt pages."""
    return {
        path.relative_to(corpus).as_posix(): normalize_text(path.read_text(encoding="utf-8"))
        for path in sorted(corpus.rglob("*"))
        if path.suffix in (".md", ".txt") and path.is_file()
    }


def check(questions_path: Path, corpus: Path) -> tuple[list[str], dict[str, object]]:
    """The failures (one line each) and the summary counts."""
    failures: list[str] = []
    parsed = load_questions(questions_path)
    failures += [f"line {line}: {reason}" for line, reason in parsed.problems]
    raw = [json.loads(line) for line in questions_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    raw_by_id = {row.get("id"): row for row in raw if isinstance(row, dict)}
    pages = corpus_pages(corpus)
    lowered = "\n".join(pages.values()).lower()
    for question in parsed.questions:
        row = raw_by_id.get(question.id, {})
        where = question.id
        if "split" not in row:
            failures.append(f"{where}: no stored split")
        for page in question.gold_pages:
            if page not in pages:
                failures.append(f"{where}: gold page {page} is not in the corpus")
        for item in question.evidence:
            if item.page not in question.gold_pages:
                failures.append(f"{where}: evidence page {item.page} is not a gold page")
            text = pages.get(item.page)
            if text is None:
                failures.append(f"{where}: evidence page {item.page} is not in the corpus")
            elif normalize_text(item.text) not in text:
                failures.append(f"{where}: evidence not found in {item.page}: {item.text[:80]!r}")
        if any(not turn.strip() for turn in question.history):
            failures.append(f"{where}: an empty history turn")
        if question.answerable:
            if not question.gold_pages:
                failures.append(f"{where}: answerable without gold pages")
            if not question.id.startswith(DEV_PREFIX):
                if not question.evidence:
                    failures.append(f"{where}: answerable without evidence")
                if not question.key_facts:
                    failures.append(f"{where}: answerable without key facts")
                if not question.kind:
                    failures.append(f"{where}: no kind")
        else:
            if question.gold_pages or question.evidence:
                failures.append(f"{where}: unanswerable but has gold pages or evidence")
            for term in row.get("absent", []):
                if re.search(rf"(?<!\w){re.escape(normalize_text(term).lower())}(?!\w)", lowered):
                    failures.append(f"{where}: the 'absent' term {term!r} occurs in the corpus")
    covered = {page for question in parsed.questions for page in question.gold_pages}
    new = [q for q in parsed.questions if not q.id.startswith(DEV_PREFIX)]
    summary: dict[str, object] = {
        "questions": len(parsed.questions),
        "new (not dev)": len(new),
        "unanswerable": sum(not q.answerable for q in parsed.questions),
        "near misses": sum(q.kind == "near_miss" for q in parsed.questions),
        "comparison or multi-page": sum(q.kind in COMPARISON_KINDS or len(q.gold_pages) > 1 for q in parsed.questions),
        "follow-ups with history": sum(bool(q.history) for q in parsed.questions),
        "with evidence": sum(bool(q.evidence) for q in parsed.questions),
        "splits": dict(Counter(q.split_name for q in parsed.questions)),
        "kinds": dict(Counter(q.kind or "?" for q in parsed.questions)),
        "pages without a question": sorted(set(pages) - covered),
    }
    return failures, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="?", type=Path, default=REPO / "eval" / "questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    args = parser.parse_args(argv)
    if not args.questions.is_file() or not args.corpus.is_dir():
        print(f"error: need a question file ({args.questions}) and a corpus folder ({args.corpus})", file=sys.stderr)
        return 2
    failures, summary = check(args.questions, args.corpus)
    for failure in failures:
        print(f"FAIL {failure}")
    for key, value in summary.items():
        print(f"{key}: {value}")
    print(f"{len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
