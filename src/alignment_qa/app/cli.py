"""The ``alignment-qa`` command line: ingest, stats, search and config.

Global flags are the top settings layer (above TOML and env); ``--set key=value`` reaches any
setting. Core errors become one-line messages here (exit 2 for a usage problem such as a
missing path, 1 otherwise); Ctrl-C stops cleanly with exit 130. Output formatting lives in
``render``; the commands only wire settings, store and embedder together.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from alignment_qa import __version__
from alignment_qa.app import render
from alignment_qa.errors import AlignmentQAError, ConfigError, InputPathError
from alignment_qa.settings import LoadedSettings, load_settings

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


def _services(loaded: LoadedSettings) -> tuple[Any, Any]:
    from alignment_qa.index.embedder import Embedder
    from alignment_qa.index.store import ChunkStore

    settings = loaded.settings
    embedder = Embedder(settings.embedding.model, settings.embedding.device, settings.embedding.batch_size)
    return embedder, ChunkStore(settings.store)


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
    embedder, store = _services(loaded)
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
    _, store = _services(loaded)
    collection = store.collection(loaded.settings.embedding.model) if store.exists() else None
    if collection is None:
        render.print_no_index(Console(), store.location)
        raise typer.Exit(1)
    info = store.info(collection)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
    else:
        render.print_stats(Console(), info)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int | None, typer.Option("-k", "--top-k", help="Number of chunks (retrieval.top_k).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Dense search: the top chunks with page title, section, score and a snippet."""
    loaded = _state(ctx).load(**{"retrieval.top_k": k})
    if not query.strip():
        raise ConfigError("the query is empty: say what to search for")
    embedder, store = _services(loaded)
    collection = store.collection(loaded.settings.embedding.model) if store.exists() else None
    if collection is None:
        render.print_no_index(Console(), store.location)
        raise typer.Exit(1)
    vector = embedder.encode([query])[0]
    hits = store.search(collection, vector, loaded.settings.retrieval.top_k)
    if as_json:
        typer.echo(json.dumps([render.hit_as_dict(hit) for hit in hits], indent=2))
    else:
        render.print_hits(Console(), query, hits)


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


def main() -> None:
    """Entry point: run the CLI, turning known errors into one-line messages."""
    err = Console(stderr=True)
    try:
        result = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted: what was written is kept and the index is consistent; run the command again to finish.")
        sys.exit(130)
    except (InputPathError, ConfigError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except AlignmentQAError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except Exception as exc:  # click usage errors arrive here with standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        raise
    if isinstance(result, int):
        sys.exit(result)
