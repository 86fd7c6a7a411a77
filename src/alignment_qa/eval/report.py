"""Write an evaluation's files: ``results.jsonl``, ``summary.json`` and ``report.html``.

The HTML page is self-contained (inline CSS and SVG, nothing fetched): the headline table with
intervals and the baseline's differences, the main metrics per question kind and per split, the
judge and its calibration, charts (hit@k, support scores, latency), the worst questions with
their answers and sources, and every metric's formula. All question, answer and corpus text is
escaped. Computing the numbers is left to ``summary``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from alignment_qa.eval.charts import histogram, line_chart
from alignment_qa.eval.runner import K_VALUES, QuestionResult

WORST = 10
HEADLINE = [
    "hit@1",
    "hit@5",
    "hit@10",
    "mrr",
    "ndcg@5",
    "recall@5",
    "citation_recall",
    "citation_precision",
    "faithfulness",
    "no_citation_rate",
    "outside_citation_rate",
    "fallback_rate",
    "key_fact_recall",
    "evidence_in_answer",
    "evidence_retrieved",
    "abstention_accuracy",
    "false_abstention_rate",
    "answer_chars_mean",
    "latency_p50_ms",
    "latency_p95_ms",
    "judge_balanced_accuracy",
]

CSS = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.better { color: #17803d; } .worse { color: #c53030; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; }
.question { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.unsupported { text-decoration: underline wavy #d33; }
.gold { font-weight: 600; color: #17803d; }
.note { color: #555; font-size: 0.9em; }
code { background: #f4f4f4; padding: 0 3px; }
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def quality(result: QuestionResult) -> float:
    """How well one question went (lower is worse): the mean of its scores in [0, 1], continuous ones
    (MRR, nDCG@5, the cited passages' mean support) included so that ties are rare."""
    values = result.metrics
    keys = ("mrr", "ndcg@5", "citation_recall", "faithfulness", "key_fact_recall", "evidence_in_answer")
    parts = [values[key] for key in keys if key in values]
    if result.check and result.check.sentences:
        cited = [s.joint_score or 0.0 for s in result.check.sentences]
        parts.append(sum(cited) / len(cited))
    if "abstention" in values:
        parts.append(values["abstention"])
    if "false_abstention" in values:
        parts.append(1 - values["false_abstention"])
    return sum(parts) / len(parts) if parts else 1.0


def write_results(results: list[QuestionResult], out: Path) -> None:
    with (out / "results.jsonl").open("w", encoding="utf-8") as handle:
        for result in results:
            handle.write(json.dumps(result.as_row(), ensure_ascii=False) + "\n")


def write_summary(summary: dict[str, Any], out: Path) -> None:
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _headline(summary: dict[str, Any], comparison: list[dict[str, Any]] | None) -> str:
    by_metric = {row["metric"]: row for row in comparison or []}
    head = "<tr><th>Metric</th><th>Value</th><th>95% interval</th><th>n</th>"
    head += "<th>Baseline</th><th>Change</th></tr>" if comparison is not None else "</tr>"
    rows = [head]
    metrics, intervals = summary["metrics"], summary["intervals"]
    for metric in [m for m in HEADLINE if m in metrics] + sorted(set(metrics) - set(HEADLINE)):
        if metrics[metric] is None:
            rows.append(f"<tr><td>{_esc(metric)}</td><td class=num>not measured</td></tr>")
            continue
        interval = intervals.get(metric)
        span = f"{_fmt(interval['low'])} – {_fmt(interval['high'])}" if interval else ""
        n = interval["n"] if interval else ""
        cells = f"<td>{_esc(metric)}</td><td class=num>{_fmt(metrics[metric])}</td><td class=num>{span}</td>"
        cells += f"<td class=num>{n}</td>"
        if comparison is not None:
            row = by_metric.get(metric)
            if row:
                cells += f"<td class=num>{_fmt(row['baseline'])}</td>"
                cells += f"<td class='num {row['verdict']}'>{row['delta']:+.4g} ({row['verdict']})</td>"
            else:
                cells += "<td></td><td></td>"
        rows.append(f"<tr>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"


BREAKDOWN_COLUMNS = [
    ("hit@5", "hit@5"),
    ("mrr", "MRR"),
    ("evidence_in_answer", "evidence in answer"),
    ("evidence_retrieved", "evidence retrieved"),
    ("key_fact_recall", "key-fact recall"),
    ("abstention_accuracy", "declined (unanswerable)"),
    ("false_abstention_rate", "declined (answerable)"),
]


def _breakdown(groups: dict[str, Any], label: str) -> str:
    """A table with one row per group: its question count and each metric's mean (n)."""
    head = f"<tr><th>{_esc(label)}</th><th>Questions</th>" + "".join(f"<th>{h}</th>" for _, h in BREAKDOWN_COLUMNS)
    rows = [head + "</tr>"]
    for name, row in groups.items():
        cells = f"<td>{_esc(name)}</td><td class=num>{row['questions']}</td>"
        for metric, _ in BREAKDOWN_COLUMNS:
            value = row.get(metric)
            cells += f"<td class=num>{value['mean']:.2f} ({value['n']})</td>" if value else "<td class=num>–</td>"
        rows.append(f"<tr>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _judge(summary: dict[str, Any]) -> str:
    judge = summary["judge"]
    calibration = judge["calibration"]
    low, high = calibration["ci95"]
    settings = ", ".join(f"{key} = {value}" for key, value in judge.items() if key not in ("name", "calibration"))
    kinds = "".join(
        f"<tr><td>{_esc(kind)}</td><td class=num>{row['agreed']} / {row['pairs']}</td>"
        f"<td class=num>{row['accuracy']:.2f}</td></tr>"
        for kind, row in calibration["accuracy_by_kind"].items()
    )
    return (
        f"<p>Every support decision is made by <b>{_esc(judge['name'])}</b> ({_esc(settings)}).</p>"
        f"<p>On the {calibration['pairs']} held-out hand-labelled pairs shipped with the package its balanced "
        f"accuracy is <b>{calibration['balanced_accuracy']:.3f}</b> (95% interval {low:.3f} – {high:.3f}): read "
        "every citation and faithfulness figure with that error rate in mind.</p>"
        f"<table><tr><th>Kind of sentence</th><th>Agreed with the label</th><th>Accuracy</th></tr>{kinds}</table>"
    )


def _charts(results: list[QuestionResult], summary: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    metrics = summary["metrics"]
    curve = [(float(k), metrics[f"hit@{k}"]) for k in K_VALUES if metrics.get(f"hit@{k}") is not None]
    series = [("this run", curve)]
    if baseline:
        old = baseline.get("metrics", {})
        series.append(("baseline", [(float(k), old[f"hit@{k}"]) for k in K_VALUES if old.get(f"hit@{k}") is not None]))
    threshold = summary["thresholds"]["support_threshold"]
    scored = [result for result in results if result.check]
    best = [s.best_retrieved_score for r in scored for s in r.check.sentences]  # type: ignore[union-attr]
    cited = [s.joint_score for r in scored for s in r.check.sentences if s.joint_score is not None]  # type: ignore[union-attr]
    latencies = [result.latency_ms for result in results if result.error is None]
    markers = [(f"p50 {metrics['latency_p50_ms']:.0f}", metrics["latency_p50_ms"])] if latencies else []
    if latencies:
        markers.append((f"p95 {metrics['latency_p95_ms']:.0f}", metrics["latency_p95_ms"]))
    charts = [
        line_chart("Page-level hit@k", series, "k (pages)", "hit@k") if curve else "",
        histogram(
            "Support of each sentence by its cited passages",
            cited,
            "support score",
            20,
            (0, 1),
            [("threshold", threshold)],
        ),
        histogram(
            "Best support of each sentence by any retrieved passage",
            best,
            "support score",
            20,
            (0, 1),
            [("threshold", threshold)],
        ),
        histogram("Answer latency", latencies, "milliseconds", 20, None, markers),
    ]
    captions = [
        "Page-level hit@k (dashed: the baseline)",
        "Support of each sentence by its cited passages",
        "Best support of each sentence by any retrieved passage",
        "Answer latency (ms)",
    ]
    figures = [
        f"<figure>{chart}<figcaption class=note>{caption}</figcaption></figure>"
        for chart, caption in zip(charts, captions, strict=True)
        if chart
    ]
    return '<div class="charts">' + "".join(figures) + "</div>"


def _question(result: QuestionResult) -> str:
    question = result.question
    gold = set(question.gold_pages)
    parts = [f"<h3>{_esc(question.id)}: {_esc(question.question)}</h3>"]
    facts = f"; key facts: {_esc(' | '.join(question.key_facts))}" if question.key_facts else ""
    kind = f"{_esc(question.kind)}, " if question.kind else ""
    parts.append(
        f"<p class=note>{kind}{'answerable' if question.answerable else 'not answerable'}; gold pages: "
        f"{_esc(', '.join(question.gold_pages) or 'none')}{facts}; quality {quality(result):.2f}</p>"
    )
    if question.history:
        parts.append(f"<p class=note>Earlier turns: {_esc(' | '.join(question.history))}</p>")
    if question.evidence:
        items = "".join(f"<li>{_esc(item.text)} (<code>{_esc(item.page)}</code>)</li>" for item in question.evidence)
        parts.append(f"<p class=note>Evidence sentences:</p><ul class=note>{items}</ul>")
    if result.error:
        parts.append(f"<p><b>Error:</b> {_esc(result.error)}</p>")
        return "<div class=question>" + "".join(parts) + "</div>"
    ranked = ", ".join(
        f"<span class=gold>{rank}. {_esc(page)}</span>" if page in gold else f"{rank}. {_esc(page)}"
        for rank, page in enumerate(result.ranked_pages, 1)
    )
    parts.append(f"<p><b>Ranked pages:</b> {ranked}</p>")
    answer = result.answer
    assert answer is not None
    if result.check and result.check.sentences:
        sentences = []
        reasons = [sentence.reason for sentence in answer.sentences]  # the judge's reason, sentence by sentence
        for index, check in enumerate(result.check.sentences):
            marks = "".join(f"[{n}]" for n in check.citations)
            css = "" if check.cited_supported else " class=unsupported"
            score = "–" if check.joint_score is None else f"{check.joint_score:.2f}"
            why = reasons[index] if index < len(reasons) and not check.cited_supported else ""
            note = f" <span class=note>(unsupported: {_esc(why)})</span>" if why else ""
            sentences.append(f"<span{css} title='cited support {score}'>{_esc(check.text)} {marks}</span>{note}")
        parts.append("<p><b>Answer:</b> " + " ".join(sentences) + "</p>")
    else:
        parts.append(f"<p><b>Answer:</b> {_esc(answer.text)}</p>")
    if answer.notice:
        parts.append(f"<p class=note>Notice: {_esc(answer.notice)}</p>")
    if answer.citations:
        items = "".join(
            f"<li>[{c.n}] {_esc(c.title)} — {_esc(c.section)} (<code>{_esc(c.page_id)}</code>)"
            f"<br><span class=note>{_esc(c.quote[:400])}</span></li>"
            for c in answer.citations
        )
        parts.append(f"<ul>{items}</ul>")
    values = ", ".join(f"{key} {value:.2f}" for key, value in sorted(result.metrics.items()) if key != "answer_chars")
    parts.append(f"<p class=note>{_esc(values)}; {result.latency_ms:.0f} ms</p>")
    return "<div class=question>" + "".join(parts) + "</div>"


def render_html(
    results: list[QuestionResult],
    summary: dict[str, Any],
    baseline: dict[str, Any] | None = None,
    comparison: list[dict[str, Any]] | None = None,
) -> str:
    """The report page."""
    counts = summary["counts"]
    worst = sorted((r for r in results), key=lambda r: (r.error is None, quality(r), r.question.id))[:WORST]
    skipped = "".join(f"<li>line {row['line']}: {_esc(row['reason'])}</li>" for row in counts["skipped_lines"])
    definitions = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in summary["definitions"].items())
    corpus = summary["corpus"]
    sections = [
        "<!doctype html><html><head><meta charset=utf-8><title>alignment-qa evaluation</title>"
        f"<style>{CSS}</style></head><body>",
        "<h1>alignment-qa evaluation</h1>",
        f"<p class=note>{counts['questions']} questions ({counts['answerable']} answerable, "
        f"{counts['unanswerable']} not), {counts['scored']} scored; mode <b>{_esc(summary['mode'])}</b>; corpus "
        f"{_esc(corpus.get('path', ''))} ({corpus.get('pages')} pages, fingerprint <code>{_esc(corpus['fingerprint'])}"
        f"</code>); questions <code>{_esc(summary['questions_file']['path'])}</code>; code "
        f"{_esc(summary['code_version'])}; {_esc(summary['created'])}.</p>",
        "<h2>Headline</h2>",
        _headline(summary, comparison),
        "<p class=note>Means over questions with bootstrap 95% intervals "
        f"({summary['bootstrap']['samples']} resamples, seed {summary['bootstrap']['seed']}).</p>",
    ]
    if baseline is not None:
        sections.append(
            f"<p class=note>Baseline: code {_esc(baseline.get('code_version', '?'))}, "
            f"{_esc(baseline.get('created', '?'))}, corpus fingerprint "
            f"<code>{_esc(baseline.get('corpus', {}).get('fingerprint', '?'))}</code>.</p>"
        )
        notes = summary.get("baseline", {}).get("notes", [])
        if notes:
            items = "".join(f"<li>{_esc(note)}</li>" for note in notes)
            sections.append(f"<p><b>Not like for like:</b></p><ul>{items}</ul>")
    if summary["mode"] == "evidence":
        sections.append(
            "<p class=note>Evidence mode quotes each sentence verbatim from the passage it cites, so citation "
            "recall, precision and faithfulness are 1 by construction here; they separate systems in the LLM "
            "modes. Retrieval, key-fact recall and abstention are the informative figures.</p>"
        )
    if counts["unknown_gold_pages"]:
        missing = ", ".join(counts["unknown_gold_pages"])
        sections.append(f"<p><b>Gold pages not in the index</b> (they can never be found): {_esc(missing)}</p>")
    sections += [
        *(
            f"<h2>{title}</h2>" + _breakdown(summary[key], label)
            for key, title, label in (("by_kind", "By question kind", "Kind"), ("by_split", "By split", "Split"))
            if summary.get(key)
        ),
        "<h2>The judge</h2>",
        _judge(summary),
        "<h2>Charts</h2>",
        _charts(results, summary, baseline),
        f"<h2>The {len(worst)} worst questions</h2>",
        "".join(_question(result) for result in worst),
    ]
    if skipped or counts["errors"]:
        errors = "".join(f"<li>{_esc(row['id'])}: {_esc(row['error'])}</li>" for row in counts["errors"])
        sections.append(f"<h2>Skipped lines and errors</h2><ul>{skipped}{errors}</ul>")
    sections += ["<h2>Definitions</h2>", f"<table>{definitions}</table>", "</body></html>"]
    return "\n".join(sections)


def write_report(
    results: list[QuestionResult],
    summary: dict[str, Any],
    out: Path,
    baseline: dict[str, Any] | None = None,
    comparison: list[dict[str, Any]] | None = None,
) -> None:
    """``results.jsonl``, ``summary.json`` and ``report.html`` in ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    write_results(results, out)
    write_summary(summary, out)
    (out / "report.html").write_text(render_html(results, summary, baseline, comparison), encoding="utf-8")
