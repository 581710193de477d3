"""The files a source's glob names: Python's glob semantics, each real file once.

``glob.glob(recursive=True)`` follows symbolic links into folders without noticing that
it has been there before: a link back to an ancestor under ``**`` makes it list the same
files again at every depth until the path is too long (a file read 41 times), and two
such links make the walk exponential. Here every real folder is entered once (the first
path to it in sorted order), and every real file (device and inode) is returned once,
under its first path in sorted order, so ``data/**/*.jsonl`` reads each file once however
the tree is linked.

Otherwise the patterns mean what they mean to ``glob``: ``*``, ``?`` and ``[...]`` within
one path segment, ``**`` as a whole segment for any number of folders (none included),
names starting with a dot matched only by a pattern segment that starts with one.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator

_MAGIC = re.compile(r"[*?[]")


def _has_magic(segment: str) -> bool:
    return _MAGIC.search(segment) is not None


def _identity(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _entries(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder or ".") as scan:
            return sorted(scan, key=lambda entry: entry.name)
    except OSError:
        return []


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows links
    except OSError:
        return False


class _Walk:
    """One pattern's walk; ``visited`` holds the real folders ``**`` has entered."""

    def __init__(self) -> None:
        self.visited: set[tuple[int, int]] = set()

    def folders_below(self, folder: str) -> Iterator[str]:
        """``folder`` and every folder under it (``**``), each real folder once, hidden
        ones left out as glob does."""
        identity = _identity(folder or ".")
        if identity is None or identity in self.visited:
            return
        self.visited.add(identity)
        yield folder
        for entry in _entries(folder):
            if not entry.name.startswith(".") and _is_folder(entry):
                yield from self.folders_below(os.path.join(folder, entry.name))

    def match(self, folder: str, segments: list[str]) -> Iterator[str]:
        if not segments:
            yield folder
            return
        segment, rest = segments[0], segments[1:]
        if segment == "**":
            for below in list(self.folders_below(folder)):
                if rest:
                    yield from self.match(below, rest)
                else:  # a last ``**`` names the files below as well
                    yield below
                    yield from (os.path.join(below, e.name) for e in _entries(below) if not e.name.startswith("."))
        elif not _has_magic(segment):
            path = os.path.join(folder, segment)
            if os.path.lexists(path):
                yield from self.match(path, rest)
        else:
            hidden_ok = segment.startswith(".")
            for entry in _entries(folder):
                if (hidden_ok or not entry.name.startswith(".")) and fnmatch.fnmatchcase(entry.name, segment):
                    if rest and not _is_folder(entry):
                        continue
                    yield from self.match(os.path.join(folder, entry.name), rest)


def glob_files(pattern: str) -> list[str]:
    """The regular files ``pattern`` matches, sorted, each real file once (its first path)."""
    if pattern.endswith(os.sep):
        return []  # names folders only, as in glob
    absolute = pattern.startswith(os.sep)
    segments = [segment for segment in pattern.split(os.sep) if segment not in ("", ".")]
    start = os.sep if absolute else ""
    found = sorted(set(_Walk().match(start, segments)))
    return unique_files(found)


def unique_files(paths: list[str]) -> list[str]:
    """The regular files among ``paths`` (in their order), each real file once."""
    seen: set[tuple[int, int]] = set()
    files = []
    for path in paths:
        if not os.path.isfile(path):
            continue
        identity = _identity(path)
        if identity is None or identity in seen:
            continue
        seen.add(identity)
        files.append(path)
    return files
