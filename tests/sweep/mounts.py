"""Real file systems with a fault for the store tests: a size-limited tmpfs (a disk that fills up) and a read-only
folder. Mounting needs root (CI runs as root); where it is not allowed the test is skipped with the reason."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(mount_point: Path, *, size: str, read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. ``"64m"``) mounted at ``mount_point`` for the block; unmounted afterwards (lazily, if
    a process still has a file open there). Skips the test where mounting is not allowed."""
    mount_point.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)], capture_output=True, text=True, check=False
    )
    if mounted.returncode != 0:
        reason = (mounted.stderr or mounted.stdout).strip() or f"exit status {mounted.returncode}"
        pytest.skip(f"cannot mount a tmpfs at {mount_point} (needs root and CAP_SYS_ADMIN): {reason}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


@contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    """A folder no file can be created in: a read-only tmpfs as root (permissions do not stop root), else a folder
    without write permission."""
    if os.geteuid() == 0:
        with tmpfs(path, size="1m", read_only=True):
            yield path
        return
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield path
    finally:
        path.chmod(stat.S_IRWXU)


def fill(mount_point: Path, *, name: str = "ballast") -> Path:
    """Write zeros to ``mount_point/name`` until the file system is full (ENOSPC); returns the file."""
    ballast = mount_point / name
    chunk = b"\0" * (1 << 20)
    with open(ballast, "ab", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    # the last partial chunk may have left a few pages: fill them byte-block by byte-block
    with open(ballast, "ab", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return ballast
