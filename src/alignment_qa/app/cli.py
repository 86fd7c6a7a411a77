"""The ``alignment-qa`` command line: ingest, stats, search, ask, chat, serve, discord, feedback and config.

Global flags are the top settings layer (above TOML and env); ``--set key=value`` reaches any
setting. Core errors become one-line messages here (exit 2 for a usage problem such as a
missing path, 1 otherwise); Ctrl-C stops cleanly with exit 130. Output formatting lives in
``render``; the commands only wire settings, store, embedder and the ``Assistant`` together.
Logs go to stderr through the package's own logger (``alignment_qa``); the root logger is left alone.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from alignment_qa import __version__
from alignment_qa.app import render
from alignment_qa.errors import AlignmentQAError, ConfigError, InputPathError, InvalidQuestionError
from alignment_qa.settings import LoadedSettings, load_settings

if TYPE_CHECKING:
    from alignment_qa.engine.answer import Answer
    from alignment_qa.engine.assistant import Assistant

app = typer.Typer(
    name="alignment-qa",
    help="Citation-grounded question answering over AI-alignment pages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@dataclass
class CliState:
    """What the global flags said; settings are loaded from it when a command needs them."""

    config: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def load(self, **command_overrides: Any) -> LoadedSettings:
        given = {key: value for key, value in command_overrides.items() if value is not None}
        return load_settings(self.config, {**self.overrides, **given})


def _parse_set(items: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE, got '{item}'")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        parsed[key.strip()] = value
    return parsed


def _version(value: bool) -> None:
    if value:
        typer.echo(f"alignment-qa {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML settings file (default: ./alignment-qa.toml if present)."),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Folder for the embedded index (store.data_dir).")] = None,
    chroma_url: Annotated[str | None, typer.Option(help="Chroma server URL (store.chroma_url).")] = None,
    collection: Annotated[str | None, typer.Option(help="Chroma collection name (store.collection).")] = None,
    embed_model: Annotated[str | None, typer.Option(help="Embedding model name or folder (embedding.model).")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", "-s", help="Any setting as KEY=VALUE, e.g. -s ingest.max_file_mb=2.")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    overrides = _parse_set(set_ or [])
    overrides.update(
        {
            key: value
            for key, value in {
                "store.data_dir": data_dir,
                "store.chroma_url": chroma_url,
                "store.collection": collection,
                "embedding.model": embed_model,
            }.items()
            if value is not None
        }
    )
    ctx.obj = CliState(config=config, overrides=overrides)


def _state(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    return state if isinstance(state, CliState) else CliState()


def _services(loaded: LoadedSettings) -> tuple[LoadedSettings, Any, Any]:
    """The settings with ``auto`` pinned to the existing index's backend (``follow_index``), and the
    embedder and store they describe."""
    from alignment_qa.index.embedder import build_embedder, follow_index
    from alignment_qa.index.store import ChunkStore

    store = ChunkStore(loaded.settings.store)
    settings = follow_index(loaded.settings, store)
    return replace(loaded, settings=settings), build_embedder(settings), store


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="Folders (synced: removed pages leave the index) or single files.")
    ],
    rebuild: Annotated[bool, typer.Option(help="Delete the collection first and index everything again.")] = False,
    max_file_mb: Annotated[float | None, typer.Option(help="Skip files larger than this (ingest.max_file_mb).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Index the pages under PATHS, embedding only new or changed pages."""
    from alignment_qa.ingest.pipeline import ingest as run_ingest

    loaded = _state(ctx).load(**{"ingest.max_file_mb": max_file_mb})
    loaded, embedder, store = _services(loaded)
    console = Console(stderr=True)
    with render.RichProgress(console) as progress:
        summary = run_ingest(paths, loaded.settings, embedder, store, progress=progress, rebuild=rebuild)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        render.print_ingest_summary(Console(), summary, store.location)


