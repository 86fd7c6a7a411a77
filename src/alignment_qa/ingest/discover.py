"""Find the page files under the paths a user gives, and say why any candidate is skipped.

A page's id is its path relative to the root it was found under, in POSIX form. Folders are
walked recursively; hidden files and folders (``.git``) and files with other extensions are
ignored silently, while broken symlinks, symlink loops, symlinks that lead outside the folder
being walked, non-regular files and names that are not UTF-8 or hold control characters (a page
id is shown in terminals and pages) are reported, paths shown with such characters escaped. A file
given by itself obeys the same rules (extension, hidden name, name, regular file), each refusal
reported with its reason; a path given whose name has such characters is refused. A file reached twice (under a
folder and a folder inside it, given together, or through a symlink) is one page, with its id under the outermost
folder and its own path (folders reached through a link are walked last); so is a file with two names (a hard
link): the name already indexed, else the first in the walk, is the page. A page whose name is now a symlink
leading outside its folder leaves the index (its text is no longer under the folder), while one whose file is only
unreadable for now, or a broken link, keeps its page.
Reading and cleaning the files is left to ``read`` and ``clean``.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from alignment_qa.errors import InputPathError


@dataclass(frozen=True)
class PageFile:
    """A file to read as a page."""

    page_id: str
    path: Path
    root: Path
    alone: bool = False  # given by itself, not found in a folder


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why. ``page_id`` is set for a file or folder (ending in
    ``/``) inside a synced root, so that pages indexed from it earlier are not removed."""

    path: str
    reason: str
    page_id: str | None = None


