"""Shared fixtures: the real packaged embedding model, temp stores, corpus locations."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import IngestSummary, ingest
from alignment_qa.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "sample-corpus"
SHARED_CORPUS = REPO.parent / "shared" / "corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged all-MiniLM-L6-v2, loaded once per test session."""
    model = Embedder("sentence-transformers/all-MiniLM-L6-v2")
    _ = model.model
    return model


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


def _build(folder: Path, corpus: Path, embedder: Embedder) -> BuiltIndex:
    built = load_settings(None, {"store.data_dir": str(folder)}).settings
    summary = ingest([corpus], built, embedder, ChunkStore(built.store))
    return BuiltIndex(built, summary)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> BuiltIndex:
    """The bundled sample corpus, indexed once (tests must not change it)."""
    return _build(tmp_path_factory.mktemp("sample-index"), SAMPLE_CORPUS, embedder)


@pytest.fixture(scope="session")
def dev_index(tmp_path_factory: pytest.TempPathFactory, shared_corpus: Path, embedder: Embedder) -> BuiltIndex:
    """The development corpus in ../shared/corpus, indexed once (tests must not change it)."""
    return _build(tmp_path_factory.mktemp("dev-index"), shared_corpus, embedder)
