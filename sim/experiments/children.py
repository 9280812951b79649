"""Child processes that end with the process that started them, however it ends.

On Linux a child asks the kernel for a parent-death signal (prctl PR_SET_PDEATHSIG, see
prctl(2)): when the thread that started it ends, a `kill -9` of the whole parent included, the
child gets SIGKILL. Elsewhere `die_with_parent` returns False and the caller keeps its own
watch (sim.experiments.evaluation polls its parent).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int | None = None, sig: int = signal.SIGKILL) -> bool:
    """Ask for `sig` when this process's parent ends; end now if `parent` (the pid expected)
    has already gone. Whether the system gives the signal (Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent is not None and os.getppid() != parent:  # the parent died before the request
        os._exit(1)
    return True


def child_of_this_process() -> callable:
    """A `preexec_fn` for subprocess.Popen: the child gets SIGKILL when this process ends."""
    parent = os.getpid()
    return lambda: die_with_parent(parent)
