"""When the device holding the results store is full: how to tell, whatever layer the error passed through.

A full device shows up as ``OSError`` ENOSPC (or EDQUOT: the user's quota is spent) from a write, as SQLite's
"database or disk is full" behind MLflow, as ``pyarrow``'s "No space left on device", and, in the driver, only as the
text of a Ray trial's error. None of these is a trial's failure: the driver stops and the sweep resumes once there is
space again.
"""

from __future__ import annotations

import errno
import re

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# The words of the same fault after a library or a process boundary turned it into text
DISK_FULL_TEXT = re.compile(r"No space left on device|Disk quota exceeded|database or disk is full|StoreFullError")
MAX_CHAIN = 20  # exceptions followed through __cause__ / __context__


def disk_full(error: BaseException) -> bool:
    """Whether ``error`` or an exception it was raised from says the device is full."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < MAX_CHAIN:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_FULL_ERRNOS:
            return True
        if DISK_FULL_TEXT.search(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


def disk_full_text(text: str) -> bool:
    """Whether an error's text (e.g. a Ray trial's traceback) says the device is full."""
    return DISK_FULL_TEXT.search(text) is not None


class StoreFullNotice:
    """The first report that the store is full, from whichever part of a driver saw it (a trial's failure, the lease
    heartbeat, Ray Tune's own writes); later reports are dropped. Plain data: Ray Tune reads it through a stopper."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def note(self, reason: str) -> None:
        """Keep ``reason`` (one line naming the store and what to do) unless an earlier report was kept."""
        if self.reason is None:
            self.reason = reason
