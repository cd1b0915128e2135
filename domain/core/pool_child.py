"""What a process pool child (Runtime.workers()) runs first: it ends when its parent does.

A leaf module (standard library only): a spawned child imports it before any work, so it costs the
child no start-up time.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
POLL = 1.0  # seconds between looks at the parent's id where prctl is missing


def die_with_parent(parent: int) -> None:
    """Pool initializer: the child ends when its parent process `parent` (a server or worker) dies,
    even by kill -9, instead of living on as an orphan that computes for nobody. Linux: the kernel
    sends the child SIGKILL (prctl PR_SET_PDEATHSIG; it fires when the thread that started the child
    exits, and the pool starts its children from the submitting thread, the event loop's). Elsewhere
    a daemon thread polls the parent's id every POLL seconds and exits the child once it changed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except (AttributeError, OSError, TypeError):  # no prctl (not Linux), or no C library to load
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
