"""A full device is recognised whatever layer its error passed through: an OSError's errno (ENOSPC, EDQUOT), a chain
of exceptions raised from one, SQLite's and pyarrow's wording; other errors are not."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from acadp.store.space import disk_full


def raised_from(cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("the tracking call failed") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        raised_from(OSError(errno.ENOSPC, "No space left on device")),
        raised_from(sqlite3.OperationalError("database or disk is full")),
        OSError("[errno 28] No space left on device"),  # pyarrow's: no errno attribute, only the words
    ],
)
def test_a_full_device_is_recognised(error: BaseException) -> None:
    assert disk_full(error)


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.EACCES, "Permission denied"),
        OSError(errno.EROFS, "Read-only file system"),
        raised_from(sqlite3.OperationalError("database is locked")),
        ValueError("loss is nan"),
    ],
)
def test_other_errors_are_not_a_full_device(error: BaseException) -> None:
    assert not disk_full(error)
