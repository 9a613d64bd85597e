"""Datasets with groups: the embedded mnist5k_spurious proportions and the WaterBirds loader on generated folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from acadp.data import load_dataset
from acadp.data.groups import group_counts
from acadp.data.spurious import TINT
from acadp.data.waterbirds import load_waterbirds
from acadp.errors import DataFormatError, DataMissingError


def test_mnist5k_spurious_group_proportions(tmp_path: Path) -> None:
    data = load_dataset("mnist5k_spurious", data_dir=tmp_path)
    assert data.n_classes == 2 and data.n_attributes == 2
    train, test = group_counts(data, "train"), group_counts(data, "test")
    # 95% of each class's training points agree with the tint, 5% (the two minority groups) do not
    assert train == {"0-4/plain": 1900, "0-4/tinted": 100, "5-9/plain": 100, "5-9/tinted": 1900}
    assert test == {"0-4/plain": 250, "0-4/tinted": 250, "5-9/plain": 250, "5-9/tinted": 250}
    # tinted images have no pixel below the tint; plain ones keep MNIST's black background
    assert data.a_train is not None
    assert data.x_train[data.a_train == 1].min() == pytest.approx(TINT)
    assert data.x_train[data.a_train == 0].min() == 0.0
    # the prepared cache keeps the groups
    again = load_dataset("mnist5k_spurious", data_dir=tmp_path)
    assert again.a_test is not None and data.a_test is not None
    assert np.array_equal(again.a_test, data.a_test)


ROWS = [  # img_filename, y, split, place
    ("001.Black_footed_Albatross/a.jpg", 1, 0, 1),
    ("001.Black_footed_Albatross/b.jpg", 1, 0, 0),
    ("002.Laysan_Albatross/c.jpg", 0, 0, 0),
    ("002.Laysan_Albatross/d.jpg", 0, 1, 1),
    ("003.Sooty_Albatross/e.jpg", 0, 2, 1),
    ("003.Sooty_Albatross/f.jpg", 1, 2, 0),
]


def _write_folder(root: Path, rows: list[tuple[str, int, int, int]], *, header: str = "") -> Path:
    folder = root / "waterbirds"
    lines = [header or "img_id,img_filename,y,split,place,place_filename"]
    for i, (name, y, split, place) in enumerate(rows, start=1):
        lines.append(f"{i},{name},{y},{split},{place},/x/place{i}.jpg")
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (20 + i, 30), color=(10 * i, 255, 0)).save(path)
    (folder / "metadata.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_waterbirds_reads_the_release_layout(tmp_path: Path) -> None:
    _write_folder(tmp_path, ROWS)
    data = load_waterbirds(tmp_path, False, image_size=16)
    assert data.x_train.shape == (3, 3, 16, 16) and data.x_test.shape == (2, 3, 16, 16)
    assert data.x_train.dtype == np.float32 and data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    assert data.y_train.tolist() == [1, 1, 0] and data.y_test.tolist() == [0, 1]
    assert data.a_train is not None and data.a_test is not None
    assert data.a_train.tolist() == [1, 0, 0] and data.a_test.tolist() == [1, 0]  # validation row left out
    assert data.x_train[0, 1].mean() == pytest.approx(1.0)  # the green channel of the generated image
    data.validate()


def test_waterbirds_through_the_cache_uses_the_image_size(tmp_path: Path) -> None:
    _write_folder(tmp_path, ROWS)
    data = load_dataset("waterbirds", data_dir=tmp_path, image_size=12)
    assert data.input_shape == (3, 12, 12)
    assert (tmp_path / "prepared" / "waterbirds-v1-12px.npz").is_file()


def test_waterbirds_missing_folder_lists_the_files_needed(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match=r"metadata\.csv.*img_filename, y, split, place"):
        load_waterbirds(tmp_path, False, image_size=16)


@pytest.mark.parametrize(
    ("rows", "header", "match"),
    [
        (ROWS, "img_id,img_filename,y,place", r"metadata\.csv, line 1 \(header\): missing column\(s\) split"),
        ([*ROWS[:2], ("x/g.jpg", 0, 7, 0), *ROWS[4:]], "", r"metadata\.csv, line 4: split '7' is not 0"),
        ([*ROWS[:2], ("x/g.jpg", 2, 0, 0), *ROWS[4:]], "", r"metadata\.csv, line 4: y '2' is not 0 or 1"),
    ],
)
def test_waterbirds_malformed_metadata_names_file_and_row(
    tmp_path: Path, rows: list[tuple[str, int, int, int]], header: str, match: str
) -> None:
    _write_folder(tmp_path, rows, header=header)
    with pytest.raises(DataFormatError, match=match):
        load_waterbirds(tmp_path, False, image_size=16)


def test_waterbirds_missing_image_names_the_row(tmp_path: Path) -> None:
    folder = _write_folder(tmp_path, ROWS)
    (folder / ROWS[4][0]).unlink()
    with pytest.raises(DataFormatError, match=r"metadata\.csv, line 6: image 003\.Sooty_Albatross/e\.jpg not found"):
        load_waterbirds(tmp_path, False, image_size=16)
