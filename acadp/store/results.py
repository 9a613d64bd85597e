"""The results store: a directory tree on the local disk or on object storage (``s3://…``), read and written through
``pyarrow.fs`` so the same code serves a laptop and a cluster with shared storage.

Writes are atomic: a file appears complete or not at all (on the local disk through
:func:`acadp.store.atomic.write_atomic`: temporary name, fsync, rename; object stores put whole objects). Paths inside
the store are POSIX strings relative to its root, as given by :mod:`acadp.store.layout`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyarrow import fs as pafs

from acadp.errors import StoreError, StoreFullError
from acadp.store.atomic import write_atomic
from acadp.store.space import disk_full


def _is_uri(location: str) -> bool:
    return "://" in location


class ResultsStore:
    """A rooted view of a file system: ``ResultsStore("results/quickstart")`` or ``ResultsStore("s3://bucket/x")``."""

    def __init__(self, location: str | Path) -> None:
        text = str(location)
        try:
            if _is_uri(text):
                self.fs, root = pafs.FileSystem.from_uri(text)
            else:
                self.fs, root = pafs.LocalFileSystem(), str(Path(text).expanduser().resolve())
        except Exception as error:  # pyarrow raises several types for a bad URI; report them as one
            raise StoreError(f"cannot open results storage {text!r}: {error}") from error
        self.root = root.rstrip("/")
        self.uri = text if _is_uri(text) else self.root
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)

    @classmethod
    def on_filesystem(cls, fs: pafs.FileSystem, root: str, *, uri: str) -> ResultsStore:
        """A store on an already-open ``pyarrow`` file system (e.g. a mounted bucket); ``uri`` names it in messages."""
        store = cls.__new__(cls)
        store.fs, store.root, store.uri = fs, root.rstrip("/"), uri
        store.is_local = isinstance(fs, pafs.LocalFileSystem)
        return store

    def path(self, rel: str) -> str:
        """The file system path of ``rel`` (for pyarrow or, on a local store, for the OS)."""
        return f"{self.root}/{rel}" if rel else self.root

    def local_path(self, rel: str) -> Path:
        """``rel`` as a local path; only for local stores (MLflow's SQLite file, figures served to a browser)."""
        if not self.is_local:
            raise StoreError(f"{self.uri} is not on the local disk; {rel} has no local path")
        return Path(self.path(rel))

    def location_of(self, rel: str) -> str:
        """``rel`` as a location other tools can open: a local path, or a URI on object storage (``s3://…/rel``)."""
        return self.path(rel) if self.is_local else f"{self.uri}/{rel}"

    def require_writable(self) -> None:
        """Raise :class:`StoreError` (one line, naming the folder and what to do) unless this local store can be
        written: its folder exists (or, not created yet, its parent or grandparent does: the storage root and the folder
        holding it), is a folder, and takes a new file. Creates nothing that stays. Object stores are not checked."""
        if not self.is_local:
            return
        root = Path(self.root)
        existing = next((folder for folder in (root, root.parent, root.parent.parent) if folder.exists()), None)
        if existing is None:
            raise StoreError(
                f"results store {root}: neither {root.parent} nor its parent {root.parent.parent} exists; create the "
                "storage folder first (or mount it), or give another --storage"
            )
        if not existing.is_dir():
            raise StoreError(f"results store {root}: {existing} is not a folder; give another --storage")
        try:
            handle, probe = tempfile.mkstemp(prefix=".acadp-write-probe-", dir=existing)
        except OSError as error:
            raise StoreError(
                f"results store {root}: cannot write in {existing} ({error.strerror}); make it writable, or give "
                "another --storage"
            ) from None
        os.close(handle)
        os.unlink(probe)

    def exists(self, rel: str) -> bool:
        return self.fs.get_file_info(self.path(rel)).type != pafs.FileType.NotFound

    def makedirs(self, rel: str) -> None:
        with self.full_device_named(rel):
            self.fs.create_dir(self.path(rel), recursive=True)

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write ``data`` to ``rel`` atomically (readers see the old content or the new, never a mix).

        A full device raises :class:`StoreFullError` naming the store; the old content of ``rel`` stays."""
        with self.full_device_named(rel):
            if self.is_local:
                write_atomic(Path(self.path(rel)), data)
                return
            self.makedirs(rel.rsplit("/", 1)[0] if "/" in rel else "")
            with self.fs.open_output_stream(self.path(rel)) as stream:
                stream.write(data)

    @contextmanager
    def full_device_named(self, rel: str) -> Iterator[None]:
        """Turn a full device under the block into :class:`StoreFullError` naming this store and ``rel``."""
        try:
            yield
        except StoreFullError:
            raise
        except OSError as error:
            if not disk_full(error):
                raise
            raise StoreFullError(self.full_message(f"{error.strerror or error} writing {rel}")) from error

    def full_message(self, detail: str) -> str:
        """The one line for a full store: which store, what failed (``detail``), what to do (callers add the command
        to run once there is space)."""
        return f"results store {self.uri} is full ({detail}); free space on its device (or give another --storage)"

    def read_bytes(self, rel: str) -> bytes:
        try:
            with self.fs.open_input_stream(self.path(rel)) as stream:
                return bytes(stream.read())
        except FileNotFoundError as error:
            raise StoreError(f"{self.uri}: {rel} does not exist") from error

    def write_json(self, rel: str, payload: Any) -> None:
        self.write_bytes(rel, (json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())

    def read_json(self, rel: str) -> Any:
        return json.loads(self.read_bytes(rel))

    def list_dir(self, rel: str) -> list[str]:
        """Names (not paths) of the entries directly under ``rel``; empty if ``rel`` does not exist."""
        if not self.exists(rel):
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(self.path(rel), recursive=False))
        return sorted(info.base_name for info in infos)

    def list_files(self, rel: str) -> list[str]:
        """Paths (relative to ``rel``, POSIX) of every file anywhere under ``rel``; empty if ``rel`` does not exist."""
        if not self.exists(rel):
            return []
        base = self.path(rel).rstrip("/") + "/"
        infos = self.fs.get_file_info(pafs.FileSelector(self.path(rel), recursive=True))
        return sorted(info.path.removeprefix(base) for info in infos if info.type == pafs.FileType.File)

    @contextmanager
    def local_copy(self, rel: str) -> Iterator[Path]:
        """A local folder holding what lies under ``rel`` (for tools that need files, e.g. MLflow's artifact logging):
        the folder itself on a local store, else a temporary copy, removed when the ``with`` block ends."""
        if self.is_local:
            yield Path(self.path(rel))
            return
        with tempfile.TemporaryDirectory(prefix="acadp-store-") as tmp:
            local = Path(tmp)
            for name in self.list_files(rel):
                target = local / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.read_bytes(f"{rel}/{name}"))
            yield local

    def delete(self, rel: str) -> None:
        """Remove the file or directory tree ``rel`` if it exists."""
        info = self.fs.get_file_info(self.path(rel))
        if info.type == pafs.FileType.Directory:
            self.fs.delete_dir(self.path(rel))
        elif info.type == pafs.FileType.File:
            self.fs.delete_file(self.path(rel))