@dataclass
class Discovery:
    """What a walk found: the pages, the skipped files and the folders that are synced."""

    pages: list[PageFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    synced_roots: list[Path] = field(default_factory=list)
    ignored: int = 0


def discover(
    paths: Iterable[Path], extensions: Iterable[str], follow_symlinks: bool = True, indexed: Collection[str] = ()
) -> Discovery:
    """Walk ``paths``. A folder is a root whose page set is synced; a file is a single page. ``indexed``: the
    paths of pages already in the index, so that of a file's two names (a hard link) the indexed one stays the page.

    Raises ``InputPathError`` when a path does not exist, before anything else is done.
    """
    exts = {ext.lower() for ext in extensions}
    given = list(paths)
    for path in given:
        if not os.path.lexists(path):
            raise InputPathError(f"path not found: {path}")
        if not path.exists():
            raise InputPathError(f"path is a broken symbolic link: {path}")
        problem = next(filter(None, map(name_problem, path.absolute().parts)), None)
        if problem:  # a folder name is stored with every page and shown in answers
            raise InputPathError(f"{shown_path(path)}: {problem}")
    found = Discovery()
    seen_ids: dict[str, Path] = {}
    # a file under two given folders, linked twice or hard-linked under two names is one page
    seen_files: dict[str | tuple[int, int], Path] = {}
    for path in _outer_folders_first(given):
        resolved = path.resolve()
        alone = not resolved.is_dir()
        if not alone:
            found.synced_roots.append(resolved)
            candidates = _walk(resolved, exts, follow_symlinks, found)
            root = resolved
        else:
            root = Path(os.path.realpath(path.absolute().parent))  # a link stays the page, in its own folder
            problem = _single_file_problem(path, resolved, exts)
            if problem:
                found.skipped.append(Skipped(shown_path(path), problem))
                continue
            candidates = [path.absolute()]
        for candidate in sorted(candidates, key=os.path.islink):  # a file's own name before a link's to it
            real = os.path.realpath(candidate)
            same = _file_key(candidate)
            if real in seen_files:
                continue
            if same in seen_files:  # a hard link: one name is the page, the other is said to be skipped
                first = seen_files[same]
                page_id = _rel(candidate, root)
                at = next((i for i, page in enumerate(found.pages) if page.path == first), None)
                if (
                    at is not None
                    and str(candidate) in indexed
                    and str(first) not in indexed
                    and seen_ids.get(page_id) in (None, first)  # the id is free, or the other name's own
                ):
                    del seen_ids[found.pages[at].page_id]
                    found.pages[at] = PageFile(page_id=page_id, path=candidate, root=root, alone=alone)
                    seen_ids[page_id] = candidate
                    seen_files[same] = seen_files[real] = candidate
                    first, candidate = candidate, first
                found.skipped.append(Skipped(str(candidate), f"hard link to {first}: indexed once, there"))
                continue
            page_id = _rel(candidate, root)
            if page_id in seen_ids and seen_ids[page_id] != candidate:
                found.skipped.append(
                    Skipped(str(candidate), f"page id '{page_id}' already comes from {seen_ids[page_id]}")
                )
                continue
            if page_id not in seen_ids:
                seen_ids[page_id] = candidate
                seen_files[real] = candidate
                if same is not None:
                    seen_files[same] = candidate
                found.pages.append(PageFile(page_id=page_id, path=candidate, root=root, alone=alone))
    return found


def _file_key(path: Path) -> tuple[int, int] | None:
    """The device and inode of a file with more than one name (a hard link), else ``None`` (also where a file
    system reports no inode)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if info.st_nlink > 1 and info.st_ino else None


def _outer_folders_first(given: list[Path]) -> list[Path]:
    """Folders before files and shallower folders first, so that a folder comes before the folders inside it and a
    page under both ("ingest corpus corpus/wiki") gets its id under the outer one; folders of one depth, and files,
    in the order given (the first wins a clash of page ids)."""
    depth = {path: len(path.resolve().parts) for path in given}
    return sorted(given, key=lambda path: (not path.is_dir(), depth[path] if path.is_dir() else 0))


def _walk(root: Path, exts: set[str], follow_symlinks: bool, found: Discovery) -> list[Path]:
    """Files with a wanted extension under ``root``, sorted; problems go to ``found.skipped``."""
    files: list[Path] = []
    visited_dirs: set[tuple[int, int]] = set()
    stack = [root]
    linked: list[Path] = []  # folders reached through a link: walked last, so a folder's pages keep their own path
    while stack or linked:
        folder = stack.pop() if stack else linked.pop(0)
        try:
            info = folder.stat()
        except OSError as exc:
            found.skipped.append(
                Skipped(str(folder), f"cannot open folder: {exc.strerror or exc}", _rel(folder, root) + "/")
            )
            continue
        key = (info.st_dev, info.st_ino)
        if key in visited_dirs:
            found.skipped.append(Skipped(str(folder), "symlink loop or second name: folder already walked"))
            continue
        visited_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            found.skipped.append(
                Skipped(str(folder), f"cannot list folder: {exc.strerror or exc}", _rel(folder, root) + "/")
            )
            continue
        subfolders: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            problem = name_problem(entry.name)
            if problem:  # with its page id: a page indexed from it earlier is kept, not removed
                found.skipped.append(Skipped(shown_path(path), problem, _rel(path, root)))
                continue
            is_link = entry.is_symlink()
            if is_link and not follow_symlinks:
                found.ignored += 1
                continue
            try:
                mode = os.stat(path).st_mode
            except OSError as exc:
                if is_link:
                    found.skipped.append(Skipped(str(path), _link_problem(path, exc), _rel(path, root)))
                else:
                    found.skipped.append(Skipped(str(path), f"cannot stat: {exc.strerror or exc}", _rel(path, root)))
                continue
            if is_link and not Path(os.path.realpath(path)).is_relative_to(root):
                # no page id: a page indexed from this name before leaves the index, as its text is now outside
                found.skipped.append(Skipped(str(path), f"symlink leads outside {root}: not followed"))
                continue
            if stat.S_ISDIR(mode):
                (linked if is_link else subfolders).append(path)
            elif path.suffix.lower() not in exts:
                found.ignored += 1
            elif not stat.S_ISREG(mode):
                found.skipped.append(Skipped(str(path), "not a regular file", _rel(path, root)))
            else:
                files.append(path)
        stack.extend(reversed(subfolders))
    return sorted(files)


def _single_file_problem(path: Path, resolved: Path, exts: set[str]) -> str | None:
    """Why a file given by itself is not read as a page (the rules of a folder walk), or ``None``."""
    for name in {path.name, resolved.name}:
        if name.startswith("."):
            return "hidden file: not indexed"
        problem = name_problem(name)
        if problem:
            return problem
        if Path(name).suffix.lower() not in exts:
            shown = Path(name).suffix or "(none)"
            return f"extension {shown} is not one of ingest.extensions ({', '.join(sorted(exts))})"
    if not resolved.is_file():
        return "not a regular file"
    return None


# characters that reorder how a name reads ("\u202e" shows "gpj.md" for "dm.jpg"); zero-width joiners and
# no-break spaces, also invisible, are fine
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def name_problem(name: str) -> str | None:
    """Why a file or folder name cannot become part of a page id, or ``None``: bytes that are not UTF-8 (Python
    keeps them as surrogates, which no store or page can hold), or control characters (a terminal escape)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "the name is not valid UTF-8: rename it"
    if any(unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS for char in name):
        return "the name holds control characters: rename it"
    return None


def shown_path(path: Path | str) -> str:
    """``path`` for a message, its undecodable bytes, control characters and bidi controls escaped
    ("bad\\udcff.md")."""
    return "".join(
        ascii(char)[1:-1] if unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS else char
        for char in str(path)
    )


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name


def _link_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return f"broken symlink (points to {target})"
