"""The ONNX Runtime embedding backends: the packaged MiniLM exported once, fp32 and int8.

fp32 through ONNX Runtime must give the torch vectors; int8 must stay close to them and be
recorded by the index, so that an index built with one is never searched with the other.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from alignment_qa.errors import IndexMismatchError, ModelLoadError
from alignment_qa.index.embedder import Embedder, follow_index, resolve_backend, resolve_model_location
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import ingest
from alignment_qa.settings import Settings, load_settings
from conftest import ONNX_MODELS, REPO

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = [
    "Reward hacking is when an agent exploits flaws in its reward function.",
    "Inner alignment asks whether the learned objective matches the training objective.",
    "short",
    " ".join(["A much longer passage about mesa-optimizers and deceptive alignment."] * 30),  # cut at 256 pieces
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    """sentence-transformers itself: the reference the ONNX backends are held to."""
    return Embedder(MODEL, backend="torch")


@pytest.fixture(scope="module")
def cache() -> Path:
    """The session's export folder: the session's embedder exported the model there (on a fresh checkout, from
    scratch), and int8 is quantized from that export."""
    return ONNX_MODELS


def test_onnx_fp32_gives_the_torch_vectors_and_counts(torch_embedder: Embedder, cache: Path) -> None:
    onnx = Embedder(MODEL, backend="onnx", cache_dir=cache)
    reference, vectors = torch_embedder.encode(TEXTS), onnx.encode(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.9999
    assert onnx.count(TEXTS) == torch_embedder.count(TEXTS)
    assert onnx.special_tokens == torch_embedder.special_tokens
    assert (onnx.dimension, onnx.max_tokens, onnx.special_tokens) == (384, 256, 2)
    assert onnx.is_plain_word("reward") and not onnx.is_plain_word("mesaoptimizer")
    exported = list(cache.glob("*-fp32-*.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    Embedder(MODEL, backend="onnx", cache_dir=cache).encode(TEXTS[:1])  # a second process: the cached file
    assert exported[0].stat().st_mtime_ns == stamp and not list(cache.glob(".export-*"))


def test_span_vectors_are_the_same_on_both_backends_and_the_text_vectors_unchanged(
    torch_embedder: Embedder, cache: Path
) -> None:
    """``encode_spans`` pools a span's token states in its text's context: the same on torch and ONNX, with the
    text's own vector exactly ``encode``'s; a span cut off by truncation, even in part, comes back as a zero row."""
    onnx = Embedder(MODEL, backend="onnx", cache_dir=cache)
    first, long = TEXTS[0], TEXTS[3]
    spans = [[(0, 14), (15, len(first))], [], [(0, 5)], [(0, 69), (len(long) - 69, len(long)), (0, len(long))]]
    results = [backend.encode_spans(TEXTS, spans) for backend in (torch_embedder, onnx)]
    for vectors, parts in results:
        assert np.allclose(vectors, torch_embedder.encode(TEXTS), atol=1e-4)
        assert [part.shape for part in parts] == [(2, 384), (0, 384), (1, 384), (3, 384)]
        assert abs(float(np.linalg.norm(parts[3][0])) - 1) < 1e-5
        assert not parts[3][1].any() and not parts[3][2].any()  # cut off, wholly or in part: embedded alone
    (_, torch_parts), (_, onnx_parts) = results
    for torch_part, onnx_part in zip(torch_parts, onnx_parts, strict=True):
        assert np.allclose(torch_part, onnx_part, atol=1e-4)
    alone = torch_embedder.encode([first[:14], first[15:]])
    in_context = np.sum(onnx_parts[0] * alone, axis=1)
    assert np.all(in_context > 0.5) and np.all(in_context < 0.999)  # context moves a span's vector, not its sense


def test_int8_stays_close_and_an_index_remembers_it(
    embedder: Embedder, torch_embedder: Embedder, cache: Path, tmp_path: Path
) -> None:
    """The default (auto) builds a new index with int8 vectors and records it; an index of full-precision
    vectors (built with torch or onnx, or by an earlier default) keeps being searched with them."""
    int8 = Embedder(MODEL, backend="onnx-int8", cache_dir=cache)
    cosines = np.sum(int8.encode(TEXTS) * torch_embedder.encode(TEXTS), axis=1)
    assert cosines.min() > 0.97, cosines
    assert cosines.min() < 0.9999  # int8 really is another computation, so the index must record it

    def with_backend(settings: Settings, backend: str) -> Settings:
        return settings.model_copy(update={"embedding": settings.embedding.model_copy(update={"backend": backend})})

    built = load_settings(None, {"store.data_dir": str(tmp_path / "new")}).settings
    assert embedder.backend == "onnx-int8" and built.embedding.identity == f"{MODEL} (onnx-int8)"
    ingest([REPO / "sample-corpus"], built, embedder, ChunkStore(built.store))
    store = ChunkStore(built.store)
    assert follow_index(built, store) is built  # an int8 index under auto: nothing to pin
    on_gpu = built.model_copy(update={"embedding": built.embedding.model_copy(update={"device": "cuda"})})
    assert follow_index(on_gpu, store).embedding.backend == "onnx-int8"  # auto alone would pick torch there
    assert store.collection(with_backend(built, "onnx-int8").embedding.identity) is not None
    with pytest.raises(IndexMismatchError, match=r"embedding\.backend = onnx-int8"):  # says how to use it
        store.collection(with_backend(built, "onnx").embedding.identity)
    store.close()

    full = load_settings(None, {"store.data_dir": str(tmp_path / "fp32")}).settings
    fp32 = Embedder(MODEL, backend="onnx", cache_dir=cache)
    ingest([REPO / "sample-corpus"], with_backend(full, "onnx"), fp32, ChunkStore(full.store))
    store = ChunkStore(full.store)
    followed = follow_index(full, store)  # auto, as loaded: pinned to the index's full-precision vectors
    assert followed.embedding.backend == "onnx" and followed.embedding.identity == MODEL
    assert store.collection(followed.embedding.identity) is not None
    assert store.collection(with_backend(full, "torch").embedding.identity) is not None  # torch: the same vectors
    with pytest.raises(IndexMismatchError, match=r"embedding\.backend = onnx "):
        store.collection(full.embedding.identity)  # auto unpinned would mean int8 vectors
    store.close()


def test_an_int8_vector_does_not_depend_on_its_batch(cache: Path) -> None:
    """int8 quantizes activations per model run: in a padded batch a text's vector would move with its
    batch-mates, so a stored vector and the same text embedded again later would differ."""
    int8 = Embedder(MODEL, backend="onnx-int8", cache_dir=cache, batch_size=4)
    alone = np.stack([int8.encode([text])[0] for text in TEXTS])
    assert np.array_equal(int8.encode(TEXTS), alone)
    assert np.array_equal(int8.encode_spans(TEXTS, [[(0, 6)]] * len(TEXTS))[0], alone)


def test_a_folder_the_onnx_backend_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"tokenizer\.json"):
        Embedder(str(tmp_path), backend="onnx", cache_dir=tmp_path / "cache")
    folder = tmp_path / "cls-pooled"
    shutil.copytree(resolve_model_location(MODEL), folder)
    (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}', encoding="utf-8")
    with pytest.raises(ModelLoadError, match="mean-pooling"):
        Embedder(str(folder), backend="onnx", cache_dir=tmp_path / "cache")
    with pytest.raises(ModelLoadError, match=r"unknown embedding\.backend"):
        Embedder(MODEL, backend="tensorrt")


def test_auto_picks_onnx_int8_where_it_can_and_torch_elsewhere(tmp_path: Path) -> None:
    """The default: the packaged model runs on ONNX Runtime in int8; a hub name, another pooling or a GPU
    device stays on sentence-transformers (nothing is loaded to decide)."""
    assert resolve_backend(MODEL, "cpu", "auto") == "onnx-int8"
    assert resolve_backend(MODEL, "cuda", "auto") == "torch"
    assert resolve_backend("BAAI/bge-small-en-v1.5", "cpu", "auto") == "torch"  # a name to download
    folder = tmp_path / "cls-pooled"
    shutil.copytree(resolve_model_location(MODEL), folder)
    (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}', encoding="utf-8")
    assert resolve_backend(str(folder), "cpu", "auto") == "torch"
    assert resolve_backend(MODEL, "cpu", "onnx-int8") == "onnx-int8"
    assert load_settings(None, {}).settings.embedding.backend == "auto"
