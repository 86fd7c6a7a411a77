"""Shared fixtures: the real packaged embedding model, temp stores, corpus locations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
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


@pytest.fixture
def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"the development corpus is not at {SHARED_CORPUS} (it lives in ../shared/corpus)")
    return SHARED_CORPUS
