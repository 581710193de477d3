"""``zhcorpus`` with a kill at a chosen file-system operation of the publish step.

    KILL_AT=K KILL_SIGNAL=9 python -m tests.reliability.kill_harness run CONFIG --out DIR ...

Runs the real command line in this process; from the moment ``RunFolder.publish`` starts,
every rename, replace, unlink, rmdir, mkdir and folder exchange is counted, and the
process sends itself ``KILL_SIGNAL`` just before operation number K (SIGKILL: dies there;
SIGTERM: the command's own handler runs, as for a real stop). With K = 0 nothing is
killed and the number of operations is printed to stderr as ``OPERATIONS n``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from pipelines import cli, rundir

_kill_at = int(os.environ.get("KILL_AT", "0"))
_signal = int(os.environ.get("KILL_SIGNAL", str(int(signal.SIGKILL))))
_count = {"on": False, "n": 0}


def _before_operation() -> None:
    if not _count["on"]:
        return
    _count["n"] += 1
    if _count["n"] == _kill_at:
        os.kill(os.getpid(), _signal)
        _handled_here()


def _handled_here() -> None:
    """A Python call: the interpreter runs a pending signal's handler on entering it, so a
    SIGTERM is handled here, before the operation, as a real one between two would be."""


def _counted(module: Any, name: str) -> None:
    original = getattr(module, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _before_operation()
        return original(*args, **kwargs)

    setattr(module, name, wrapped)


for _name in ("rename", "replace", "unlink", "rmdir", "mkdir"):
    _counted(os, _name)
_counted(rundir, "exchange")
_publish = rundir.RunFolder.publish


def _counting_publish(self: rundir.RunFolder, staging: str) -> None:
    _count["on"] = True
    _publish(self, staging)


rundir.RunFolder.publish = _counting_publish  # type: ignore[method-assign]

if __name__ == "__main__":
    code = cli.main(sys.argv[1:])
    if _kill_at == 0:
        print(f"OPERATIONS {_count['n']}", file=sys.stderr)
    sys.exit(code)
