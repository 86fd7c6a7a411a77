"""Optional models given by name or folder: a cross-encoder reranker and an NLI judge.

No reranker or NLI model can be installed here, so the real loading code is exercised with the
packaged MiniLM folder (a cross-encoder with an untrained head: the scores mean nothing, but the
code path is the one a real model takes) and with paths that do not exist.
"""

from __future__ import annotations

import pytest

from alignment_qa.engine.assistant import Assistant
from alignment_qa.engine.support import NliSupport
from alignment_qa.errors import ModelLoadError
from alignment_qa.index.embedder import Embedder, resolve_model_location
from alignment_qa.settings import load_settings
from conftest import BuiltIndex


def test_reranker_loads_by_folder_and_rescores(sample_index: BuiltIndex, embedder: Embedder) -> None:
    folder = resolve_model_location("sentence-transformers/all-MiniLM-L6-v2")
    settings = load_settings(
        None,
        {"store.data_dir": str(sample_index.settings.store.data_dir), "retrieval.rerank_model": folder},
    ).settings
    assistant = Assistant.open(settings, embedder=embedder)
    assert assistant.reranker is not None
    passages = assistant.search("What is Goodhart's law?", 3)
    assert 1 <= len(passages) <= 3
    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))


def test_missing_reranker_is_a_clear_error(sample_index: BuiltIndex, embedder: Embedder, tmp_path) -> None:
    settings = load_settings(
        None,
        {
            "store.data_dir": str(sample_index.settings.store.data_dir),
            "retrieval.rerank_model": str(tmp_path / "no-such-model"),
        },
    ).settings
    with pytest.raises(ModelLoadError, match="cannot load reranker"):
        Assistant.open(settings, embedder=embedder)


def test_nli_judge_needs_an_entailment_label() -> None:
    with pytest.raises(ModelLoadError, match="no 'entailment' label"):
        NliSupport(resolve_model_location("sentence-transformers/all-MiniLM-L6-v2"))
    with pytest.raises(ModelLoadError, match="cannot load NLI model"):
        NliSupport("/no/such/nli-model")
