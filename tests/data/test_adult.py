"""``adult`` and ``adult_race`` on generated files in the raw UCI format: parsing, encoding, groups, signal, trial."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from acadp.collective import apply_signal
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.presets import PRESETS
from acadp.data import clear_memory_cache, load_dataset
from acadp.errors import DataFormatError

TRAIN_ROWS = [
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, "
    "United-States, <=50K",
    "50, Self-emp-not-inc, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 13, "
    "United-States, >50K",
    "38, ?, 215646, HS-grad, 9, Divorced, ?, Not-in-family, Black, Female, 0, 0, 40, ?, <=50K",
    "31, Private, 45781, Masters, 14, Never-married, Prof-specialty, Not-in-family, Asian-Pac-Islander, Female, "
    "14084, 0, 50, India, >50K",
]
TEST_ROWS = [
    "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Other, Male, 0, 0, 40, "
    "United-States, <=50K.",
    "44, Without-pay, 160323, Some-college, 10, Married-civ-spouse, Farming-fishing, Husband, Amer-Indian-Eskimo, "
    "Female, 7688, 0, 40, Peru, >50K.",
]


def write_adult(data_dir: Path, train: list[str] = TRAIN_ROWS, test: list[str] = TEST_ROWS) -> None:
    """The two UCI files: no header, a trailing empty line; the test file's preamble and periods after labels."""
    folder = data_dir / "adult"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adult.data").write_text("\n".join(train) + "\n\n")
    (folder / "adult.test").write_text("|1x3 Cross validator\n" + "\n".join(test) + "\n")


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    clear_memory_cache()
    yield
    clear_memory_cache()


def test_rows_labels_and_the_official_split(tmp_path: Path) -> None:
    write_adult(tmp_path)
    data = load_dataset("adult", data_dir=tmp_path, download=False)
    assert data.x_train.shape[0] == 4 and data.x_test.shape[0] == 2 and data.x_train.dtype == np.float32
    assert data.y_train.tolist() == [0, 1, 0, 1] and data.y_test.tolist() == [0, 1]
    assert data.class_names == ("<=50K", ">50K") and data.modality == "tabular"
    assert "fnlwgt" not in data.feature_names
    assert data.feature_names[:3] == ("age", "workclass=?", "workclass=Private")
    assert {"occupation=?", "native-country=?", "sex=Female", "race=Black", "hours-per-week"} <= set(data.feature_names)


def test_numbers_are_standardised_on_training_rows_and_categories_one_hot(tmp_path: Path) -> None:
    write_adult(tmp_path)
    data = load_dataset("adult", data_dir=tmp_path, download=False)
    age = data.feature_names.index("age")
    ages = np.array([39, 50, 38, 31], dtype=np.float64)
    np.testing.assert_allclose(data.x_train[:, age], (ages - ages.mean()) / ages.std(), rtol=1e-6)
    np.testing.assert_allclose(data.x_test[:, age], (np.array([25, 44]) - ages.mean()) / ages.std(), rtol=1e-6)
    without_pay = [name for name in data.feature_names if name.startswith("workclass=")]
    assert "workclass=Without-pay" not in without_pay  # seen only in the test split: all zeros there
    columns = [data.feature_names.index(name) for name in without_pay]
    assert data.x_test[1, columns].tolist() == [0.0] * len(columns)
    unknown = data.feature_names.index("workclass=?")
    assert data.x_train[:, unknown].tolist() == [0.0, 0.0, 1.0, 0.0]


def test_groups_are_sex_or_race(tmp_path: Path) -> None:
    write_adult(tmp_path)
    by_sex = load_dataset("adult", data_dir=tmp_path, download=False)
    by_race = load_dataset("adult_race", data_dir=tmp_path, download=False)
    assert by_sex.attribute_names == ("female", "male")
    assert by_sex.a_train.tolist() == [1, 1, 0, 0] and by_sex.a_test.tolist() == [1, 0]  # type: ignore[union-attr]
    assert by_race.attribute_names == ("amer-indian-eskimo", "asian-pac-islander", "black", "other", "white")
    assert by_race.a_train.tolist() == [4, 4, 2, 1] and by_race.a_test.tolist() == [3, 0]  # type: ignore[union-attr]
    np.testing.assert_array_equal(by_sex.x_train, by_race.x_train)  # the same features; only the attribute differs


def test_the_presets_feature_offset_shifts_the_named_features(tmp_path: Path) -> None:
    write_adult(tmp_path)
    data = load_dataset("adult", data_dir=tmp_path, download=False)
    signal = PRESETS.get("adult").signal
    assert signal is not None and signal.name == "feature_offset"
    planted = apply_signal(signal, data.x_test, data.feature_names)
    changed = np.flatnonzero(np.any(planted != data.x_test, axis=0))
    assert [data.feature_names[i] for i in changed] == ["capital-loss", "hours-per-week"]
    np.testing.assert_allclose(planted[:, changed] - data.x_test[:, changed], 3.0)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("39, State-gov, 77516, Bachelors, 13", r"adult\.data, line 5: 5 fields, expected 15"),
        (TRAIN_ROWS[0].replace("<=50K", "50K+"), r"adult\.data, line 5: income '50K\+' is neither"),
        (TRAIN_ROWS[0].replace("39,", "old,"), r"adult\.data, line 5, column 'age': 'old' is not a number"),
        (TRAIN_ROWS[0].replace("White", "Purple"), r"column 'race' holds \['Purple'\]"),
    ],
)
def test_malformed_rows_name_the_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    write_adult(tmp_path, train=[*TRAIN_ROWS, row])
    with pytest.raises(DataFormatError, match=message):
        load_dataset("adult_race", data_dir=tmp_path, download=False)


def test_a_trial_on_adult_reports_group_accuracy(tmp_path: Path) -> None:
    from acadp.trial.run import run_trial

    rows = [TRAIN_ROWS[i % 4].replace("39,", f"{20 + i % 50},") for i in range(64)]
    write_adult(tmp_path, train=rows, test=[*TEST_ROWS, *(row + "." for row in TRAIN_ROWS)] * 2)
    config = build_trial_config(
        TrialOptions(dataset="adult", alpha=0.1, epsilon=float("inf"), training={"epochs": 2, "batch_size": 16})
    )
    result = run_trial(config, data_dir=tmp_path, download=False, device="cpu", threads=1)
    assert result.n_train == 64 and result.n_test == 12 and 0.0 <= result.test_accuracy <= 1.0
    assert set(result.group_accuracy) == {"<=50K/female", "<=50K/male", ">50K/female", ">50K/male"}
    assert result.provenance["dataset_source"] == "files in adult" and len(result.provenance["dataset_sha256"]) == 64