@app.command()
def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what the index holds: pages, chunks, model, store location, last ingest."""
    loaded = _state(ctx).load()
    loaded, _, store = _services(loaded)
    collection = store.collection(loaded.settings.embedding.identity) if store.exists() else None
    if collection is None:
        render.print_no_index(Console(stderr=True), store.location)
        raise typer.Exit(1)
    info = collection.info()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
    else:
        render.print_stats(Console(), info)


def _open_assistant(loaded: LoadedSettings) -> Assistant:
    """The assistant over the configured index, or a friendly "no index yet" and exit 1."""
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.errors import NoIndexError

    loaded, embedder, store = _services(loaded)
    try:
        return Assistant.open(loaded.settings, embedder=embedder, store=store)
    except NoIndexError:
        render.print_no_index(Console(stderr=True), store.location)
        raise typer.Exit(1) from None


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int | None, typer.Option("-k", "--top-k", help="Number of passages (retrieval.top_k).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print passages as JSON.")] = False,
) -> None:
    """Hybrid search (dense + BM25): the passages an answer would use, with their scores."""
    loaded = _state(ctx).load(**{"retrieval.top_k": k})
    assistant = _open_assistant(loaded)
    passages = assistant.search(query, loaded.settings.retrieval.top_k)
    if as_json:
        typer.echo(json.dumps([render.passage_as_dict(passage) for passage in passages], indent=2))
    else:
        render.print_passages(Console(), query, passages)


ModeOption = Annotated[
    str | None, typer.Option("--mode", help="evidence (no LLM), llm (OpenAI-compatible endpoint) or llamacpp.")
]
TopKOption = Annotated[int | None, typer.Option("-k", "--top-k", help="Passages given to the answer.")]
LlmUrlOption = Annotated[str | None, typer.Option("--llm-url", help="OpenAI-compatible base URL (llm.base_url).")]
ModelOption = Annotated[str | None, typer.Option("--model", help="Model name at the endpoint (llm.model).")]


def _answer_settings(
    ctx: typer.Context, mode: str | None, k: int | None, llm_url: str | None, model: str | None
) -> LoadedSettings:
    if llm_url and mode is None:
        mode = "llm"
    return _state(ctx).load(**{"answer.mode": mode, "retrieval.top_k": k, "llm.base_url": llm_url, "llm.model": model})


def _run_question(assistant: Assistant, question: str, history: list[dict[str, str]], console: Console) -> Answer:
    """Ask, streaming LLM tokens to the terminal; returns the Answer."""
    from alignment_qa.engine.answer import AnswerEvent, StatusEvent, TokenEvent

    streamed = False
    answer = None
    for event in assistant.stream(question, history):
        if isinstance(event, TokenEvent) and console.is_terminal:
            console.print(event.text, end="", markup=False, highlight=False)
            streamed = True
        elif isinstance(event, StatusEvent) and console.is_terminal:
            console.print(f"[dim]{event.text}[/dim]")
        elif isinstance(event, AnswerEvent):
            answer = event.answer
    if answer is None:  # pragma: no cover - stream() always ends with an answer
        raise AlignmentQAError("the engine returned no answer")
    if streamed:
        console.print("\n[dim]Checked answer:[/dim]")
    render.print_answer(console, answer)
    return answer


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="Your question, in plain words.")],
    mode: ModeOption = None,
    k: TopKOption = None,
    llm_url: LlmUrlOption = None,
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full Answer as JSON.")] = False,
) -> None:
    """Answer a question with inline [n] citations and a numbered source list."""
    loaded = _answer_settings(ctx, mode, k, llm_url, model)
    assistant = _open_assistant(loaded)
    if as_json:
        typer.echo(assistant.ask(question).model_dump_json(indent=2))
        return
    _run_question(assistant, question, [], Console())


@app.command()
def chat(
    ctx: typer.Context,
    mode: ModeOption = None,
    k: TopKOption = None,
    llm_url: LlmUrlOption = None,
    model: ModelOption = None,
) -> None:
    """A terminal chat with history: follow-up questions use the earlier ones. /reset, /quit."""
    loaded = _answer_settings(ctx, mode, k, llm_url, model)
    assistant = _open_assistant(loaded)
    console = Console()
    history: list[dict[str, str]] = []
    console.print("Ask about the indexed pages. /reset forgets the conversation, /quit (or Ctrl-D) leaves.")
    while True:
        try:
            question = console.input("[bold]> [/bold]").strip()
        except EOFError:
            console.print()
            return
        if question in {"/quit", "/exit"}:
            return
        if question == "/reset":
            history.clear()
            console.print("[dim]Conversation forgotten.[/dim]")
            continue
        if not question:
            continue
        try:
            answer = _run_question(assistant, question, history, console)
        except AlignmentQAError as exc:  # a bad question or a store hiccup: say so and keep chatting
            console.print(f"[yellow]{escape(str(exc))}[/yellow]")
            continue
        history.extend([{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}])


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to bind (serve.host, default 127.0.0.1); others expose the app.")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (serve.port, default 7860).")] = None,
    auth_file: Annotated[
        Path | None, typer.Option(help="File of 'user:password' lines (serve.auth_file); or ALIGNMENT_QA_SERVE__AUTH.")
    ] = None,
) -> None:
    """Run the chat page and the HTTP API (/api/ask, /api/ask/stream, /api/health, /api/stats, /openapi.json),
    and the OpenAI-compatible /v1/chat/completions and /v1/models."""
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.errors import NoIndexError
    from alignment_qa.extras import check_extra

    check_extra("gradio", "ui", "The web UI")  # imported while the page is built, after the API answers
    import uvicorn

    from alignment_qa.app.serve_protocol import deadline_protocol
    from alignment_qa.app.web import LOOPBACK, create_app, load_logins

    loaded = _state(ctx).load(**{"serve.host": host, "serve.port": port, "serve.auth_file": auth_file})
    serve_settings = loaded.settings.serve
    logins = load_logins(loaded.settings)  # a malformed login file fails before the model loads
    err = Console(stderr=True)
    if serve_settings.host not in LOOPBACK and not logins:
        err.print(f"warning: serving on {serve_settings.host} without a login; anyone who can reach it can use it.")
    if serve_settings.host in ("0.0.0.0", "::") and not serve_settings.allowed_hosts:
        err.print(
            "note: only requests for 127.0.0.1, localhost or ::1 are answered; add the names clients use "
            "to serve.allowed_hosts (e.g. ALIGNMENT_QA_SERVE__ALLOWED_HOSTS='[\"qa.example.org\"]').",
            markup=False,
        )
    loaded, embedder, store = _services(loaded)
    try:
        assistant: Assistant | None = Assistant.open(loaded.settings, embedder=embedder, store=store)
    except NoIndexError:
        assistant = None  # the page explains how to add pages
    app_ = create_app(assistant, loaded.settings, embedder, page_later=True)  # the API answers while it builds
    where = f"http://{serve_settings.host}:{serve_settings.port}/"
    err.print(f"alignment-qa is serving {where} (API schema at /openapi.json). Ctrl-C stops it.")
    uvicorn.run(
        app_,
        host=serve_settings.host,
        port=serve_settings.port,
        log_level="warning",
        limit_concurrency=serve_settings.max_connections,
        timeout_keep_alive=max(1, round(serve_settings.keep_alive_s)),
        http=deadline_protocol(serve_settings.header_timeout_s, serve_settings.body_timeout_s),
    )


@app.command("mcp")
def mcp_command(
    ctx: typer.Context,
    http: Annotated[bool, typer.Option("--http", help="Streamable HTTP on 127.0.0.1 (/mcp), not stdio.")] = False,
    port: Annotated[int, typer.Option(help="Port for --http.", min=1, max=65535)] = 8765,
) -> None:
    """Run the Model Context Protocol server (tools ask, search, get_page; the page list) for agents and IDEs."""
    from alignment_qa.extras import require_extra

    require_extra("mcp.server.mcpserver", "mcp", "The MCP server")
    from alignment_qa.app import mcp_server

    assistant = _open_assistant_or_none(_state(ctx).load())
    where = f"http://127.0.0.1:{port}/mcp" if http else "stdio"
    Console(stderr=True).print(f"alignment-qa MCP server on {where}. Ctrl-C stops it.", markup=False)
    mcp_server.run(assistant, http=http, port=port)


def _open_assistant_or_none(loaded: LoadedSettings) -> Assistant | None:
    """The assistant, or ``None`` (with a note on stderr) when there is no index yet."""
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.errors import NoIndexError

    loaded, embedder, store = _services(loaded)
    try:
        return Assistant.open(loaded.settings, embedder=embedder, store=store)
    except NoIndexError as exc:
        Console(stderr=True).print(f"note: {exc}; the tools will say so.", markup=False)
        return None


@app.command("discord")
def discord_bot(
    ctx: typer.Context,
    api_url: Annotated[
        str | None,
        typer.Option(help="Answer through this alignment-qa server's API (discord.api_url) instead of in-process."),
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="File holding the bot token (discord.token_file); default: $DISCORD_TOKEN.")
    ] = None,
) -> None:
    """Run the Discord bot: /ask and @mentions answered with [n] citations, follow-ups in its threads."""
    from alignment_qa.extras import require_extra

    require_extra("discord", "discord", "The Discord bot")
    from alignment_qa.app.discord_bot.answers import AnswerSource, ApiAnswers, LocalAnswers
    from alignment_qa.app.discord_bot.bot import NoVoiceWarnings, run_bot
    from alignment_qa.app.discord_bot.credentials import RedactSecret, resolve_token

    loaded = _state(ctx).load(**{"discord.api_url": api_url, "discord.token_file": token_file})
    settings = loaded.settings.discord
    token = resolve_token(settings)  # no token: say so before loading anything
    stamped = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    _log_to_stderr(stamped, logging.INFO, RedactSecret(token), NoVoiceWarnings(), loggers=(PACKAGE_LOGGER, "discord"))
    err = Console(stderr=True)
    source: AnswerSource
    if settings.api_url:
        auth = settings.api_auth.get_secret_value() if settings.api_auth else None
        api = ApiAnswers(settings.api_url, auth, settings.api_timeout_s)
        problem = api.check()
        if problem:
            err.print(f"warning: {problem}; the bot will say so to anyone who asks until it is fixed.", markup=False)
        source = api
    else:
        source = LocalAnswers(_open_assistant(loaded))
    err.print(f"Connecting to Discord; answering from {source.describe()}. Ctrl-C stops the bot.", markup=False)
    try:
        run_bot(settings, source, token)
    except KeyboardInterrupt:
        err.print("The bot has stopped.")
    finally:
        if isinstance(source, ApiAnswers):
            source.close()  # the API client's open connections


def _thresholds(items: list[str] | None, flag: str) -> dict[str, float]:
    """``METRIC=VALUE`` gates; ``ConfigError`` for an unknown metric, a value that is not a finite
    number, or a gate pointing the wrong way (``--fail-under`` on a lower-is-better metric)."""
    import math

    from alignment_qa.eval.summary import METRICS, direction

    parsed: dict[str, float] = {}
    for item in items or []:
        metric, sep, raw = item.partition("=")
        metric = metric.strip()
        if not sep or metric not in METRICS:
            raise ConfigError(f"{flag} expects METRIC=VALUE with a metric among: {', '.join(METRICS)}; got '{item}'")
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{flag} {metric}: '{raw}' is not a number") from None
        if not math.isfinite(value):
            raise ConfigError(f"{flag} {metric}: '{raw}' is not a finite number")
        wanted = "higher" if flag == "--fail-under" else "lower"
        if direction(metric) not in (wanted, "neutral"):
            other = "--fail-over" if flag == "--fail-under" else "--fail-under"
            raise ConfigError(f"{metric} is better when {direction(metric)}: gate it with {other}")
        parsed[metric] = value
    return parsed


@app.command("eval")
def evaluate_command(
    ctx: typer.Context,
    questions: Annotated[Path, typer.Argument(help="Question file (JSONL): id, question, gold_pages, answerable...")],
    corpus: Annotated[
        Path | None,
        typer.Option(help="Index this folder first (its own collection; gold_pages are relative to it)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for results.jsonl, summary.json, report.html.")] = Path(
        "eval-report"
    ),
    mode: ModeOption = None,
    baseline: Annotated[
        Path | None, typer.Option(help="An earlier summary.json: the report shows the differences.")
    ] = None,
    fail_under: Annotated[
        list[str] | None, typer.Option(help="METRIC=VALUE: exit 1 when the metric is below VALUE (repeatable).")
    ] = None,
    fail_over: Annotated[
        list[str] | None,
        typer.Option(help="METRIC=VALUE: exit 1 when the metric is above VALUE, for lower-is-better metrics."),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(help="Support judge: structured, similarity, nli (support.nli_model) or llm (llm.base_url)."),
    ] = None,
    llm_url: LlmUrlOption = None,
    model: ModelOption = None,
    split: Annotated[
        str | None, typer.Option(help="Run only this split of the questions: tune or test (see eval/questions.py).")
    ] = None,
) -> None:
    """Score retrieval, citations, faithfulness and abstention on a question set, offline; write a report."""
    from alignment_qa.eval.evaluate import evaluate, load_baseline
    from alignment_qa.eval.summary import threshold_failures

    under, over = _thresholds(fail_under, "--fail-under"), _thresholds(fail_over, "--fail-over")
    loaded = _state(ctx).load(
        **{"answer.mode": mode, "llm.base_url": llm_url, "llm.model": model, "support.judge": judge}
    )
    old = load_baseline(baseline) if baseline else None
    loaded, embedder, _ = _services(loaded)
    err = Console(stderr=True)
    with render.RichProgress(err) as progress:
        run = evaluate(
            loaded.settings, questions, out, embedder, corpus, loaded.settings.answer.mode, old, progress, split
        )
    warnings = [f"{questions}:{line} skipped: {reason}" for line, reason in run.skipped_lines]
    counts = run.summary["counts"]
    warnings += [f"question {row['id']} failed: {row['error']}" for row in counts["errors"]]
    if counts["unknown_gold_pages"]:
        warnings.append(f"gold pages not in the index (never found): {', '.join(counts['unknown_gold_pages'])}")
    warnings += run.summary.get("baseline", {}).get("notes", [])
    for warning in warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    render.print_eval_summary(Console(), run.summary, run.comparison, out)
    failures = threshold_failures(run.summary["metrics"], under, over)
    if (under or over) and counts["errors"]:  # a gate must not pass on the questions that happened to work
        failures.append(f"{len(counts['errors'])} question(s) could not be scored")
    for failure in failures:
        err.print(f"FAIL: {failure}", markup=False, highlight=False, soft_wrap=True)
    if failures:
        raise typer.Exit(1)


feedback_app = typer.Typer(help="Answer feedback collected by the chat page.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
def feedback_export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="JSONL file to write (one feedback record a line).")],
) -> None:
    """Write every thumbs up/down and wrong-source flag, with question, answer and settings, as JSONL."""
    from alignment_qa.app.feedback import FeedbackStore

    settings = _state(ctx).load().settings
    store = FeedbackStore.for_settings(settings)
    try:
        count, left_out = store.export_jsonl(out)
    except OSError as exc:
        raise AlignmentQAError(f"cannot write {out}: {exc.strerror or exc}") from exc
    err = Console(stderr=True)
    err.print(f"{count} feedback record(s) written to {out}", markup=False, highlight=False)
    if left_out:
        err.print(f"{left_out} record(s) left out: their answer was not given by this server (no valid answer_id)")


@app.command("config")
def show_config(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    reference: Annotated[bool, typer.Option(help="Print the settings reference (markdown) instead.")] = False,
) -> None:
    """Print the effective settings and where each value came from."""
    from alignment_qa.settings import effective_values, settings_reference_markdown

    if reference:
        typer.echo(settings_reference_markdown(), nl=False)
        return
    loaded = _state(ctx).load()
    values = effective_values(loaded.settings)
    if as_json:
        data = {key: {"value": value, "source": loaded.sources[key]} for key, value in values.items()}
        typer.echo(json.dumps(data, indent=2))
    else:
        render.print_config(Console(), values, loaded.sources, loaded.config_file)


@app.command("judge")
def judge_command(
    ctx: typer.Context,
    pairs: Annotated[Path, typer.Argument(help="JSON lines: passage, sentence, supported, optional kind and split.")],
    judge: Annotated[str | None, typer.Option(help="structured, similarity, nli or llm (default: configured).")] = None,
    split: Annotated[str | None, typer.Option(help="Only the pairs of this split (e.g. held-out).")] = None,
) -> None:
    """Score a labelled pair file with a support judge: balanced accuracy with its interval, accuracy per kind."""
    from alignment_qa.eval import judge_cli

    loaded = _state(ctx).load()
    outcome = judge_cli.run(pairs, loaded.settings, judge, split)
    typer.echo(judge_cli.report(outcome, loaded.settings.answer.support_threshold))


PACKAGE_LOGGER = "alignment_qa"


class _StderrLog(logging.StreamHandler):
    """The CLI's log handler (stderr); ``_log_to_stderr`` replaces it, never adds a second."""


