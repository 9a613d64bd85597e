"""Atomic writes: a failed write keeps the old file and no temporary file; the results store writes through them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from acadp.store.atomic import atomic_path, write_atomic
from acadp.store.results import ResultsStore


def files_under(root: Path) -> list[str]:
    """Every file below ``root`` (hidden temporary files included), relative and sorted."""
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def failing(name: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(f"simulated {name} failure")

    return fail


def test_write_creates_parents_and_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "result.json"
    assert write_atomic(target, "old") == target
    write_atomic(target, b"new \x00 bytes")
    assert target.read_bytes() == b"new \x00 bytes"
    assert files_under(tmp_path) == ["a/b/result.json"]
    assert target.stat().st_mode & 0o777 == 0o644  # readable by others, not mkstemp's 0600


def test_text_is_written_as_utf8(tmp_path: Path) -> None:
    write_atomic(tmp_path / "note.md", "α* ≥ 0.5")
    assert (tmp_path / "note.md").read_bytes() == "α* ≥ 0.5".encode()


def test_content_is_fsynced_then_renamed_within_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[Any] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        events.append(("fsync", os.fstat(descriptor).st_size))
        real_fsync(descriptor)

    def replace(src: Any, dst: Any) -> None:
        events.append(("replace", Path(src).parent, Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "sub" / "state.pt"
    write_atomic(target, b"12345")
    assert events == [("fsync", 5), ("replace", target.parent, target)]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    target = tmp_path / "result.json"
    write_atomic(target, "old")
    monkeypatch.setattr(os, step, failing(step))
    with pytest.raises(OSError, match=f"simulated {step}"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert files_under(tmp_path) == ["result.json"]


def test_failed_first_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "replace", failing("replace"))
    with pytest.raises(OSError):
        write_atomic(tmp_path / "out" / "figure.png", b"png")
    assert files_under(tmp_path) == []


def test_writer_that_raises_midway_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "prepared" / "mnist-v1.npz"
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, x=np.arange(3))
    with pytest.raises(RuntimeError, match="interrupted"), atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(b"half a file")
        raise RuntimeError("interrupted")
    with np.load(target) as arrays:
        assert arrays["x"].tolist() == [0, 1, 2]
    assert files_under(tmp_path) == ["prepared/mnist-v1.npz"]


def test_atomic_path_is_a_fresh_file_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "weights.pt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target and tmp.name.startswith(".")
        assert tmp.exists() and tmp.stat().st_size == 0 and not target.exists()
        tmp.write_bytes(b"w")
    assert target.read_bytes() == b"w" and not tmp.exists()


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_local_store_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    store = ResultsStore(tmp_path / "sweep")
    store.write_json("trials/k/result.json", {"success": 0.5})
    monkeypatch.setattr(os, step, failing(step))
    with pytest.raises(OSError, match=f"simulated {step}"):
        store.write_json("trials/k/result.json", {"success": 0.9})
    with pytest.raises(OSError, match=f"simulated {step}"):
        store.write_bytes("trials/k/checkpoint/state.pt", b"\x00")
    monkeypatch.undo()
    assert store.read_json("trials/k/result.json") == {"success": 0.5}
    assert files_under(tmp_path / "sweep") == ["trials/k/result.json"]


def test_local_store_write_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(os.fstat(descriptor).st_size)
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    store = ResultsStore(tmp_path / "sweep")
    store.write_bytes("progress.json", b"{}\n")
    assert synced == [3]
    assert store.read_bytes("progress.json") == b"{}\n"
