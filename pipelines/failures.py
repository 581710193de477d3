"""How a command ends when something goes wrong: one line on stderr and an exit code.

Misuse (a bad config, command line or --out) is exit 2 before any work; a failure while
working is exit 1 with one line saying what failed (``--verbose`` adds the traceback); a
stop by SIGTERM, SIGHUP or Ctrl-C cleans up like a failure and exits 128 + the signal.
A full disk is named as such, with the free space and what the run needs.
"""

from __future__ import annotations

import contextlib
import errno
import re
import shutil
import signal
from collections.abc import Iterator
from types import FrameType

from corpus.config import RunConfig, find_inputs

EXIT_OK, EXIT_FAILED, EXIT_BAD_CONFIG = 0, 1, 2
DISK_FACTOR = 4
"""A run needs free disk of about this many times its input (uncompressed) while it runs:
the read documents, dedup's groupings and the outputs wait on disk (bench/README.md)."""
COMPRESSED_FACTOR = 4
"""A compressed input file is counted as this many times its size."""
_COMPRESSED = (".gz", ".zst", ".bz2", ".xz", ".zip")


class RunFailed(Exception):
    """A command failed while working; the message is the one line shown (exit 1)."""


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM, SIGHUP): raised in the main thread so that
    the command cleans up on its way out. A BaseException, so that no ``except Exception``
    on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.outcome = ""
        """What the stop left, when the command knows (set on the way out)."""


def _raise_terminated(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def stoppable() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``Terminated`` while the block runs (Python's default
    would end the process at once, with nothing cleaned up)."""
    previous = {signum: signal.signal(signum, _raise_terminated) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def stop_children(grace_seconds: float = 3.0) -> None:
    """End the worker processes a runner started (a stopped run must not leave them
    writing); their outputs go nowhere, since the run's staging folder is deleted."""
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_seconds)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_disk_full(exc: BaseException) -> bool:
    """A full disk, raised here or in a worker (whose error reaches us as text)."""
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "[Errno 28]" in str(link) or "No space left on device" in str(link):
            return True
    return False


_ERROR_LINE = re.compile(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit|Interrupt))(?::\s*(.*))?$")


def one_line(exc: BaseException) -> str:
    """The innermost error of ``exc`` in one line. Runners re-raise a worker's error with
    its whole traceback in the message: its last ``SomeError: message`` line is the cause."""
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        match = _ERROR_LINE.match(line)
        if match and len(lines) > 1:
            return f"{match.group(1)}: {match.group(2) or ''}".rstrip(": ")
    first = lines[0] if lines else ""
    if len(first) > 300:
        first = first[:300] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def input_bytes(config: RunConfig) -> int:
    """The input's size, compressed files counted as ``COMPRESSED_FACTOR`` times theirs."""
    import os

    total = 0
    for source in config.sources:
        for file in find_inputs(source):
            with contextlib.suppress(OSError):
                size = os.path.getsize(file.path)
                total += size * (COMPRESSED_FACTOR if file.path.endswith(_COMPRESSED) else 1)
    return total


def disk_message(folder: str, need_bytes: int) -> str:
    free = shutil.disk_usage(folder).free
    return (
        f"no space left on device writing {folder}: {free / 1e6:,.0f} MB free, "
        f"the run needs about {need_bytes / 1e6:,.0f} MB ({DISK_FACTOR}x its input)"
    )
