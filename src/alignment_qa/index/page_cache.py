"""Page states kept between ingests, keyed by the collection's revision, so that an ingest need not read them.

Reading the page states from Chroma costs two records a page (``store.page_states``): 1.2 s for the 7,300 pages of
a 100x corpus, paid by every ingest before it knows whether anything changed. Every ingest gives the collection a
new revision before it writes (and so does a move of a page's folder), so the states as they were at revision R are
the states for as long as the revision is R. An ingest that knows what it wrote saves the states it leaves with the
revision it leaves (``save``); the next one, finding that revision, uses them (``load``) instead of reading. Any
other revision, a missing or unreadable file, and the states are read from the store as before. The file lives
beside the keyword index, under ``data_dir`` (``derived_folder``); deriving the states is left to ``ingest``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import fields
from pathlib import Path

from alignment_qa.index.store_api import PageState, Store, derived_folder

FORMAT_VERSION = 2
FILE_NAME = "page-states.json"
_FIELDS = tuple(field.name for field in fields(PageState))
log = logging.getLogger(__name__)


def _path(store: Store) -> Path:
    return derived_folder(store, "page-states") / FILE_NAME


def load(store: Store, revision: str) -> dict[str, PageState] | None:
    """The states saved for ``revision``, or None (none saved, another revision, unreadable)."""
    if not revision:
        return None
    try:
        saved = json.loads(_path(store).read_text(encoding="utf-8"))
        if saved.get("format") != FORMAT_VERSION or saved.get("revision") != revision:
            return None
        pages = saved["pages"].items()
        return {str(page_id): PageState(**{name: row[name] for name in _FIELDS}) for page_id, row in pages}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def save(store: Store, revision: str, states: dict[str, PageState]) -> None:
    """Keep ``states`` as those of ``revision`` (written to a temporary file, then renamed into place)."""
    path = _path(store)
    staging = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    data = {
        "format": FORMAT_VERSION,
        "revision": revision,
        "pages": {page_id: {name: getattr(state, name) for name in _FIELDS} for page_id, state in states.items()},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging.write_text(json.dumps(data), encoding="utf-8")
        os.replace(staging, path)
    except OSError as exc:  # a read-only data_dir: the next ingest reads the states from the store
        log.debug("page states not kept in %s: %s", path, exc)
        staging.unlink(missing_ok=True)
