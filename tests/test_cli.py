"""The command line as a user runs it: real index, exit codes and messages.

Most commands run in-process through the real entry point (``cli`` in conftest: the same parsing,
messages and exit codes, without a Python start and a model load each); a few run as real
``python -m alignment_qa`` processes, for the exit status a shell sees and a cold start that answers.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ONNX_MODELS, SAMPLE_CORPUS, BuiltIndex, CliRunner, copy_index


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "alignment_qa", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, sample_index: BuiltIndex) -> Path:
    """A folder whose default index is a copy of the session's sample index."""
    return copy_index(sample_index, tmp_path_factory.mktemp("cli"))


def test_ingest_reports_what_it_added(tmp_path: Path, cli: CliRunner) -> None:
    result = cli("ingest", str(SAMPLE_CORPUS), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "7 added" in result.stdout


def test_an_index_of_full_precision_vectors_keeps_them_under_the_default(tmp_path: Path, cli: CliRunner) -> None:
    """An index built before the default became int8 (or with backend onnx or torch) is answered, updated and
    rebuilt with fp32 vectors by the default settings, never refused or mixed with int8 ones."""
    from alignment_qa.index.embedder import Embedder
    from alignment_qa.index.store import ChunkStore
    from alignment_qa.settings import load_settings

    built = cli("-s", "embedding.backend=onnx", "ingest", str(SAMPLE_CORPUS / "wiki"), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    answered = cli("ask", "What is reward hacking?", "--json", cwd=tmp_path)
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["citations"]
    for args in (["ingest", str(SAMPLE_CORPUS)], ["ingest", "--rebuild", str(SAMPLE_CORPUS)]):
        assert cli(*args, cwd=tmp_path).returncode == 0
        stats = json.loads(cli("stats", "--json", cwd=tmp_path).stdout)
        assert stats["embed_model"] == "sentence-transformers/all-MiniLM-L6-v2" and stats["pages"] > 3
    refused = cli("-s", "embedding.backend=onnx-int8", "stats", cwd=tmp_path)
    assert refused.returncode != 0 and "embedding.backend = onnx " in refused.stderr + refused.stdout

    settings = load_settings(None, {"store.data_dir": str(tmp_path / ".alignment-qa")}).settings
    with ChunkStore(settings.store) as store:  # the vectors themselves are fp32, not only the label
        collection = store.collection("sentence-transformers/all-MiniLM-L6-v2")
        assert collection is not None
        chunks = list(collection.get_chunks([hit.id for hit in collection.read_chunks()][:8], True).values())
    fp32 = Embedder("sentence-transformers/all-MiniLM-L6-v2", backend="onnx", cache_dir=ONNX_MODELS)
    texts = [str(chunk.metadata["prefix"]) + chunk.text for chunk in chunks]
    stored = [chunk.vector for chunk in chunks]
    assert min(float(a @ b) for a, b in zip(fp32.encode(texts), stored, strict=True)) > 0.9999


def test_search_finds_the_right_page(indexed: Path, cli: CliRunner) -> None:
    result = cli("search", "Is RLHF an inner alignment fix?", "-k", "3", "--json", cwd=indexed)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    assert hits[0]["page_id"] in {"wiki/outer-vs-inner-alignment.txt", "textbook/rlhf.md"}
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    table = cli("search", "goal misgeneralization CoinRun", cwd=indexed)
    assert "7.1 Goal misgeneralization" in table.stdout


def test_stats(indexed: Path, cli: CliRunner) -> None:
    result = cli("stats", "--json", cwd=indexed)
    info = json.loads(result.stdout)
    assert info["pages"] == 7 and info["chunks"] >= 7
    assert info["embed_model"] == "sentence-transformers/all-MiniLM-L6-v2 (onnx-int8)"  # auto, a new index: int8
    assert info["embed_dim"] == 384
    assert info["last_ingest"]
    text = cli("stats", cwd=indexed).stdout
    assert "Pages" in text and "Last ingest" in text


def test_reingest_unchanged_embeds_nothing(indexed: Path, cli: CliRunner) -> None:
    result = cli("ingest", str(SAMPLE_CORPUS), "--json", cwd=indexed)
    summary = json.loads(result.stdout)
    assert summary["chunks_written"] == 0 and len(summary["unchanged"]) == 7


def test_missing_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run("ingest", "no/such/folder", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: path not found: no/such/folder"
    assert not (tmp_path / ".alignment-qa").exists()


@pytest.mark.parametrize("args", [("ask", "--no-such-flag", "q"), ("no-such-command",)])
def test_usage_mistakes_are_messages_not_traces(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "No such option" in result.stderr or "No such command" in result.stderr


def test_no_index_yet_says_what_to_do(tmp_path: Path, cli: CliRunner) -> None:
    for command in (["stats"], ["search", "anything"], ["ask", "anything"]):
        result = cli(*command, cwd=tmp_path)
        assert result.returncode == 1
        assert "No index yet" in result.stderr and "alignment-qa ingest" in result.stderr
        assert result.stdout == "" and "Traceback" not in result.stderr  # stdout stays clean for --json readers


def test_user_mistakes_are_one_line_messages(tmp_path: Path, indexed: Path, cli: CliRunner) -> None:
    """A data folder that is a file, an infinite size limit, a config file that is not text, no extensions, a
    collection name Chroma refuses, an LLM mode that is not set up: a message and exit 1 or 2, never a trace."""
    (tmp_path / "afile").write_text("")
    (tmp_path / "bad.toml").write_bytes(b"\xff\xfe\x00bad")
    cases = [
        (["--data-dir", "afile", "ingest", str(SAMPLE_CORPUS)], 1, "Not a directory"),
        (["--set", "ingest.max_file_mb=inf", "ingest", str(SAMPLE_CORPUS)], 2, "finite number"),
        (["--config", "bad.toml", "config"], 2, "not valid TOML"),
        (["--set", "ingest.extensions=[]", "ingest", str(SAMPLE_CORPUS)], 2, "at least one extension"),
        (["--collection", "a", "stats"], 2, "collection name has 3-497 characters"),
        (["ask", "What is reward hacking?", "--mode", "llm"], 2, "needs llm.base_url"),
    ]
    for arguments, code, message in cases:
        result = cli(*arguments, cwd=indexed if arguments[0] == "ask" else tmp_path)
        assert result.returncode == code, (arguments, result.returncode, result.stderr)
        assert message in " ".join(result.stderr.split()) and "Traceback" not in result.stderr, arguments


def test_empty_query_is_a_message(indexed: Path, cli: CliRunner) -> None:
    result = cli("search", "   ", cwd=indexed)
    assert result.returncode == 2 and "question is empty" in result.stderr


def test_config_shows_sources(tmp_path: Path, cli: CliRunner) -> None:
    (tmp_path / "alignment-qa.toml").write_text("[retrieval]\ntop_k = 9\n")
    result = cli(
        "--set",
        "ingest.max_file_mb=2",
        "config",
        "--json",
        cwd=tmp_path,
        env={"ALIGNMENT_QA_STORE__COLLECTION": "envcoll"},
    )
    data = json.loads(result.stdout)
    assert data["retrieval.top_k"] == {"value": 9, "source": "file alignment-qa.toml"}
    assert data["store.collection"] == {"value": "envcoll", "source": "env ALIGNMENT_QA_STORE__COLLECTION"}
    assert data["ingest.max_file_mb"] == {"value": 2, "source": "cli"}
    bad = cli("--set", "retrieval.top_k=0", "config", cwd=tmp_path)
    assert bad.returncode == 2 and "retrieval.top_k" in bad.stderr and "Traceback" not in bad.stderr


def test_ask_prints_a_cited_answer_and_its_sources(indexed: Path) -> None:
    result = run("ask", "What is Goodhart's law?", cwd=indexed)
    assert result.returncode == 0, result.stderr
    assert "[1]" in result.stdout and "Sources" in result.stdout
    assert "Goodhart's law" in result.stdout and "wiki/goodharts-law.md" in result.stdout


def test_ask_json_is_the_answer_contract(indexed: Path, cli: CliRunner) -> None:
    result = cli("ask", "Is RLHF an inner alignment fix?", "--json", "-k", "3", cwd=indexed)
    data = json.loads(result.stdout)
    assert {"text", "mode", "notice", "citations", "sentences", "retrieved", "timings_ms"} <= set(data)
    assert data["mode"] == "evidence" and len(data["retrieved"]) <= 3 and data["citations"]


def test_ask_with_a_dead_llm_falls_back(indexed: Path, cli: CliRunner) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli("ask", "What is reward hacking?", "--llm-url", f"http://127.0.0.1:{port}/v1", "--json", cwd=indexed)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "evidence" and "language model failed" in data["notice"] and data["citations"]
    assert "warning: LLM answer failed" in result.stderr and "Traceback" not in result.stderr  # one log line


def test_ask_bad_input_is_a_message(indexed: Path, cli: CliRunner) -> None:
    empty = cli("ask", "  ", cwd=indexed)
    assert empty.returncode == 2 and "question is empty" in empty.stderr and "Traceback" not in empty.stderr
    mode = cli("ask", "x", "--mode", "magic", cwd=indexed)
    assert mode.returncode == 2 and "answer.mode" in mode.stderr


def test_chat_keeps_the_conversation(indexed: Path, cli: CliRunner) -> None:
    script = "What is reward hacking?\n\nand how does Goodhart's law relate to it?\n/reset\n/quit\n"
    result = cli("chat", cwd=indexed, input=script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Sources") == 2
    assert "wiki/goodharts-law.md" in result.stdout and "Conversation forgotten" in result.stdout


def test_other_model_on_existing_index_is_refused(indexed: Path, cli: CliRunner) -> None:
    result = cli("--embed-model", "other/model", "search", "x", cwd=indexed)
    assert result.returncode == 1
    assert "was built with embedding model" in result.stderr


def test_missing_extra_names_it() -> None:
    from alignment_qa.errors import MissingExtraError
    from alignment_qa.extras import check_extra, require_extra

    with pytest.raises(MissingExtraError, match=r"pip install 'alignment-qa\[ui\]'"):
        require_extra("surely_not_installed_module", "ui", "The web UI")
    with pytest.raises(MissingExtraError, match=r"pip install 'alignment-qa\[ui\]'"):
        check_extra("surely_not_installed_module.sub", "ui", "The web UI")
    check_extra("tomllib", "core", "checking")  # installed: no error


def test_the_cli_logs_through_the_package_logger_not_the_root() -> None:
    from alignment_qa.app.cli import PACKAGE_LOGGER, _log_to_stderr, _OneLine

    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in (PACKAGE_LOGGER, "discord")]
    root_handlers, saved = list(root.handlers), [(list(each.handlers), each.level) for each in loggers]
    try:
        _log_to_stderr(_OneLine(), logging.WARNING)
        _log_to_stderr(_OneLine(), logging.INFO, loggers=(PACKAGE_LOGGER, "discord"))  # the discord command's
        package, discord = loggers
        ours = [handler for handler in package.handlers if handler not in saved[0][0]]
        assert len(ours) == 1 and ours[0].level == logging.INFO and package.level == logging.INFO
        assert ours[0] in discord.handlers and root.handlers == root_handlers
    finally:
        for logger, (handlers, level) in zip(loggers, saved, strict=True):
            logger.handlers[:] = handlers
            logger.setLevel(level)
