"""Atomic file writes: a reader sees either the old file or the whole new one, never half a file.

Every durable local write of acadp goes through :func:`atomic_path` (directly, for writers that need a file name such
as ``torch.save`` or ``DataFrame.to_csv``, or through :func:`write_atomic` for bytes and text). The new content goes
to a hidden temporary name in the target's directory (same file system, so the rename is atomic), is flushed to disk
with :func:`os.fsync` and moved into place with :func:`os.replace`; a failed write leaves the old file as it was and
no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644  # mkstemp creates 0600; results and caches are meant to be read by others


def _fsync(path: Path) -> None:
    """Flush the content of the (closed) file ``path`` to disk."""
    descriptor = os.open(path, os.O_RDWR)  # read-only descriptors cannot be fsynced on every platform
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write the new content of ``path`` to; moved into place when the ``with`` block ends.

    Creates the parent folders of ``path``. The temporary file exists (empty) when the block starts and must be closed
    when it ends; it is then fsynced and renamed to ``path``. If the block (or the fsync or rename) raises, the
    temporary file is removed, ``path`` is left as it was and the error propagates.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _fsync(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8 encoded) to ``path`` atomically, creating parent folders; returns ``path``."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return path
