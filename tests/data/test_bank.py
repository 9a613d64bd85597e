"""The ``bank`` loader parses UCI's bank-full.csv, splits it once and encodes it with training statistics only."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from acadp.data import clear_memory_cache, load_dataset
from acadp.data.bank import (
    FEATURES,
    SPLIT_SEED,
    UCI_HEADER,
    encode_features,
    openml_to_uci,
    proportional_split,
    read_bank_csv,
)
from acadp.errors import DataFormatError, DataMissingError

HEADER = '"age";"job";"marital";"education";"default";"balance";"housing";"loan";"contact";"day";"month";"duration";"campaign";"pdays";"previous";"poutcome";"y"'  # noqa: E501
FIRST_UCI_ROW = '58;"management";"married";"tertiary";"no";2143;"yes";"no";"unknown";5;"may";261;1;-1;0;"unknown";"no"'
NUMERIC = ("age", "balance", "day", "duration", "campaign", "pdays", "previous")
N_ROWS = 20


def make_rows(n: int = N_ROWS, *, n_yes: int = 10) -> list[dict[str, object]]:
    """Rows with the UCI columns; every categorical value but ``education=primary`` appears many times."""
    return [
        {
            "age": 20 + i, "job": "admin." if i % 4 < 2 else "technician", "marital": "married",
            "education": "tertiary" if i % 3 else "secondary", "default": "no", "balance": i * i - 50,
            "housing": "yes" if i % 2 else "no", "loan": "no", "contact": "unknown", "day": 1 + i % 28,
            "month": "may", "duration": 100 + 3 * i, "campaign": 1 + i % 3, "pdays": -1 if i % 5 else 7,
            "previous": i % 2, "poutcome": "unknown", "y": "yes" if i < n_yes else "no",
        }
        for i in range(n)
    ]  # fmt: skip


def format_row(row: dict[str, object]) -> str:
    return ";".join(str(row[c]) if c in NUMERIC else f'"{row[c]}"' for c in (*FEATURES, "y"))


def write_bank(path: Path, rows: list[dict[str, object]], *, header: str = HEADER, extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *(format_row(row) for row in rows)]) + "\n" + extra)
    return path


def labels_of(rows: list[dict[str, object]]) -> np.ndarray:
    return np.array([row["y"] == "yes" for row in rows], dtype=np.int64)


def test_encode_features_uses_training_statistics_only() -> None:
    columns = {name: np.zeros(4) if name in NUMERIC else np.array(["x"] * 4, dtype=object) for name in FEATURES}
    columns["age"] = np.array([20.0, 30.0, 40.0, 50.0])
    columns["job"] = np.array(["b", "a", "b", "c"], dtype=object)
    x_train, x_test, names = encode_features(columns, train=np.array([0, 1, 2]), test=np.array([3]))

    # age: train mean 30, population std sqrt(200/3) = 8.16497; the test value 50 does not enter the statistics.
    assert names[:4] == ("age", "job=a", "job=b", "marital=x")
    np.testing.assert_allclose(x_train[:, 0], [-1.2247449, 0.0, 1.2247449], rtol=1e-6)
    np.testing.assert_allclose(x_test[:, 0], [2.4494897], rtol=1e-6)
    np.testing.assert_array_equal(x_train[:, 1:3], [[0, 1], [1, 0], [0, 1]])
    np.testing.assert_array_equal(x_test[:, 1:3], [[0, 0]])  # "c" never seen in training → all zeros
    assert names.index("balance") == 1 + 2 + 1 + 1 + 1  # constant column kept, UCI order preserved
    np.testing.assert_array_equal(x_train[:, names.index("balance")], 0.0)  # zero std → zeros, not NaN
    assert x_train.dtype == np.float32 and x_train.shape == (3, len(names)) and x_test.shape == (1, len(names))


def test_proportional_split_is_stratified_seeded_and_sorted() -> None:
    y = np.array([0] * 37 + [1] * 13)
    train, test = proportional_split(y, test_fraction=0.2, seed=SPLIT_SEED)
    assert (y[test] == 0).sum() == 7 and (y[test] == 1).sum() == 3  # round(7.4), round(2.6)
    assert np.all(np.diff(test) > 0) and np.all(np.diff(train) > 0)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(50))
    again = proportional_split(y, test_fraction=0.2, seed=SPLIT_SEED)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(proportional_split(y, test_fraction=0.2, seed=SPLIT_SEED + 1)[1], test)


def test_load_encodes_the_split_with_training_statistics(tmp_path: Path) -> None:
    rows = make_rows()
    y = labels_of(rows)
    train, test = proportional_split(y, test_fraction=0.2, seed=SPLIT_SEED)
    rows[test[0]]["education"] = "primary"  # a category that only the test split has
    write_bank(tmp_path / "bank" / "bank-full.csv", rows)
    data = load_dataset("bank", data_dir=tmp_path, download=False)

    assert data.x_train.shape == (16, 19) and data.x_test.shape == (4, 19) and data.x_train.dtype == np.float32
    np.testing.assert_array_equal(data.y_train, y[train])
    np.testing.assert_array_equal(data.y_test, y[test])
    assert data.y_test.tolist().count(1) == 2 and data.class_names == ("no", "yes") and data.modality == "tabular"
    assert data.feature_names == (
        "age", "job=admin.", "job=technician", "marital=married", "education=secondary", "education=tertiary",
        "default=no", "balance", "housing=no", "housing=yes", "loan=no", "contact=unknown", "day", "month=may",
        "duration", "campaign", "pdays", "previous", "poutcome=unknown",
    )  # fmt: skip
    for name in NUMERIC:
        values = np.array([row[name] for row in rows], dtype=np.float64)
        mean, std = values[train].mean(), values[train].std()
        column = data.feature_names.index(name)
        np.testing.assert_allclose(data.x_train[:, column], (values[train] - mean) / std, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(data.x_test[:, column], (values[test] - mean) / std, rtol=1e-5, atol=1e-6)
    education = [data.feature_names.index(f"education={e}") for e in ("secondary", "tertiary")]
    np.testing.assert_array_equal(data.x_test[0, education], [0.0, 0.0])
    np.testing.assert_array_equal(data.x_train[:, education].sum(axis=1), 1.0)


def test_the_real_uci_row_format_parses(tmp_path: Path) -> None:
    path = tmp_path / "bank-full.csv"  # the file may also sit directly in the data directory
    path.write_text("\n".join([HEADER, FIRST_UCI_ROW, *map(format_row, make_rows())]) + "\n")
    columns, y = read_bank_csv(path)
    assert columns["age"][0] == 58.0 and columns["balance"][0] == 2143.0 and columns["pdays"][0] == -1.0
    assert columns["job"][0] == "management" and columns["poutcome"][0] == "unknown" and y[0] == 0
    assert y.dtype == np.int64 and y.tolist() == [0, *labels_of(make_rows()).tolist()]
    data = load_dataset("bank", data_dir=tmp_path, download=False)
    assert data.x_train.shape[0] + data.x_test.shape[0] == N_ROWS + 1


def test_missing_file_names_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError) as caught:
        load_dataset("bank", data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert str(tmp_path / "bank" / "bank-full.csv") in message and "--data-dir" in message


def write_with_line(tmp_path: Path, line: int, text: str) -> None:
    """bank-full.csv of ``make_rows()`` with file line ``line`` (header = line 1) replaced by ``text``."""
    path = write_bank(tmp_path / "bank" / "bank-full.csv", make_rows())
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("line", "text", "message"),
    [
        (1, HEADER.replace(';"pdays"', ""), r"line 1 \(header\): missing column\(s\) pdays"),
        (4, FIRST_UCI_ROW.replace(";2143;", ";12a;"), r"line 4, column 'balance': '12a' is not a number"),
        (3, FIRST_UCI_ROW.replace(";261;", ";inf;"), r"line 3, column 'duration': 'inf' is not a number"),
        (6, FIRST_UCI_ROW.removesuffix('"no"') + '"maybe"', r"line 6, column 'y': 'maybe' is neither"),
        (5, FIRST_UCI_ROW.rsplit(";", 6)[0], r"line 5, column 'duration': value is missing or empty"),
        (2, FIRST_UCI_ROW.replace('"may"', '""'), r"line 2, column 'month': value is missing or empty"),
        (7, FIRST_UCI_ROW + ';"extra"', r"Expected 17 fields in line 7, saw 18"),
    ],
)
def test_malformed_file_names_file_line_and_column(tmp_path: Path, line: int, text: str, message: str) -> None:
    write_with_line(tmp_path, line, text)
    with pytest.raises(DataFormatError, match=r"bank-full\.csv.*" + message):
        load_dataset("bank", data_dir=tmp_path, download=False)


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    path = write_bank(tmp_path / "bank" / "bank-full.csv", make_rows(4, n_yes=2))
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace('"may"', '"may";"oops"')
    path.write_text("\n".join([lines[0], "", lines[1], lines[2], "", lines[3]]) + "\n\n")
    with pytest.raises(DataFormatError, match="line 6"):
        load_dataset("bank", data_dir=tmp_path, download=False)


def test_empty_file_is_a_format_error(tmp_path: Path) -> None:
    (tmp_path / "bank").mkdir()
    (tmp_path / "bank" / "bank-full.csv").write_text("")
    with pytest.raises(DataFormatError, match=r"bank-full\.csv"):
        load_dataset("bank", data_dir=tmp_path, download=False)
    (tmp_path / "bank" / "bank-full.csv").write_text(HEADER + "\n")
    with pytest.raises(DataFormatError, match="at least one record"):
        load_dataset("bank", data_dir=tmp_path, download=False)


def openml_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """What fetch_openml(name="bank-marketing", version=1).frame looks like: V1..V16 and Class 1 ("no") / 2."""
    frame = pd.DataFrame({f"V{i}": [row[name] for row in rows] for i, name in enumerate(FEATURES, start=1)})
    for i, name in enumerate(FEATURES, start=1):
        frame[f"V{i}"] = frame[f"V{i}"].astype(float if name in NUMERIC else "category")
    frame["Class"] = pd.Categorical(["2" if row["y"] == "yes" else "1" for row in rows])
    return frame


def test_openml_copy_is_mapped_to_the_uci_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.datasets

    rows = make_rows(n_yes=6)  # "yes" is the minority, as in the UCI data (11.7%)
    calls = []

    def fake_fetch_openml(**kwargs: object) -> SimpleNamespace:
        calls.append(kwargs)
        return SimpleNamespace(frame=openml_frame(rows))

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", fake_fetch_openml)
    fetched = load_dataset("bank", data_dir=tmp_path / "fetched", download=True)
    written = (tmp_path / "fetched" / "bank" / "bank-full.csv").read_text().splitlines()
    assert written[0] == HEADER and written[1].startswith('20;"admin.";"married";"secondary";"no";-50;"no";')
    assert calls[0]["name"] == "bank-marketing" and calls[0]["version"] == 1

    reference = load_dataset(
        "bank", data_dir=write_bank(tmp_path / "uci" / "bank-full.csv", rows).parent, download=False
    )
    assert fetched.feature_names == reference.feature_names
    np.testing.assert_array_equal(fetched.x_train, reference.x_train)
    np.testing.assert_array_equal(fetched.y_test, reference.y_test)


def test_openml_copy_with_an_unexpected_column_order_is_refused() -> None:
    frame = openml_frame(make_rows(n_yes=6))
    frame = frame.rename(columns={"V3": "V11", "V11": "V3"})  # marital and month swapped
    with pytest.raises(DataFormatError, match="does not match the UCI schema"):
        openml_to_uci(frame)
    with pytest.raises(DataFormatError, match="does not match the UCI schema"):
        openml_to_uci(openml_frame(make_rows(n_yes=14)))  # "yes" (Class 2) would be the majority


def test_failed_openml_download_is_reported_as_missing_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.datasets

    def offline(**kwargs: object) -> None:
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(DataMissingError, match=r"download from OpenML failed \(OSError: <urlopen error"):
        load_dataset("bank", data_dir=tmp_path, download=True)
    assert not (tmp_path / "bank" / "bank-full.csv").exists()


def test_header_constant_and_cache_keep_feature_names(tmp_path: Path) -> None:
    assert UCI_HEADER == HEADER
    path = write_bank(tmp_path / "bank" / "bank-full.csv", make_rows())
    first = load_dataset("bank", data_dir=tmp_path, download=False)
    path.unlink()
    clear_memory_cache()
    second = load_dataset("bank", data_dir=tmp_path, download=False)  # from prepared/bank-v1.npz
    assert second.feature_names == first.feature_names and second.class_names == ("no", "yes")
    np.testing.assert_array_equal(second.x_test, first.x_test)
