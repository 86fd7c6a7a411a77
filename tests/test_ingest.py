"""The ingest pipeline against a real embedded Chroma store and the real embedding model."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from alignment_qa.errors import IndexMismatchError, InputPathError
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.index.store_api import StoredChunk
from alignment_qa.ingest import read as read_module
from alignment_qa.ingest.pipeline import IngestSummary, ingest
from alignment_qa.settings import Settings, load_settings
from conftest import SAMPLE_CORPUS


def _copy_sample(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    return corpus


def _check_consistent(store: ChunkStore, settings: Settings) -> dict[str, int]:
    """Every page in the store is whole: one version, all its chunks. Returns chunks per page."""
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    per_page: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for meta in (hit.metadata for hit in collection.read_chunks()):
        per_page.setdefault(str(meta["page_id"]), set()).add(str(meta["page_hash"]))
        counts[str(meta["page_id"])] = counts.get(str(meta["page_id"]), 0) + 1
        assert 0 <= int(meta["start"]) < int(meta["end"])
    for page_id, hashes in per_page.items():
        assert len(hashes) == 1, f"{page_id} has two versions"
    for page_id, state in collection.page_states().items():
        assert state.complete, f"{page_id} is missing chunks"
    return counts


def test_page_states_come_from_first_and_last_chunks_and_see_an_interrupted_write(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page states read each page's first and last chunk; a page whose first chunk is missing (a write cut off) is
    read the long way, found incomplete, and ingested again."""
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    with monkeypatch.context() as patched:  # a whole index: read from first and last chunks alone
        patched.setattr(type(collection), "_page_states_from_ids", lambda *args: pytest.fail("read the long way"))
        states = collection.page_states()
    assert states == collection._page_states_from_every_chunk() and all(
        s.complete and s.sentences for s in states.values()
    )
    page = "wiki/reward-hacking.md"
    state = states[page]
    collection._raw.delete(ids=[f"{page}#{state.page_hash[:12]}-0"])  # as if the write had been cut off
    collection.new_revision()  # which an ingest marks before it writes
    broken = collection.page_states()
    assert not broken[page].complete and broken[page].stored_chunks == state.n_chunks - 1
    assert {k: v for k, v in broken.items() if k != page} == {k: v for k, v in states.items() if k != page}
    from alignment_qa.index import keyword

    rebuilt: list[int] = []
    real_read = keyword.read_all_chunks
    monkeypatch.setattr(keyword, "read_all_chunks", lambda *a, **k: rebuilt.append(1) or real_read(*a, **k))
    again = ingest([corpus], settings, embedder, store)
    assert again.updated == [page] and collection.page_states() == states
    assert rebuilt, "an incomplete page's chunk ids cannot be told: the keyword index must be rebuilt"


