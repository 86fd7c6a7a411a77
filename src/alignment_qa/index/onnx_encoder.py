"""Run a sentence-transformers model with ONNX Runtime: exported once, cached, optionally int8.

``OnnxEncoder`` exports the model's transformer with ``torch.onnx.export`` the first time a
folder is used (into ``cache_dir``, named by a digest of the model's files and the options, written
atomically so concurrent processes never read half a file), then runs it with ONNX Runtime,
tokenising with the model's own ``tokenizer.json`` and mean-pooling like the model's pooling
module; ``encode_spans`` also pools the token states inside given character spans of each text (a
sentence's vector in the context of its chunk, at no extra model cost). ``quantized`` adds dynamic
int8 quantization of the matrix multiplications, per output channel (per-tensor scales cost too
much accuracy: a mean cosine of 0.94 to the fp32 vectors on this corpus, against 0.993 per channel).
Models whose pooling is not mean pooling are refused; ``sentence_transformers`` stays the path for
them. Choosing a backend is left to ``embedder``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from alignment_qa.errors import ModelLoadError

EXPORT_VERSION = "2"  # bump when the export or quantization recipe changes: old cache files are then unused


def _digest(folder: Path, quantized: bool) -> str:
    """A digest of what the exported file depends on: the model's files (name, size, mtime) and the recipe."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}:{quantized}".encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.endswith(".onnx"):
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{int(stat.st_mtime)}\n".encode())
    return digest.hexdigest()[:16]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def unsupported_reason(folder: Path) -> str | None:
    """Why this exporter cannot run the model in ``folder``, or None when it can."""
    if not (folder / "tokenizer.json").is_file():
        return f"needs a local model folder with tokenizer.json; '{folder}' is not one"
    pooling = _read_json(folder / "1_Pooling" / "config.json")
    if pooling and not pooling.get("pooling_mode_mean_tokens", False):
        return f"supports mean-pooling models only; '{folder}' pools otherwise"
    return None


class OnnxEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from an exported ONNX graph."""

    def __init__(self, folder: str, cache_dir: Path, quantized: bool = False) -> None:
        self.folder = Path(folder)
        reason = unsupported_reason(self.folder)
        if reason:
            raise ModelLoadError(f"embedding.backend onnx {reason} (use embedding.backend = torch for this model)")
        self.cache_dir = cache_dir
        self.quantized = quantized
        self.max_tokens = int(_read_json(self.folder / "sentence_bert_config.json").get("max_seq_length", 256))
        self._lock = threading.Lock()

    def _cached(self, quantized: bool) -> Path:
        kind = "int8" if quantized else "fp32"
        return self.cache_dir / f"{self.folder.name}-{kind}-{_digest(self.folder, quantized)}.onnx"

    @cached_property
    def path(self) -> Path:
        """The exported (and, when asked, quantized) graph, created on first use; int8 is quantized from the
        cached fp32 export when there is one (no torch needed then)."""
        target = self._cached(self.quantized)
        if not target.is_file():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".export-") as scratch:
                exported = self._cached(False)
                if not (self.quantized and exported.is_file()):
                    exported = Path(scratch) / "model.onnx"
                    self._export(exported)
                if self.quantized:
                    quantized = Path(scratch) / "model-int8.onnx"
                    _quantize(exported, quantized)
                    exported = quantized
                os.replace(exported, target)  # atomic: another process sees the whole file or none
        return target

    def _export(self, target: Path) -> None:
        try:
            import torch
            from transformers import AutoModel
        except ImportError as exc:  # pragma: no cover - core dependencies
            raise ModelLoadError(f"exporting to ONNX needs torch and transformers: {exc}") from exc

        class LastHidden(torch.nn.Module):
            def __init__(self, model: torch.nn.Module) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.model(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        from transformers.utils import logging as transformers_logging

        bar_was_on = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()  # no "Loading weights" bar for a one-time export
        try:
            model = AutoModel.from_pretrained(str(self.folder), attn_implementation="eager").eval()
            sample = self.tokenizer.encode_batch(["an example", "a somewhat longer example sentence"])
            inputs = tuple(
                torch.tensor(np.array([getattr(item, field) for item in sample], dtype=np.int64))
                for field in ("ids", "attention_mask", "type_ids")
            )
            names = ["input_ids", "attention_mask", "token_type_ids"]
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer notes about constants that hold for this graph
                torch.onnx.export(
                    LastHidden(model),
                    inputs,
                    str(target),
                    input_names=names,
                    output_names=["hidden"],
                    dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "hidden"]},
                    opset_version=17,
                    dynamo=False,
                )
        except ModelLoadError:
            raise
        except Exception as exc:  # export raises many types for an unsupported architecture
            raise ModelLoadError(f"cannot export embedding model {self.folder} to ONNX: {exc}") from exc
        finally:
            if bar_was_on:
                transformers_logging.enable_progress_bar()

    @cached_property
    def tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.enable_truncation(self.max_tokens)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
        return tokenizer

    @cached_property
    def counter(self) -> Any:
        """The same tokenizer without truncation or padding, for counting word-pieces."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def session(self) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        path = self.path
        try:
            return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a corrupt cache file: say where it is
            message = f"cannot load the ONNX embedding model {path}: {exc}; delete it to export again"
            raise ModelLoadError(message) from exc

    @cached_property
    def dimension(self) -> int:
        return int(self.encode(["dimension"]).shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One normalised vector per text (see ``encode_spans``: the caller sorts and slices)."""
        return self.encode_spans(texts, [() for _ in texts])[0]

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One normalised vector per text, and for each text one per character span of it: the mean of the
        span's token states in the text's context (see ``pool_spans``). One padded batch; int8 runs each text
        on its own, because its dynamic quantization scales activations per batch: a text's vector would
        otherwise depend on its batch-mates and their padding (cosine 0.986 to the text alone). On 2 cores that
        costs nothing for chunks and about 1.4x for short texts (60 sentences: 113 against 82 ms)."""
        if self.quantized and len(texts) > 1:
            runs = [self.encode_spans([text], [wanted]) for text, wanted in zip(texts, spans, strict=True)]
            return np.concatenate([vectors for vectors, _ in runs]), [parts[0] for _, parts in runs]
        encoded = self.tokenizer.encode_batch(list(texts))
        ids = np.array([item.ids for item in encoded], dtype=np.int64)
        mask = np.array([item.attention_mask for item in encoded], dtype=np.int64)
        types = np.array([item.type_ids for item in encoded], dtype=np.int64)
        with self._lock:  # one run at a time: ONNX Runtime already uses every allowed thread
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        parts = [
            pool_spans(hidden[row], np.array(item.offsets, dtype=np.int64).reshape(-1, 2), spans[row])
            if spans[row]
            else np.zeros((0, hidden.shape[-1]), dtype=np.float32)
            for row, item in enumerate(encoded)
        ]
        return normalise(pooled), parts


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def pool_spans(states: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """For each character span, the normalised mean of the token ``states`` whose ``offsets`` lie inside it
    (special and padding tokens, which cover no characters, never do). A span the model did not see whole (cut
    off by truncation, even in part) gets a zero row: the caller embeds that text on its own."""
    result = np.zeros((len(spans), states.shape[-1]), dtype=np.float32)
    if not len(spans):
        return result
    starts, ends = offsets[: len(states), 0], offsets[: len(states), 1]
    real = ends > starts
    seen = int(ends[real].max()) if real.any() else 0  # the last character the model read
    for row, (start, end) in enumerate(spans):
        inside = real & (starts >= start) & (ends <= end)
        if end <= seen and inside.any():
            result[row] = states[inside].mean(axis=0)
    return normalise(result)


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 of the MatMul weights, per output channel, after ONNX Runtime's recommended pre-processing
    (shape inference and graph optimisation; symbolic shape inference is skipped: it fails on this graph)."""
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise ModelLoadError(f"embedding.backend onnx-int8 needs the onnx package: {exc}") from exc
    prepared = target.with_name("prepared.onnx")
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_dynamic(
        str(prepared),
        str(target),
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
