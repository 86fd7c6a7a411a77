"""Terminal output for the CLI: progress bars, summaries, tables. Formatting only, no logic.

Text that comes from the corpus (titles, snippets) is printed without rich markup, so a page
cannot restyle the terminal.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from alignment_qa.engine.answer import Answer, RetrievedPassage
from alignment_qa.engine.citations import CitedSentence, format_sentence
from alignment_qa.ingest.pipeline import IngestSummary

SNIPPET_CHARS = 220


class RichProgress:
    """A ``ProgressReporter`` drawing one bar per phase on a terminal (silent otherwise)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    def start(self, phase: str, total: int) -> None:
        self._task = self._progress.add_task(phase, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        if self._task is not None:
            task = self._task
            self._progress.update(task, completed=self._progress.tasks[task].total)
        self._task = None


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """One line of at most ``limit`` characters, cut at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def passage_as_dict(passage: RetrievedPassage) -> dict[str, Any]:
    """A retrieved passage for `search --json`."""
    return passage.model_dump(mode="json")


def print_passages(console: Console, query: str, passages: list[RetrievedPassage]) -> None:
    if not passages:
        console.print("No passages found.")
        return
    table = Table(title=f"Top {len(passages)} passages for: {escape(query)}", show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("scores", justify="right", no_wrap=True)
    table.add_column("page / section", ratio=1, overflow="fold")
    table.add_column("snippet", ratio=2)
    for passage in passages:
        where = f"{passage.title}\n{passage.section or '(introduction)'}\n{passage.page_id}"
        if passage.anchor:
            where += f"#{passage.anchor}"
        scores = f"fused {passage.score:.4f}"
        if passage.dense_score is not None:
            scores += f"\ncosine {passage.dense_score:.3f}"
        if passage.keyword_score is not None:
            scores += f"\nbm25 {passage.keyword_score:.2f}"
        table.add_row(str(passage.rank), scores, escape(where), escape(snippet(passage.text)))
    console.print(table)


def _page_link(page_id: str, anchor: str) -> str:
    return f"{page_id}#{anchor}" if anchor else page_id


def print_answer(console: Console, answer: Answer) -> None:
    """The answer (unsupported sentences marked), its notice and the numbered sources."""
    if answer.notice:
        console.print(f"[yellow]Note:[/yellow] {escape(answer.notice)}")
    if answer.covered and answer.mode == "evidence":
        console.print("[dim]Quoted evidence from the pages (no language model):[/dim]")
    if answer.sentences:
        for sentence in answer.sentences:
            line = escape(format_sentence(CitedSentence(sentence.text, sentence.citations)))
            if sentence.supported:
                console.print(line)
            else:
                console.print(f"[yellow]{line} (not supported by its sources)[/yellow]")
    else:
        console.print(escape(answer.shown_text))  # a decline's nearest pages are listed below
    if answer.citations:
        console.print("\n[bold]Sources[/bold]")
        for citation in answer.citations:
            console.print(
                f"[{citation.n}] {escape(citation.title)} — {escape(citation.section)}\n"
                f"    {escape(_page_link(citation.page_id, citation.anchor))}"
                + (f"  {escape(citation.url)}" if citation.url else "")
                + f"\n    [dim]“{escape(snippet(citation.quote, 300))}”[/dim]",
                highlight=False,
            )
    elif answer.nearest_pages:
        console.print("\n[bold]Nearest pages[/bold]")
        for passage in answer.nearest_pages:
            console.print(f"- {escape(passage.title)} — {escape(passage.section)} ({escape(passage.page_id)})")


def print_ingest_summary(console: Console, summary: IngestSummary, location: str) -> None:
    console.print(
        f"Ingest finished in {summary.seconds:.1f} s: {len(summary.added)} added, "
        f"{len(summary.updated)} updated, {len(summary.removed)} removed, "
        f"{len(summary.unchanged)} unchanged, {len(summary.skipped)} skipped.",
        highlight=False,
    )
    console.print(
        f"Chunks written: {summary.chunks_written} ({summary.chunks_embedded} embedded, "
        f"{summary.chunks_written - summary.chunks_embedded} unchanged vectors reused); "
        f"chunks in the index: {summary.chunks_total} ({escape(location)}).",
        highlight=False,
    )
    if summary.sentence_pages:
        console.print(
            f"Sentence vectors stored for {summary.sentence_pages} page(s): {summary.sentences_embedded} "
            "new (from their chunks' model pass), the others already stored.",
            highlight=False,
        )
    if summary.skipped:
        console.print(f"Skipped {len(summary.skipped)} file(s):", highlight=False)
        for item in summary.skipped:
            console.print(f"  {escape(item.path)}: {escape(item.reason)}", highlight=False)
    if summary.warnings:
        console.print(f"Warnings for {len(summary.warnings)} page(s):", highlight=False)
        for warning in summary.warnings:
            console.print(f"  {escape(warning.page_id)}: {escape(warning.reason)}", highlight=False)


def print_stats(console: Console, info: dict[str, Any]) -> None:
    last = info.get("last_ingest") or "never"
    rows = [
        ("Pages", str(info["pages"])),
        ("Chunks", str(info["chunks"])),
        ("Embedding model", f"{info['embed_model']} (dimension {info['embed_dim']})"),
        ("Store", str(info["store"])),
        ("Last ingest", str(last)),
    ]
    summary = info.get("last_ingest_summary") or {}
    if summary:
        rows.append(("Last ingest did", ", ".join(f"{key} {value}" for key, value in summary.items())))
    if info.get("incomplete_pages"):
        rows.append(("Incomplete pages", ", ".join(info["incomplete_pages"]) + " (run ingest again)"))
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, escape(value))
    console.print(table)


def print_no_index(console: Console, location: str) -> None:
    console.print(
        f"No index yet at {escape(location)}.\n"
        "Add pages with: alignment-qa ingest PATH  (for example: alignment-qa ingest sample-corpus)",
        highlight=False,
    )


def print_config(console: Console, values: dict[str, Any], sources: dict[str, str], config_file: Path | None) -> None:
    table = Table(title=f"Effective settings (config file: {config_file or 'none'})")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from")
    for key, value in values.items():
        table.add_row(key, escape(str(value)), escape(sources[key]))
    console.print(table)


EVAL_HEADLINE = [
    "hit@1",
    "hit@5",
    "hit@10",
    "mrr",
    "ndcg@5",
    "citation_recall",
    "citation_precision",
    "faithfulness",
    "fallback_rate",
    "key_fact_recall",
    "evidence_in_answer",
    "evidence_retrieved",
    "abstention_accuracy",
    "false_abstention_rate",
    "latency_p50_ms",
    "latency_p95_ms",
]
BREAKDOWN_COLUMNS = [  # eval: per kind and per split (summary.json "by_kind" / "by_split"), short headers
    ("hit@5", "hit@5"),
    ("mrr", "MRR"),
    ("evidence_in_answer", "ev.ans"),
    ("evidence_retrieved", "ev.ret"),
    ("key_fact_recall", "facts"),
    ("abstention_accuracy", "abst"),
    ("false_abstention_rate", "f-abst"),
]


def print_eval_summary(
    console: Console, summary: dict[str, Any], comparison: list[dict[str, Any]] | None, out: Path
) -> None:
    """The headline metrics with their intervals (and the baseline's differences), the judge, the files."""
    table = Table(title="Evaluation", title_justify="left")
    for column in ("metric", "value", "95% interval", "n"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    if comparison is not None:
        table.add_column("baseline", justify="right")
        table.add_column("change", justify="right")
    changes = {row["metric"]: row for row in comparison or []}
    metrics, intervals = summary["metrics"], summary["intervals"]
    for metric in (m for m in EVAL_HEADLINE if metrics.get(m) is not None):
        interval = intervals.get(metric)
        digits = 0 if metric.startswith("latency") else 3
        cells = [
            metric,
            f"{metrics[metric]:.{digits}f}",
            f"{interval['low']:.3f} – {interval['high']:.3f}" if interval else "",
            str(interval["n"]) if interval else "",
        ]
        row = changes.get(metric)
        if comparison is not None and row is not None:
            style = {"better": "green", "worse": "red"}.get(row["verdict"], "default")
            cells += [f"{row['baseline']:.{digits}f}", f"[{style}]{row['delta']:+.{digits}f}[/]"]
        elif comparison is not None:
            cells += ["", ""]
        table.add_row(*cells)
    console.print(table)
    judge = summary["judge"]
    calibration = judge["calibration"]
    low, high = calibration["ci95"]
    console.print(
        f"Judge: {escape(judge['name'])}, threshold {judge['threshold']}; balanced accuracy on "
        f"{calibration['pairs']} hand-labelled pairs {calibration['balanced_accuracy']:.3f} ({low:.3f} – {high:.3f})."
    )
    counts = summary["counts"]
    if summary["mode"] == "evidence":
        console.print("Evidence mode quotes verbatim: citation and faithfulness figures are 1 by construction.")
    console.print(
        f"{counts['scored']} of {counts['questions']} questions scored; mode {summary['mode']}; corpus fingerprint "
        f"{summary['corpus']['fingerprint']}."
    )
    for key, title in (("by_kind", "By question kind"), ("by_split", "By split")):
        if summary.get(key):
            console.print(eval_breakdown_table(title, summary[key]))
    console.print(f"Wrote {escape(str(out))}/results.jsonl, summary.json and report.html.")


def eval_breakdown_table(title: str, groups: dict[str, Any]) -> Table:
    """One row per group (kind or split): its question count and each metric's mean ("–": not measured in it).
    ev.ans / ev.ret: evidence_in_answer / _retrieved; abst / f-abst: abstention accuracy / false abstention rate."""
    table = Table(title=title, title_justify="left")
    table.add_column("group", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    for _, header in BREAKDOWN_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for name, row in groups.items():
        cells = [escape(name), str(row["questions"])]
        for metric, _ in BREAKDOWN_COLUMNS:
            value = row.get(metric)
            cells.append(f"{value['mean']:.2f}" if value else "–")
        table.add_row(*cells)
    return table