def test_a_page_without_its_last_chunk_is_incomplete(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    states = collection.page_states()
    page = max(states, key=lambda page_id: states[page_id].n_chunks)
    state = states[page]
    assert state.n_chunks > 2
    collection._raw.delete(ids=[f"{page}#{state.page_hash[:12]}-{state.n_chunks - 1}"])  # a write cut off
    collection.new_revision()
    broken = collection.page_states()
    assert not broken[page].complete and broken[page].stored_chunks == state.n_chunks - 1
    assert ingest([corpus], settings, embedder, store).updated == [page]
    assert collection.page_states() == states


def test_the_page_states_an_ingest_leaves_are_kept_and_are_what_the_store_holds(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ingest keeps the page states it leaves, under the revision it leaves; after adding, changing, removing,
    completing sentence vectors and moving the folder they equal the states read from the store, and an ingest
    that finds its revision unchanged reads none."""
    from alignment_qa.index import page_cache
    from alignment_qa.index.store import ChromaCollection

    corpus = _copy_sample(tmp_path)
    reads: list[int] = []
    real_states = ChromaCollection.page_states
    monkeypatch.setattr(ChromaCollection, "page_states", lambda self: reads.append(1) or real_states(self))

    def kept_states_match(where: Path = corpus, run_settings: Settings = settings) -> IngestSummary:
        summary = ingest([where], run_settings, embedder, store)
        collection = store.collection(settings.embedding.identity)
        assert collection is not None
        kept = page_cache.load(store, collection.revision())
        assert kept is not None and kept == real_states(collection), summary
        return summary

    assert kept_states_match().added
    reads.clear()
    assert kept_states_match().unchanged and not reads, "an unchanged revision: the kept states, nothing read"
    page = corpus / "wiki" / "reward-hacking.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n\nOne more sentence about proxies and their targets.\n")
    without = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"sentence_vectors": False})})
    assert kept_states_match(run_settings=without).updated == ["wiki/reward-hacking.md"]
    assert kept_states_match().sentence_pages == 1  # completed: its sentence vectors written now
    (corpus / "wiki" / "goodharts-law.md").unlink()
    assert kept_states_match().removed == ["wiki/goodharts-law.md"]
    moved = tmp_path / "moved"
    corpus.rename(moved)
    assert kept_states_match(moved).unchanged and not reads


def test_an_unchanged_ingest_checks_the_keyword_index_without_loading_it(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keyword index records its revision in a small file; an ingest that changed nothing compares it and
    loads nothing. An index saved by an earlier version, without that file, is loaded once and gets it."""
    from alignment_qa.index.keyword import REVISION_FILE, KeywordIndex, keyword_folder, saved_revision

    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    folder = keyword_folder(store)
    assert saved_revision(folder) == collection.revision() != ""
    loads: list[int] = []
    real_load = KeywordIndex.load
    monkeypatch.setattr(KeywordIndex, "load", lambda *args, **kwargs: loads.append(1) or real_load(*args, **kwargs))
    assert ingest([corpus], settings, embedder, store).unchanged and not loads
    (folder / REVISION_FILE).unlink()
    ingest([corpus], settings, embedder, store)
    assert loads == [1] and saved_revision(folder) == collection.revision()
    ingest([corpus], settings, embedder, store)
    assert loads == [1]


def test_the_keyword_ledger_gives_up_when_another_process_writes(
    settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """Another writer between this run's revisions makes its changes unknown; changes that do not fit the saved
    index, or too many removals since its last build, make it rebuild."""
    from alignment_qa.index.keyword import KeywordChanges, KeywordIndex
    from alignment_qa.index.lexical import Analyzer
    from alignment_qa.ingest.pipeline import _KeywordLedger

    ingest([SAMPLE_CORPUS], settings, embedder, store)
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    ledger = _KeywordLedger(collection.revision())
    ledger.new_revision(collection)
    assert ledger.exact
    with ChunkStore(settings.store) as elsewhere:  # another writer, through its own handle
        other = elsewhere.collection(settings.embedding.identity)
        assert other is not None
        other.new_revision()
    assert ledger.changes(collection) is None
    from alignment_qa.index.store_api import PageState

    cut_off = _KeywordLedger(collection.revision())
    cut_off.remove_page("p.md", PageState("0" * 64, "/root", 3, 2, "P", ""))  # 2 of its 3 chunks stored
    assert not cut_off.exact, "an incomplete page's chunk ids cannot be told"

    records = [("a#1-0", "A", "alpha beta"), *((f"{page}#1-0", page, "gamma delta") for page in "bcde")]
    index = KeywordIndex.build(records, "r0", Analyzer())
    fits = KeywordChanges("r0", "r1", {"a#1-0"}, [("a#2-0", "A", "alpha beta gamma")])
    assert index.updated(fits) is not None
    assert index.updated(KeywordChanges("r0", "r1", {"zzz#1-0"}, [])) is None  # removes what it does not have
    assert index.updated(KeywordChanges("r0", "r1", set(), [("b#1-0", "B", "x")])) is None  # adds what it has
    assert index.updated(KeywordChanges("r0", "r1", {"a#1-0", "b#1-0"}, [])) is None  # 2 of 5 removed: rebuild


def test_removed_chunks_add_up_until_a_rebuild() -> None:
    """Each update keeps count of the chunks removed since the last build (their words linger in the vocabulary);
    past the stale share the update is refused, and a rebuild starts the count again."""
    from alignment_qa.index import keyword
    from alignment_qa.index.keyword import KeywordChanges, KeywordIndex
    from alignment_qa.index.lexical import Analyzer

    records = [(f"p{n}#1-0", f"P{n}", f"topic{n} shared words") for n in range(8)]
    index = KeywordIndex.build(records, "r0", Analyzer())
    first = index.updated(KeywordChanges("r0", "r1", {"p0#1-0"}, [("p0#2-0", "P0", "topic0 new words")]))
    assert first is not None and first.terms is not None and first.terms.stale == 1
    second = first.updated(KeywordChanges("r1", "r2", {"p1#1-0"}, [("p1#2-0", "P1", "topic1 new words")]))
    assert second is not None and second.terms is not None and second.terms.stale == 2  # 2 of 8: at the share
    assert second.updated(KeywordChanges("r2", "r3", {"p2#1-0"}, [("p2#2-0", "P2", "x")])) is None  # 3 of 8
    assert keyword.STALE_SHARE == 0.25
    rebuilt = KeywordIndex.build([(i, "", t) for i, t in zip(second.ids, second.ids, strict=True)], "r2", Analyzer())
    assert rebuilt.terms is not None and rebuilt.terms.stale == 0
    assert rebuilt.updated(KeywordChanges("r2", "r3", {"p2#1-0"}, [("p2#2-0", "P2", "x")])) is not None


def test_incremental_ingest(tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder) -> None:
    corpus = _copy_sample(tmp_path)
    first = ingest([corpus], settings, embedder, store)
    assert len(first.added) == 7 and not first.skipped
    assert first.chunks_written == first.chunks_total > 7
    pages = _check_consistent(store, settings)
    assert set(pages) == {
        "wiki/reward-hacking.md",
        "wiki/goodharts-law.md",
        "wiki/outer-vs-inner-alignment.txt",
        "textbook/rlhf.md",
        "textbook/mesa-optimization.md",
        "textbook/goal-misgeneralization.md",
        "notes/scalable-oversight.html",
    }

    again = ingest([corpus], settings, embedder, store)
    assert again.chunks_written == 0 and len(again.unchanged) == 7
    assert not (again.added or again.updated or again.removed)

    rlhf = corpus / "textbook/rlhf.md"
    rlhf.write_text(rlhf.read_text() + "\n## 6.2.3 A new section {: #03}\n\nNew text about red teaming.\n")
    (corpus / "wiki/goodharts-law.md").unlink()
    changed = ingest([corpus], settings, embedder, store)
    assert changed.updated == ["textbook/rlhf.md"]
    assert changed.removed == ["wiki/goodharts-law.md"]
    assert len(changed.unchanged) == 5
    pages = _check_consistent(store, settings)
    assert "wiki/goodharts-law.md" not in pages
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    hits = collection.search_many([embedder.encode(["red teaming new section"])[0]], 3)[0]
    assert hits[0].metadata["page_id"] == "textbook/rlhf.md"
    assert hits[0].metadata["anchor"] == "03"


def test_single_file_does_not_remove_other_pages(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """A file of an indexed folder, given by itself, is the page it was: no second copy under its bare name."""
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    page = corpus / "wiki" / "reward-hacking.md"
    summary = ingest([page], settings, embedder, store)
    assert summary.removed == []
    assert summary.unchanged == ["wiki/reward-hacking.md"] and summary.added == []
    page.write_text(page.read_text(encoding="utf-8") + "\nReward hacking can be subtle.\n", encoding="utf-8")
    summary = ingest([page], settings, embedder, store)
    assert summary.updated == ["wiki/reward-hacking.md"] and summary.added == []
    assert len(_check_consistent(store, settings)) == 7


def test_a_folder_inside_another_is_one_set_of_pages(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """Given with its parent, or after it, a folder's pages keep their ids under the parent: none is indexed
    twice, and none is removed as gone."""
    corpus = _copy_sample(tmp_path)
    summary = ingest([corpus / "wiki", corpus], settings, embedder, store)
    assert sorted(summary.added) == sorted(set(summary.added)) and "wiki/goodharts-law.md" in summary.added
    assert "goodharts-law.md" not in summary.added and len(_check_consistent(store, settings)) == 7
    summary = ingest([corpus / "wiki"], settings, embedder, store)
    assert summary.added == [] and summary.removed == [] and "wiki/goodharts-law.md" in summary.unchanged
    assert len(_check_consistent(store, settings)) == 7
    (corpus / "wiki" / "goodharts-law.md").unlink()  # synced through the inner folder
    summary = ingest([corpus / "wiki"], settings, embedder, store)
    assert summary.removed == ["wiki/goodharts-law.md"] and len(_check_consistent(store, settings)) == 6


def _pages(store: ChunkStore, settings: Settings) -> dict[str, str]:
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    return {page_id: state.root for page_id, state in collection.page_states().items()}


def test_a_folder_indexed_first_by_itself_then_with_its_parent_is_one_set_of_pages(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """Ids move to the outer folder; an id the inner folder used passes to the parent's file of that name."""
    corpus = _copy_sample(tmp_path)
    ingest([corpus / "wiki"], settings, embedder, store)
    (corpus / "reward-hacking.md").write_text("# Top\n\nZebras and quokkas.\n")
    summary = ingest([corpus], settings, embedder, store)
    pages = _pages(store, settings)
    assert len(pages) == 8 and pages["reward-hacking.md"] == str(corpus.resolve()), summary.skipped
    assert "wiki/reward-hacking.md" in pages and "goodharts-law.md" not in pages
    assert summary.skipped == [] and len(_check_consistent(store, settings)) == 8


def test_an_id_taken_over_never_removes_another_folders_pages(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """A page whose file was deleted, taken over by a file with its id from elsewhere, is no sign that its folder
    moved: the folder's other pages stay. Nor does an inner folder give up the ids it has under its parent."""
    corpus = _copy_sample(tmp_path)
    (corpus / "rlhf.md").write_text("# Top\n\nPenguins.\n")
    ingest([corpus], settings, embedder, store)
    (corpus / "rlhf.md").unlink()
    summary = ingest([corpus / "textbook"], settings, embedder, store)
    assert summary.removed == [] and "textbook/rlhf.md" in summary.unchanged
    other = tmp_path / "other"
    (other / "wiki").mkdir(parents=True)
    (other / "wiki" / "goodharts-law.md").write_text("# Other\n\nLighthouses.\n")
    (corpus / "wiki" / "goodharts-law.md").unlink()
    summary = ingest([other], settings, embedder, store)
    assert summary.removed == [] and summary.updated == ["wiki/goodharts-law.md"]
    assert len(_pages(store, settings)) == 8  # seven from the corpus (one now from other/), the stale rlhf.md


def test_a_refused_new_id_keeps_the_old_page_and_a_link_keeps_the_files_id(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """When the id a file would move to is refused (another folder holds it), the file keeps the page it has; a link
    given by itself to a page of an indexed folder is that page."""
    corpus = _copy_sample(tmp_path)
    other = tmp_path / "other"
    (other / "wiki").mkdir(parents=True)
    (other / "wiki" / "goodharts-law.md").write_text("# Okapi\n\nOkapis live in the Congo forest.\n")
    ingest([corpus / "wiki"], settings, embedder, store)
    ingest([other], settings, embedder, store)
    summary = ingest([corpus], settings, embedder, store)
    assert "goodharts-law.md" not in summary.removed and "already indexed from" in summary.skipped[0].reason
    assert _pages(store, settings)["goodharts-law.md"] == str((corpus / "wiki").resolve())
    (corpus / "notes" / "gl.md").symlink_to(corpus / "textbook" / "rlhf.md")
    summary = ingest([corpus / "notes" / "gl.md"], settings, embedder, store)
    assert summary.unchanged == ["textbook/rlhf.md"] and summary.removed == [] and "gl.md" not in summary.added


def test_a_corpus_moved_with_a_link_left_at_its_old_name_stays_in_sync(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    moved = corpus.rename(tmp_path / "v2")
    corpus.symlink_to(moved)
    (moved / "wiki" / "reward-hacking.md").unlink()
    summary = ingest([corpus], settings, embedder, store)
    assert summary.skipped == [] and summary.removed == ["wiki/reward-hacking.md"] and summary.chunks_written == 0
    assert set(_pages(store, settings).values()) == {str(moved.resolve())}


def test_a_link_to_a_page_never_takes_its_folder_with_it(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """A link elsewhere to an indexed page, given by itself, is that page: its folder's other pages stay, and the
    page keeps its id; a single file moved out with a link left behind does not count its old folder as moved."""
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "goodharts-law.md").symlink_to(corpus / "wiki" / "goodharts-law.md")
    (elsewhere / "gl.md").symlink_to(corpus / "wiki" / "goodharts-law.md")
    for link in ("goodharts-law.md", "gl.md"):
        summary = ingest([elsewhere / link], settings, embedder, store)
        assert summary.removed == [] and summary.unchanged == ["wiki/goodharts-law.md"], (link, summary)
    other = tmp_path / "other"
    (other / "wiki").mkdir(parents=True)
    (corpus / "wiki" / "reward-hacking.md").rename(other / "wiki" / "reward-hacking.md")
    (corpus / "wiki" / "reward-hacking.md").symlink_to(other / "wiki" / "reward-hacking.md")
    summary = ingest([other], settings, embedder, store)
    assert summary.removed == [] and len(_pages(store, settings)) == 7
    assert set(_pages(store, settings).values()) == {str(corpus.resolve())}


def test_a_renamed_corpus_indexed_by_parts_ends_with_one_page_per_file(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    renamed = corpus.rename(tmp_path / "renamed")
    ingest([renamed / "wiki"], settings, embedder, store)
    ingest([renamed], settings, embedder, store)
    pages = _pages(store, settings)
    assert len(pages) == 7 and set(pages.values()) == {str(renamed.resolve())}, pages


def test_a_linked_folder_is_walked_after_the_real_one(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """ "alias" sorts before "wiki": the pages still keep their own path, however the link is named."""
    corpus = _copy_sample(tmp_path)
    (corpus / "alias").symlink_to(corpus / "wiki")
    ingest([corpus], settings, embedder, store)
    pages = _pages(store, settings)
    assert len(pages) == 7 and "wiki/reward-hacking.md" in pages and not any(p.startswith("alias/") for p in pages)


def test_bad_inputs_are_skipped_with_reasons(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE_CORPUS / "textbook/rlhf.md", corpus / "good.md")
    (corpus / "empty.md").write_text("  \n")
    (corpus / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus / "latin1.txt").write_bytes("Caf\xe9 au lait".encode("latin-1"))
    (corpus / "huge.md").write_text("# Huge\n\n" + "word " * 300_000)
    (corpus / "locked.md").write_text("# Locked\n\nSecret.")
    (corpus / "only-markup.md").write_text('<div class="section-meta">12 min</div>\n![img](x.png)\n')
    (corpus / "dangling.md").symlink_to(corpus / "missing-target.md")
    (corpus / "loop-a.md").symlink_to(corpus / "loop-b.md")
    (corpus / "loop-b.md").symlink_to(corpus / "loop-a.md")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "back-to-top").symlink_to(corpus)
    (corpus / "image.png").write_bytes(b"\x89PNG")
    os.mkfifo(corpus / "pipe.md")
    locked = corpus / "locked.md"
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads mode-000 files, so make the OS refusal happen the same way
        real_open = Path.open

        def refusing_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            if self == locked:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "open", refusing_open)

    settings.ingest.max_file_mb = 1.0
    summary = ingest([corpus], settings, embedder, store)
    reasons = {Path(item.path).name: item.reason for item in summary.skipped}
    assert summary.added == ["good.md"]
    assert "empty file" in reasons["empty.md"]
    assert "binary" in reasons["binary.md"]
    assert "not valid UTF-8 (byte 0xe9 at offset 3)" in reasons["latin1.txt"]
    assert "too large" in reasons["huge.md"]
    assert "Permission denied" in reasons["locked.md"]
    assert "no text after cleaning" in reasons["only-markup.md"]
    assert "broken symlink" in reasons["dangling.md"]
    assert "symlink loop" in reasons["loop-a.md"] and "symlink loop" in reasons["loop-b.md"]
    assert "symlink loop" in reasons["back-to-top"]
    assert "not a regular file" in reasons["pipe.md"]
    assert "image.png" not in reasons and summary.ignored_files == 1
    assert list(_check_consistent(store, settings)) == ["good.md"]


def test_broken_page_keeps_its_previous_version(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    (corpus / "wiki/reward-hacking.md").write_bytes(b"# Reward\n\xc3\x28 broken")
    summary = ingest([corpus], settings, embedder, store)
    assert "previously indexed version is kept" in summary.skipped[0].reason
    assert "wiki/reward-hacking.md" in _check_consistent(store, settings)


def test_missing_path_raises(settings: Settings, store: ChunkStore, embedder: Embedder, tmp_path: Path) -> None:
    with pytest.raises(InputPathError, match="path not found"):
        ingest([tmp_path / "nowhere"], settings, embedder, store)


def test_model_mismatch_is_an_error(tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder) -> None:
    corpus = _copy_sample(tmp_path)
    ingest([corpus / "wiki"], settings, embedder, store)
    other = load_settings(
        None, {"store.data_dir": str(settings.store.data_dir), "embedding.model": "some/other-model"}
    ).settings
    built_with = re.escape(f"built with embedding model '{settings.embedding.identity}'")
    with pytest.raises(IndexMismatchError, match=built_with):
        ingest([corpus / "wiki"], other, Embedder("some/other-model"), ChunkStore(other.store))


def test_kill_9_leaves_a_consistent_index(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """kill -9 in the middle of writing, then check consistency, then finish with a second run."""
    corpus = tmp_path / "corpus"
    copies = 12  # enough pages that the ingest is still writing when the probe sees its first window
    for copy in range(copies):
        shutil.copytree(SAMPLE_CORPUS, corpus / f"copy{copy}")
    pages = copies * 7  # the sample corpus's pages (its ABOUT file is not one)
    data_dir = settings.store.data_dir
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "alignment_qa",
        "--data-dir",
        str(data_dir),
        "-s",
        "ingest.write_window=8",
        "ingest",
        str(corpus),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    chroma_file = data_dir / "chroma" / "chroma.sqlite3"
    deadline = time.monotonic() + 240
    killed = False
    while time.monotonic() < deadline and process.poll() is None:
        probe = ChunkStore(settings.store)
        if chroma_file.exists() and probe.exists():
            collection = probe.collection(settings.embedding.identity)
            if collection is not None and collection.count() >= 8:
                process.send_signal(signal.SIGKILL)
                killed = True
                break
        time.sleep(0.2)
    process.wait(timeout=30)
    assert killed, "the ingest finished before it could be interrupted; enlarge the corpus"
    partial = _check_consistent(ChunkStore(settings.store), settings)
    assert 0 < len(partial) < pages
    summary = ingest([corpus], settings, embedder, ChunkStore(settings.store))
    assert len(summary.unchanged) == len(partial)
    assert len(_check_consistent(ChunkStore(settings.store), settings)) == pages


def test_reader_reasons_for_utf16_and_bom() -> None:
    assert read_module.decode_page("\ufeff# Title\r\nText".encode()) == "# Title\nText"
    assert read_module.decode_page("# Título".encode("utf-16")) == "# Título"


def test_moved_corpus_is_not_reembedded(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    moved = corpus.rename(tmp_path / "moved")
    summary = ingest([moved], settings, embedder, store)
    assert summary.chunks_written == 0 and len(summary.unchanged) == 7
    (moved / "wiki/goodharts-law.md").unlink()  # the new folder is now the one that is synced
    assert ingest([moved], settings, embedder, store).removed == ["wiki/goodharts-law.md"]


def test_same_page_id_from_another_folder_is_not_overwritten(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "01.md").write_text("# First\n\nAbout reward models.\n")
    (second / "01.md").write_text("# Second\n\nAbout interpretability.\n")
    ingest([first], settings, embedder, store)
    summary = ingest([second], settings, embedder, store)
    assert "already indexed from" in summary.skipped[0].reason and summary.updated == []
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    assert collection.page_states()["01.md"].title == "First"


def test_emptied_page_leaves_the_index_and_broken_link_keeps_it(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    (corpus / "wiki/goodharts-law.md").write_text("")
    target = corpus / "wiki/reward-hacking.md"
    moved = target.rename(tmp_path / "elsewhere.md")
    target.symlink_to(tmp_path / "gone.md")  # now a broken symlink where the page was
    summary = ingest([corpus], settings, embedder, store)
    assert summary.removed == ["wiki/goodharts-law.md"]
    pages = _check_consistent(store, settings)
    assert "wiki/reward-hacking.md" in pages and "wiki/goodharts-law.md" not in pages
    assert moved.exists()


def test_rebuild_reembeds_everything(tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder) -> None:
    corpus = _copy_sample(tmp_path)
    first = ingest([corpus], settings, embedder, store)
    rebuilt = ingest([corpus], settings, embedder, store, rebuild=True)
    assert len(rebuilt.added) == 7 and rebuilt.chunks_written == first.chunks_written == rebuilt.chunks_total
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputPathError, match="would leave an empty index"):  # and the index is kept
        ingest([empty], settings, embedder, store, rebuild=True)
    assert len(_check_consistent(store, settings)) == 7


def test_a_changed_page_embeds_only_its_changed_chunks(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of a changed page whose text is unchanged (``content_hash``) keep their stored vectors."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sections = {
        "Reward models": "A reward model is trained on human comparisons of answers.",
        "Red teaming": "Red teams search for inputs that make a model misbehave.",
        "Interpretability": "Interpretability studies what the weights of a network compute.",
        "Oversight": "Scalable oversight helps people supervise models stronger than themselves.",
    }
    page = corpus / "methods.md"
    page.write_text("# Safety methods\n\n" + "".join(f"## {head}\n\n{text}\n\n" for head, text in sections.items()))
    first = ingest([corpus], settings, embedder, store)
    assert first.chunks_embedded == first.chunks_written == len(sections)
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    before = {meta["section"]: vector for meta, vector in collection.page_vectors(["methods.md"])}

    encoded: list[str] = []
    real_encode, real_spans = embedder.encode, embedder.encode_spans
    monkeypatch.setattr(embedder, "encode", lambda texts, **kw: encoded.extend(texts) or real_encode(texts, **kw))
    monkeypatch.setattr(
        embedder, "encode_spans", lambda texts, *a, **kw: encoded.extend(texts) or real_spans(texts, *a, **kw)
    )
    page.write_text(page.read_text().replace(sections["Red teaming"], "Red teams probe models for jailbreaks."))
    changed = ingest([corpus], settings, embedder, store)
    assert changed.updated == ["methods.md"]
    assert changed.chunks_written == len(sections) and changed.chunks_embedded == 1
    assert len(encoded) == 1 and "jailbreaks" in encoded[0]  # the chunk, its new sentence from the same pass
    after = {meta["section"]: vector for meta, vector in collection.page_vectors(["methods.md"])}
    assert set(after) == set(before) and len(_check_consistent(store, settings)) == 1
    for section, vector in after.items():
        same = bool(np.allclose(vector, before[section]))
        assert same == ("Red teaming" not in section), section
    hits = collection.search_many([real_encode(["jailbreaks"])[0]], 1)[0]
    assert "jailbreaks" in hits[0].text


def test_a_second_named_collection_sits_beside_the_chunks(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """The store opens other collections by name (e.g. sentence vectors) with the same interface."""
    corpus = _copy_sample(tmp_path)
    ingest([corpus / "wiki"], settings, embedder, store)
    model = settings.embedding.identity
    assert store.collection(model, "sentences") is None and not store.exists("sentences")
    sentences = store.create(model, embedder.dimension, "sentences")
    text = "Goodhart's law: a measure that becomes a target stops being a good measure."
    record = StoredChunk("goodhart#0", text, {"page_id": "wiki/goodharts-law.md", "page_hash": "h", "n_chunks": 1})
    sentences.write_pages([], [record], embedder.encode([text]))
    assert sentences.count() == 1 and sentences.name == "sentences"
    assert sentences.search_many([embedder.encode(["targets and measures"])[0]], 1)[0][0].id == "goodhart#0"
    chunks = store.collection(model)
    assert chunks is not None and chunks.count() > 1 and "goodhart#0" not in chunks.get_chunks(["goodhart#0"])
    store.drop("sentences")
    assert not store.exists("sentences") and store.exists()


def test_only_former_sentence_vectors_are_dropped_by_their_old_name(
    settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """Earlier versions kept sentences in ``<collection>-sentences``; ingest drops that collection, unless it is
    someone's index of pages that happens to have the name."""
    model = settings.embedding.identity
    former = f"{settings.store.collection}-sentences"
    old = store.create(model, embedder.dimension, former, searched=False)
    text = "Reward hacking exploits a misspecified objective."
    old.write_pages([], [StoredChunk("p#s-1", "", {"page_id": "p", "sentence": "1"})], embedder.encode([text]))
    ingest([SAMPLE_CORPUS / "wiki"], settings, embedder, store)
    assert not store.exists(former)
    pages = settings.model_copy(update={"store": settings.store.model_copy(update={"collection": former})})
    with ChunkStore(pages.store) as other:  # an index of pages named like the old sentences
        ingest([SAMPLE_CORPUS / "wiki"], pages, embedder, other)
    ingest([SAMPLE_CORPUS / "wiki"], settings, embedder, store)
    assert store.exists(former)


def test_a_relative_data_dir_follows_the_working_directory(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma keeps one system per path string in a process: a relative ``store.data_dir`` opened from two
    working directories must still reach each one's own index (found when the CLI ran in-process)."""
    relative = load_settings(None, {"store.data_dir": ".alignment-qa"}).settings
    counts = {}
    corpora = {"one": ["wiki/reward-hacking.md"], "two": ["wiki/reward-hacking.md", "wiki/goodharts-law.md"]}
    for name, pages in corpora.items():
        work = tmp_path / name
        for page in pages:
            (work / "corpus" / page).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SAMPLE_CORPUS / page, work / "corpus" / page)
        monkeypatch.chdir(work)
        counts[name] = len(ingest([Path("corpus")], relative, embedder, ChunkStore(relative.store)).added)
    for name in ("one", "two"):
        monkeypatch.chdir(tmp_path / name)
        collection = ChunkStore(relative.store).collection(relative.embedding.identity)
        assert collection is not None and len(collection.page_states()) == counts[name]
    assert counts == {"one": 1, "two": 2}


def test_a_collection_another_process_just_created_is_used(settings: Settings, embedder: Embedder) -> None:
    """Two first ingests at once: the one whose create comes second uses the collection the other made."""
    model = settings.embedding.identity
    first, second = ChunkStore(settings.store), ChunkStore(settings.store)
    made = first.create(model, embedder.dimension)
    looked = second.collection

    def before_the_other_created_it(wanted: str, name: str | None = None) -> object:
        calls.append(wanted)
        return None if len(calls) == 1 else looked(wanted, name)

    calls: list[str] = []
    second.collection = before_the_other_created_it  # type: ignore[method-assign,assignment]
    assert second.create(model, embedder.dimension).name == made.name and len(calls) == 2


def test_file_names_that_are_not_utf8_or_hold_control_characters_are_skipped(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """One bad name once aborted the whole ingest (a surrogate no store can hold); a terminal escape in a name
    reached the terminal. Both are skipped with a reason, shown escaped, and the other pages are indexed."""
    corpus = tmp_path / "pages"
    corpus.mkdir()
    (corpus / "good.md").write_text("# Good\n\nReward tampering is when an agent alters its own reward signal.\n")
    with open(os.path.join(os.fsencode(corpus), b"bad\xff.md"), "wb") as bad:
        bad.write(b"# Bad\n\nA page about reward tampering.\n")
    (corpus / "esc\x1b]0;OWNED\x07.md").write_text("# Esc\n\nA page about the shutdown problem.\n")
    (corpus / "Chapter\u00a01 \U0001f469\u200d\U0001f52c.md").write_text("# NBSP\n\nA page about oversight.\n")
    summary = ingest([corpus], settings, embedder, store)
    assert summary.added == ["Chapter\u00a01 \U0001f469\u200d\U0001f52c.md", "good.md"]  # valid UTF-8, no controls
    reasons = {item.path: item.reason for item in summary.skipped}
    assert "not valid UTF-8" in reasons[f"{corpus}/bad\\udcff.md"]
    assert "control characters" in reasons[f"{corpus}/esc\\x1b]0;OWNED\\x07.md"]
    bad_folder = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"folder\xff")))
    bad_folder.mkdir()
    (bad_folder / "page.md").write_text("# Page\n\nAbout oversight.\n")
    with pytest.raises(InputPathError, match="not valid UTF-8"):  # given by name, it is refused, not a store error
        ingest([bad_folder], settings, embedder, store)


def test_a_link_given_by_itself_is_a_page_in_its_own_folder(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = _copy_sample(tmp_path)
    link = tmp_path / "linked.md"
    link.symlink_to(corpus / "wiki" / "reward-hacking.md")
    ingest([link], settings, embedder, store)
    assert _pages(store, settings) == {"linked.md": str(tmp_path.resolve())}


def test_a_file_with_two_names_is_one_page(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    os.link(corpus / "wiki" / "reward-hacking.md", corpus / "wiki" / "specification-gaming.md")
    summary = ingest([corpus], settings, embedder, store)
    assert summary.added == []
    reasons = {Path(item.path).name: item.reason for item in summary.skipped}
    assert "hard link to" in reasons["specification-gaming.md"]
    assert "reward-hacking.md" in reasons["specification-gaming.md"]
    pages = _pages(store, settings)
    assert "wiki/reward-hacking.md" in pages and "wiki/specification-gaming.md" not in pages
    os.link(corpus / "wiki" / "reward-hacking.md", corpus / "wiki" / "a-first-name.md")  # sorts first
    again = ingest([corpus], settings, embedder, store)
    assert again.added == [] and again.removed == []  # the indexed name stays the page
    assert "wiki/reward-hacking.md" in _pages(store, settings)


def test_a_page_replaced_by_a_link_leading_outside_leaves_the_index(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = _copy_sample(tmp_path)
    ingest([corpus], settings, embedder, store)
    outside = tmp_path / "outside.md"
    outside.write_text("# Outside\n\nThis text lives outside the indexed folder and must not be indexed.\n")
    page = corpus / "wiki" / "reward-hacking.md"
    page.unlink()
    page.symlink_to(outside)
    summary = ingest([corpus], settings, embedder, store)
    assert summary.removed == ["wiki/reward-hacking.md"]
    assert any("leads outside" in item.reason for item in summary.skipped)
    assert "wiki/reward-hacking.md" not in _check_consistent(store, settings)


def test_a_size_limit_far_above_memory_reads_pages_as_usual(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """A limit meant as "no limit" (--max-file-mb 1e9) asked the OS for a buffer that size and died."""
    corpus = _copy_sample(tmp_path)
    settings.ingest.max_file_mb = 1e9
    summary = ingest([corpus], settings, embedder, store)
    assert len(summary.added) == len(_check_consistent(store, settings)) > 0 and not summary.skipped
    read_module.read_page_bytes(corpus / "wiki" / "reward-hacking.md", 10**15)  # no MemoryError
    with pytest.raises(read_module.UnusableFile, match="too large"):
        read_module.read_page_bytes(corpus / "wiki" / "reward-hacking.md", 10)


def test_a_deleted_folder_or_file_given_again_takes_its_pages_out(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """Only the folder itself can say its pages are gone: "path not found" left them in the index for good."""
    corpus = _copy_sample(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(corpus / "wiki" / "reward-hacking.md", other / "single.md")
    ingest([corpus], settings, embedder, store)
    ingest([other / "single.md"], settings, embedder, store)
    before = _pages(store, settings)
    shutil.rmtree(corpus / "wiki")
    wiki = sorted(page for page in before if page.startswith("wiki/"))
    assert ingest([corpus / "wiki"], settings, embedder, store).removed == wiki
    (other / "single.md").unlink()
    assert ingest([other / "single.md"], settings, embedder, store).removed == ["single.md"]
    assert set(_pages(store, settings)) == set(before) - {*wiki, "single.md"}
    with pytest.raises(InputPathError, match="path not found"):  # never indexed: still an error
        ingest([tmp_path / "never-there"], settings, embedder, store)
    for dotted in (corpus / "missing" / "..", corpus / "textbook" / "rlhf.md" / ".."):  # names corpus, not gone
        with pytest.raises(InputPathError, match="path not found"):
            ingest([dotted], settings, embedder, store)
    assert set(_pages(store, settings)) == set(before) - {*wiki, "single.md"}


def test_a_hard_link_in_another_given_folder_leaves_the_indexed_name_the_page(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """ "ingest f1 f2", f2/x.md indexed and f1/x.md a new name of the same file: f2/x.md stays the page and is
    still updated when the file changes (the swap was refused, as both names have the id "x.md")."""
    first, second = tmp_path / "f1", tmp_path / "f2"
    first.mkdir()
    second.mkdir()
    shutil.copy(SAMPLE_CORPUS / "wiki" / "reward-hacking.md", second / "x.md")
    ingest([second], settings, embedder, store)
    os.link(second / "x.md", first / "x.md")
    assert ingest([first, second], settings, embedder, store).unchanged == ["x.md"]
    with (second / "x.md").open("a", encoding="utf-8") as page:
        page.write("\nA new closing sentence about reward hacking in practice.\n")
    assert ingest([first, second], settings, embedder, store).updated == ["x.md"]
    assert _pages(store, settings) == {"x.md": str(second.resolve())}


def _refuse_lstat(monkeypatch: pytest.MonkeyPatch, refused: Path) -> None:
    """``os.lstat`` of ``refused`` fails as a folder without permission makes it fail."""
    from alignment_qa.ingest import pipeline

    real_lstat = os.lstat

    def refusing_lstat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if Path(str(path)) == refused:
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline.os, "lstat", refusing_lstat)


def test_a_path_that_cannot_be_read_is_not_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only "not found" makes a given path gone: one under a folder without permission keeps its pages."""
    from alignment_qa.ingest import pipeline

    locked = tmp_path / "c" / "sub"
    _refuse_lstat(monkeypatch, locked)
    assert not pipeline._gone(locked) and pipeline._gone(tmp_path / "nowhere")


def test_a_page_that_cannot_be_read_under_an_inner_folder_is_not_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page indexed under an outer folder keeps its place when its file is only unreadable, not deleted."""
    from alignment_qa.ingest import pipeline

    inner = tmp_path / "corpus" / "inner"
    _refuse_lstat(monkeypatch, inner / "page.md")
    assert not pipeline._gone_from_inner_folder(inner / "page.md", [inner], [])
    assert pipeline._gone_from_inner_folder(inner / "deleted.md", [inner], [])
