"""Background work beside the annotation screen (predict-ahead, live refits) at a lower CPU priority."""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND_NICENESS = 10


def yield_to_the_screen() -> None:
    """Lower the calling thread's CPU priority (Linux: a thread is a task with its own nice value, and the
    threads it starts, torch's OpenMP workers among them, inherit it), so background prediction on a machine
    with few cores runs in the person's thinking time and never slows a key press. Elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
    except (OSError, AttributeError):  # a sandbox that forbids it: predict at normal priority
        pass
