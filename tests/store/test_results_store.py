"""The results store on the local disk and on an object-store-like file system (put-whole-object semantics)."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import pytest
from pyarrow import fs as pafs

from acadp.errors import StoreError
from acadp.store.results import ResultsStore


def memory_store() -> ResultsStore:
    """A store on fsspec's in-memory file system through pyarrow: not a LocalFileSystem, like s3://."""
    memory = fsspec.filesystem("memory")  # one process-wide store: give every test a root of its own
    root = f"/bucket/{uuid.uuid4().hex}"
    return ResultsStore.on_filesystem(pafs.PyFileSystem(pafs.FSSpecHandler(memory)), root, uri=f"memory://{root}")


@pytest.fixture(params=["local", "remote"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ResultsStore:
    return ResultsStore(tmp_path / "sweep") if request.param == "local" else memory_store()


def test_round_trips_files_and_json(store: ResultsStore) -> None:
    store.write_json("trials/a/result.json", {"success": 0.5, "epsilon": "inf"})
    store.write_bytes("trials/a/checkpoint/state.pt", b"\x00\x01")
    assert store.read_json("trials/a/result.json") == {"success": 0.5, "epsilon": "inf"}
    assert store.read_bytes("trials/a/checkpoint/state.pt") == b"\x00\x01"
    assert store.list_dir("trials") == ["a"] and store.list_dir("trials/a") == ["checkpoint", "result.json"]
    assert store.exists("trials/a") and not store.exists("trials/b")
    store.delete("trials/a/checkpoint")
    assert store.list_dir("trials/a") == ["result.json"]


def test_overwrite_leaves_no_temporary_files(store: ResultsStore) -> None:
    for value in range(3):
        store.write_json("progress.json", {"epoch": value})
    assert store.read_json("progress.json") == {"epoch": 2}
    assert store.list_dir("") == ["progress.json"]


def test_strict_json_and_clear_errors(store: ResultsStore) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        store.write_json("x.json", {"value": float("nan")})
    with pytest.raises(StoreError, match="does not exist"):
        store.read_bytes("missing.json")


def test_only_local_stores_have_local_paths(tmp_path: Path) -> None:
    assert ResultsStore(tmp_path).local_path("a/b") == tmp_path.resolve() / "a" / "b"
    with pytest.raises(StoreError, match="not on the local disk"):
        memory_store().local_path("a")


def test_file_uris_are_local(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path.as_uri())
    store.write_json("a.json", {"x": 1})
    assert (tmp_path / "a.json").exists() and store.is_local
