"""The life of a run's output folder: who may write it, what may be replaced, and how a
finished run is put in place.

``--out DIR`` is only ever one of three things: absent, an empty folder, or a complete
zhcorpus run, recognised by its marker file (``MARKER``), which counts the files the run
wrote in each of its folders. Anything else in it (a file the user put there, a review
sheet, a run of a zhcorpus before the marker) is never deleted: the run is refused.

A run is built beside ``DIR``, in its work folder ``.DIR.zhcorpus/`` (same parent, so
the same file system), and put in place with one rename: ``renameat2(RENAME_EXCHANGE)``
swaps the new run and the old one atomically (Linux, on ext4, xfs, btrfs, tmpfs and
most local file systems), so at every instant ``DIR`` holds the whole previous run or
the whole new one, whatever kills the process. The old run, now in the work folder, is
renamed to ``trash-*`` and deleted. Where the file system cannot exchange, ``DIR`` is
moved aside and the new run renamed into its place, with a journal: killed between the
two renames, ``DIR`` is missing for that instant, and the next command on it finishes
the move before anything else.

One run per ``DIR`` at a time: the work folder's ``lock`` file is held with ``flock``,
which the kernel releases when its holder dies, however it dies; a second run exits at
once. The next run on ``DIR`` removes what a killed one left in the work folder, and
the work folder itself goes when a run ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator

from corpus.config import ConfigError
from corpus.writers import write_atomic

MARKER = ".zhcorpus-run"
"""In a published run: what zhcorpus wrote there (JSON: file counts per folder)."""
MARKER_FORMAT = 1
WORK_SUFFIX = ".zhcorpus"
LOCK = "lock"
JOURNAL = "publishing.json"
"""Written only where the file system cannot exchange two folders: the move in progress."""
STAGING_PREFIX = "staging-"
TRASH_PREFIX = "trash-"

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGTERM, SIGHUP and SIGINT wait until the block ends: clean-up that a stop would cut
    short (a work folder half removed) finishes first, and the stop comes after it."""
    deferred = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class RunFolderError(ConfigError):
    """--out cannot be used as asked (exit code 2, before any work)."""


def exchange(first: str, second: str) -> bool:
    """Swap two paths atomically; False where the kernel or file system cannot."""
    libc = ctypes.CDLL(None, use_errno=True)
    function = getattr(libc, "renameat2", None)
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), first)


def _count_files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def inventory(run_dir: str) -> dict[str, int]:
    """Top-level entry -> files in it (1 for a file): what a run wrote, for its marker."""
    counts: dict[str, int] = {}
    for name in sorted(os.listdir(run_dir)):
        if name == MARKER:
            continue
        path = os.path.join(run_dir, name)
        counts[name] = _count_files(path) if os.path.isdir(path) and not os.path.islink(path) else 1
    return counts