def _log_to_stderr(
    formatter: logging.Formatter, level: int, *filters: logging.Filter, loggers: tuple[str, ...] = (PACKAGE_LOGGER,)
) -> None:
    """Show the records of ``loggers`` (the package's own by default) from ``level`` up on stderr,
    through one handler that replaces the one an earlier call set up. The root logger is left alone:
    other libraries' warnings reach Python's last-resort handler, as in any program that sets none."""
    handler = _StderrLog()
    handler.setFormatter(formatter)
    handler.setLevel(level)
    for item in filters:
        handler.addFilter(item)
    for name in loggers:
        logger = logging.getLogger(name)
        for old in [each for each in logger.handlers if isinstance(each, _StderrLog)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)


class _OneLine(logging.Formatter):
    """Log records as one line each: what happened, without the traceback (a fallback the user
    is told about in the answer's notice needs no stack trace on the terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


INTERRUPTED = "interrupted: what was written is kept and the index is consistent; run the command again to finish."


def main() -> None:
    """Entry point: run the CLI, turning known errors into one-line messages."""
    err = Console(stderr=True)
    _log_to_stderr(_OneLine(), logging.WARNING)
    try:
        result = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print(INTERRUPTED)
        sys.exit(130)
    except (InputPathError, ConfigError, InvalidQuestionError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except AlignmentQAError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except Exception as exc:  # click usage errors arrive here with standalone_mode=False
        # typer may vendor its own click: recognise its exceptions by shape, not by class
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        if type(exc).__name__ == "Abort":  # Ctrl-C, as click reports it
            err.print(INTERRUPTED)
            sys.exit(130)
        if isinstance(exc, OSError):  # a folder that is a file, a path that cannot be made: a message, no trace
            where = f": {exc.filename}" if exc.filename else ""
            err.print(f"error: {exc.strerror or exc}{where}", markup=False, highlight=False)
            sys.exit(1)
        raise
    if isinstance(result, int):
        sys.exit(result)