def write_marker(run_dir: str) -> None:
    """The marker, written last into a finished run before it is published."""
    data = {"written_by": "zhcorpus", "format": MARKER_FORMAT, "files": inventory(run_dir)}
    write_atomic(os.path.join(run_dir, MARKER), (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def read_marker(run_dir: str) -> dict[str, int] | None:
    """The file counts a run's marker records, or None when ``run_dir`` has no valid marker."""
    try:
        with open(os.path.join(run_dir, MARKER), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) and data.get("written_by") == "zhcorpus" else None
    if not isinstance(files, dict) or not all(isinstance(v, int) for v in files.values()):
        return None
    return files


def _rewritable(name: str) -> bool:
    """Top-level names zhcorpus itself may add to a published run: the report (``zhcorpus
    report`` writes one into a run made with --no-report) and the temporary files of an
    interrupted report."""
    return name.split(".tmp-", 1)[0] in ("report.html", "report.md")


def foreign_entries(run_dir: str) -> list[str]:
    """What a run folder holds that its marker does not account for: names it does not
    record, and folders whose file count changed. Empty for an untouched run."""
    recorded = read_marker(run_dir)
    if recorded is None:
        return sorted(os.listdir(run_dir))
    found = inventory(run_dir)
    foreign = []
    for name, count in found.items():
        if name in recorded:
            if count != recorded[name] and os.path.isdir(os.path.join(run_dir, name)):
                foreign.append(f"{name}/ ({count} files, the run wrote {recorded[name]})")
        elif not _rewritable(name):
            foreign.append(name + ("/" if os.path.isdir(os.path.join(run_dir, name)) else ""))
    return foreign


def _listing(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _remove_tree(path: str) -> None:
    """Delete a file or folder of the work folder (under a trash name: a kill half-way
    leaves a name the next run knows it may delete, never a half-deleted run)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


class RunFolder:
    """One ``--out`` folder, locked for the life of the object (a context manager)."""

    def __init__(self, out: str) -> None:
        if not out or not out.strip():
            raise RunFolderError("--out is empty: name the folder the run is written to")
        self.path = os.path.realpath(out)
        parent, name = os.path.split(self.path)
        if not name:
            raise RunFolderError(f"--out {out}: the root folder cannot hold a run")
        self.shown = out
        self.work = os.path.join(parent, f".{name}{WORK_SUFFIX}")
        self._lock_fd: int | None = None
        self._staged: tuple[int, int] | None = None
        """(device, inode) of the folder being published: the folder keeps them when renamed."""
        ancestor = parent
        while not os.path.exists(ancestor):
            ancestor = os.path.dirname(ancestor)
        if not os.path.isdir(ancestor):
            raise RunFolderError(f"--out {out}: {ancestor} is a file, not a folder")
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise RunFolderError(f"--out {out} is a file, not a folder")
        cwd = os.path.realpath(os.getcwd())
        if cwd == self.path or cwd.startswith(self.path + os.sep):
            raise RunFolderError(f"--out {out} is the current folder or holds it: name a folder beside it")
        if os.path.isdir(self.path) and os.path.ismount(self.path):
            raise RunFolderError(f"--out {out} is a mount point: name a folder inside it (a run is swapped in by a rename)")

    # --- the lock ---------------------------------------------------------------------------

    def __enter__(self) -> RunFolder:
        self._acquire()
        try:
            self._clear_work()  # what killed runs left
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._release()

    def _acquire(self) -> None:
        lock_path = os.path.join(self.work, LOCK)
        while True:
            try:
                os.makedirs(self.work, exist_ok=True)
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:
                continue  # a finishing run removed the work folder in between
            except OSError as exc:
                raise RunFolderError(f"--out {self.shown}: cannot create its work folder {self.work}: {exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
                os.close(fd)
                raise RunFolderError(
                    f"--out {self.shown} is being written by another zhcorpus run ({holder}); wait for it to end or stop it"
                ) from None
            try:  # the lock file a finishing run removed is not the lock any more
                current = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                break
            os.close(fd)
        holder = f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        self._lock_fd = fd

    def _release(self) -> None:
        if self._lock_fd is None:
            return
        with _signals_deferred():
            with contextlib.suppress(OSError):
                self._clear_work()
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.work, LOCK))
            with contextlib.suppress(OSError):
                os.rmdir(self.work)
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- what a killed run left -------------------------------------------------------------

    def _finish_journal(self) -> None:
        """``DIR`` missing after the first of the two renames: put the new run in place if
        it is whole, else the old one back."""
        journal = os.path.join(self.work, JOURNAL)
        if not os.path.exists(journal):
            return
        with open(journal, encoding="utf-8") as handle:
            move = json.load(handle)
        if not os.path.exists(self.path):
            if read_marker(move["new"]) is not None:
                os.rename(move["new"], self.path)
            elif os.path.exists(move["old"]):
                os.rename(move["old"], self.path)
        os.unlink(journal)

    def _clear_work(self) -> None:
        self._finish_journal()
        for name in sorted(os.listdir(self.work)):
            path = os.path.join(self.work, name)
            if name.startswith(STAGING_PREFIX):
                trash = os.path.join(self.work, TRASH_PREFIX + uuid.uuid4().hex)
                os.rename(path, trash)
                _remove_tree(trash)
            elif name.startswith(TRASH_PREFIX):
                _remove_tree(path)

    # --- checks -------------------------------------------------------------------------------

    def is_run(self) -> bool:
        return os.path.isdir(self.path) and read_marker(self.path) is not None

    def check_replaceable(self, overwrite: bool) -> None:
        """--out may receive a run: absent, empty, or (with --overwrite) an untouched run."""
        if not os.path.exists(self.path):
            return
        entries = os.listdir(self.path)
        if not entries:
            return
        if read_marker(self.path) is None:
            raise RunFolderError(
                f"--out {self.shown} holds files zhcorpus did not write ({_listing(sorted(entries))}); "
                "name a new or empty folder (a run of a zhcorpus before its run marker: delete it yourself)"
            )
        if not overwrite:
            raise RunFolderError(f"--out {self.shown} holds a finished run; pass --overwrite to replace it")
        foreign = foreign_entries(self.path)
        if foreign:
            raise RunFolderError(
                f"--out {self.shown} holds a run and files it did not write ({_listing(foreign)}): move them out first"
            )

    def require_run(self) -> None:
        if not self.is_run():
            raise RunFolderError(f"{self.shown}: not a finished zhcorpus run (no {MARKER})")

    def holds(self, paths: Iterable[str]) -> list[str]:
        """The ``paths`` (inputs) that lie under the run folder or its work folder."""
        inside = (self.path + os.sep, self.work + os.sep)
        return [path for path in paths if os.path.realpath(path).startswith(inside)]

    # --- staging and publishing ---------------------------------------------------------------

    def new_staging(self) -> str:
        """A fresh folder for a run in progress; unique, so that a killed run's stray
        workers can never write into the next run's."""
        staging = os.path.join(self.work, f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}")
        os.mkdir(staging)
        return staging

    @property
    def published(self) -> bool:
        """Whether ``DIR`` holds the run that ``publish`` was given (an interrupted command
        says which run the folder holds)."""
        try:
            status = os.stat(self.path)
        except OSError:
            return False
        return self._staged == (status.st_dev, status.st_ino)

    def discard(self, staging: str) -> None:
        """Delete a staging folder (after a failure, or the previous run once swapped out)."""
        with _signals_deferred():
            self._finish_journal()
            if os.path.exists(staging):
                trash = os.path.join(self.work, TRASH_PREFIX + uuid.uuid4().hex)
                os.rename(staging, trash)
                _remove_tree(trash)

    def publish(self, staging: str) -> None:
        """Put the finished run in ``staging`` in place of --out, atomically."""
        write_marker(staging)
        status = os.stat(staging)
        self._staged = (status.st_dev, status.st_ino)
        if not os.path.exists(self.path) or not os.listdir(self.path):
            os.rename(staging, self.path)  # replaces an empty folder in one step too
            return
        if exchange(staging, self.path):
            self.discard(staging)  # it holds the previous run now
            return
        old = os.path.join(self.work, TRASH_PREFIX + uuid.uuid4().hex)
        journal = os.path.join(self.work, JOURNAL)
        write_atomic(journal, json.dumps({"old": old, "new": staging}).encode())
        os.rename(self.path, old)
        os.rename(staging, self.path)
        os.unlink(journal)
        _remove_tree(old)


def link_tree(source: str, target: str, skip: Iterable[str] = ()) -> None:
    """``target`` as a copy of the run in ``source`` made of hard links (a copy where the
    file system has none), leaving out the top-level ``skip`` names. Files are only ever
    replaced by rename, never written in place, so the links never change the original."""
    skipped = set(skip) | {MARKER}
    for root, folders, files in os.walk(source):
        relative = os.path.relpath(root, source)
        if relative == ".":
            folders[:] = [name for name in folders if name not in skipped]
            files = [name for name in files if name not in skipped]
        os.makedirs(os.path.join(target, relative), exist_ok=True)
        for name in files:
            src, dst = os.path.join(root, name), os.path.join(target, relative, name)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
