"""``bank``: UCI Bank Marketing (Moro et al. 2014), ``bank-full.csv`` — will a client subscribe a term deposit?

The file is ``;``-separated with double-quoted strings and a header row: 16 features and the target ``y``
("yes"/"no"; label 1 = "yes"). It is looked up at ``<data_dir>/bank/bank-full.csv``, then ``<data_dir>/bank-full.csv``.

The rows are split once, stratified by label and seeded (80% train / 20% test), so the split is part of the dataset.
Features keep the UCI column order; a categorical column becomes one 0/1 indicator per category seen in the training
split (named ``column=category``, sorted; a test value never seen in training gets all zeros) and a numeric column is
standardised with the mean and (population) standard deviation of the training split only. ``duration`` is kept as in
the UCI file although it is only known after the call (Moro et al. note it leaks the outcome).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset
from acadp.data.tabular import encode_columns
from acadp.errors import DataFormatError, DataMissingError
from acadp.store.atomic import atomic_path

if TYPE_CHECKING:  # pandas is imported where a CSV is read (it costs ~0.7 s at start-up)
    import pandas as pd

FILE_NAME = "bank-full.csv"
SEARCH_PATHS = (Path("bank") / FILE_NAME, Path(FILE_NAME))  # relative to the data directory, in lookup order
UCI_PAGE = "https://archive.ics.uci.edu/dataset/222/bank+marketing"
FEATURES = (
    "age", "job", "marital", "education", "default", "balance", "housing", "loan",
    "contact", "day", "month", "duration", "campaign", "pdays", "previous", "poutcome",
)  # fmt: skip
NUMERIC_FEATURES = frozenset({"age", "balance", "day", "duration", "campaign", "pdays", "previous"})
TARGET = "y"
UCI_HEADER = ";".join(f'"{name}"' for name in (*FEATURES, TARGET))  # the file's first line
CLASS_NAMES = ("no", "yes")  # label = index
SPLIT_SEED = 20140601  # fixed: the train/test split is part of the dataset, not of a trial
TEST_FRACTION = 0.2
# OpenML's copy ("bank-marketing", version 1) names the UCI columns V1..V16 in UCI order and the target "Class",
# 1 = "no", 2 = "yes". These category sets (from the UCI file) confirm that mapping before the copy is used.
OPENML_COLUMNS = {f"V{i}": name for i, name in enumerate(FEATURES, start=1)}
OPENML_TARGET = {"1": "no", "2": "yes"}
UCI_CATEGORIES = {
    "marital": {"married", "single", "divorced"},
    "month": {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"},
    "contact": {"cellular", "telephone", "unknown"},
    "poutcome": {"success", "failure", "other", "unknown"},
}
_DOWNLOAD_ERRORS = (ImportError, OSError, RuntimeError, ValueError)  # no sklearn, no network, an OpenML error


@register_dataset(
    "bank",
    modality="tabular",
    description="UCI Bank Marketing (bank-full.csv, 45211 clients; 80/20 stratified split; one-hot + standardised)",
    expected_files=(str(SEARCH_PATHS[0]),),
    facts=DatasetFacts(n_train=36_169, n_test=9_042, classes=CLASS_NAMES, origin=UCI_PAGE, licence="CC BY 4.0 (UCI)"),
)
def load_bank(data_dir: Path, download: bool) -> ArrayDataset:
    """Read ``bank-full.csv`` (fetching OpenML's copy first if allowed and missing) and prepare it.

    Returns ``x`` float32 (n, n_features) and labels int64 (n,) with 1 = "yes"; ``feature_names`` name every column
    of ``x`` (``age``, ``job=admin.``, ...). Raises :class:`DataMissingError` when the file cannot be found and
    :class:`DataFormatError` naming file, line and column for a malformed file.
    """
    path = _locate_file(data_dir, download)
    columns, y = read_bank_csv(path)
    train, test = proportional_split(y, test_fraction=TEST_FRACTION, seed=SPLIT_SEED)
    x_train, x_test, feature_names = encode_features(columns, train=train, test=test)
    return ArrayDataset(
        name="bank",
        x_train=x_train,
        y_train=y[train],
        x_test=x_test,
        y_test=y[test],
        n_classes=2,
        modality="tabular",
        feature_names=feature_names,
        class_names=CLASS_NAMES,
    )


def read_bank_csv(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Parse a file in the ``bank-full.csv`` format.

    Returns the 16 feature columns (numeric ones float64 (n,), categorical ones object arrays of str (n,)) and the
    labels int64 (n,). Line numbers in errors count the header as line 1 and assume one record per line.
    """
    import pandas as pd

    try:
        text = path.read_text(encoding="utf-8")
        frame = pd.read_csv(io.StringIO(text), sep=";", quotechar='"', dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: cannot be read ({exc})") from exc
    except ValueError as exc:  # pandas' ParserError and EmptyDataError are ValueErrors; they name the line
        raise DataFormatError(f"{path}: not a ';'-separated bank-full.csv ({str(exc).strip()})") from exc
    missing = [name for name in (*FEATURES, TARGET) if name not in frame.columns]
    if missing:
        raise DataFormatError(
            f"{path}, line 1 (header): missing column(s) {', '.join(missing)}; expected the UCI header {UCI_HEADER}"
        )
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if line.strip()][1:]
    if len(lines) != len(frame) or frame.empty:
        raise DataFormatError(f"{path}: expected one record per line and at least one record, found {len(frame)}")
    _check_no_empty_values(path, frame, lines)
    columns = {name: _parse_column(path, frame[name], lines) for name in FEATURES}
    return columns, _parse_target(path, frame[TARGET], lines)


def _check_no_empty_values(path: Path, frame: pd.DataFrame, lines: list[int]) -> None:
    empty = frame[[*FEATURES, TARGET]].isna().to_numpy()  # (n_rows, 17): a short row or an empty field
    if empty.any():
        row, col = np.argwhere(empty)[0]
        column = (*FEATURES, TARGET)[col]
        raise DataFormatError(f"{path}, line {lines[row]}, column {column!r}: value is missing or empty")


def _parse_column(path: Path, values: pd.Series, lines: list[int]) -> np.ndarray:
    """A numeric column as float64 (n,) (every value must be a finite number), else the strings as objects (n,)."""
    import pandas as pd

    name = str(values.name)
    if name not in NUMERIC_FEATURES:
        return np.asarray(values, dtype=object)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        row = int(bad[0])
        raise DataFormatError(f"{path}, line {lines[row]}, column {name!r}: {values.iloc[row]!r} is not a number")
    return numbers


def _parse_target(path: Path, values: pd.Series, lines: list[int]) -> np.ndarray:
    """Labels int64 (n,): 1 for "yes", 0 for "no"; any other value is a format error."""
    raw = np.asarray(values, dtype=object)
    is_yes, is_no = raw == "yes", raw == "no"
    bad = np.flatnonzero(~(is_yes | is_no))
    if bad.size:
        row = int(bad[0])
        raise DataFormatError(f"{path}, line {lines[row]}, column {TARGET!r}: {raw[row]!r} is neither 'yes' nor 'no'")
    return is_yes.astype(np.int64)


def proportional_split(y: np.ndarray, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split: round(test_fraction · n_c) random examples of every class c go to the test set.

    Returns sorted index arrays (train, test), so examples keep the order of the source file.
    """
    rng = np.random.default_rng(seed)
    test_parts = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        n_test = round(test_fraction * members.size)
        test_parts.append(rng.choice(members, size=n_test, replace=False))
    test = np.sort(np.concatenate(test_parts)) if test_parts else np.zeros(0, dtype=np.int64)
    train = np.setdiff1d(np.arange(y.size), test)
    return train, test


def encode_features(
    columns: dict[str, np.ndarray], *, train: np.ndarray, test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The bank columns encoded by :func:`acadp.data.tabular.encode_columns` (training-split statistics only)."""
    return encode_columns(columns, features=FEATURES, numeric=NUMERIC_FEATURES, train=train, test=test)


def _locate_file(data_dir: Path, download: bool) -> Path:
    for relative in SEARCH_PATHS:
        if (data_dir / relative).is_file():
            return data_dir / relative
    target = data_dir / SEARCH_PATHS[0]
    failure = _download_openml(data_dir, target) if download else ""
    if download and not failure:
        return target
    why = f"the download from OpenML failed ({failure})" if failure else "downloading is off"
    raise DataMissingError(
        f"dataset 'bank': {FILE_NAME} not found at {target} or {data_dir / SEARCH_PATHS[1]} and {why}. "
        f"Download the UCI Bank Marketing archive ({UCI_PAGE}; its bank.zip holds {FILE_NAME}), put {FILE_NAME} "
        f"into {target.parent}, or pass --data-dir pointing to a directory that contains bank/{FILE_NAME}."
    )


def _download_openml(data_dir: Path, target: Path) -> str:
    """Fetch OpenML's copy, map it to the UCI schema and write it to ``target``; returns why it failed, or ""."""
    try:
        from sklearn.datasets import fetch_openml

        bunch = fetch_openml(name="bank-marketing", version=1, data_home=str(data_dir), as_frame=True)
    except _DOWNLOAD_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"
    write_uci_csv(openml_to_uci(bunch.frame), target)
    return ""


def openml_to_uci(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename OpenML's V1..V16/Class columns to the UCI schema and check that the mapping is the expected one.

    Returns a frame with the 16 UCI feature columns and ``y`` ("yes"/"no"); raises :class:`DataFormatError` when
    the OpenML copy does not look like the UCI file (missing columns, unknown categories, "yes" not the minority).
    """
    import pandas as pd

    missing = [name for name in (*OPENML_COLUMNS, "Class") if name not in frame.columns]
    if missing:
        raise DataFormatError(f"OpenML bank-marketing: missing column(s) {', '.join(missing)}")
    uci = pd.DataFrame({OPENML_COLUMNS[name]: frame[name] for name in OPENML_COLUMNS})
    for name in NUMERIC_FEATURES:
        numbers = pd.to_numeric(uci[name], errors="coerce")
        if numbers.isna().any():
            raise DataFormatError(f"OpenML bank-marketing: column {name!r} holds values that are not numbers")
        uci[name] = numbers.astype(np.int64) if (numbers == numbers.round()).all() else numbers
    for name in set(FEATURES) - NUMERIC_FEATURES:
        uci[name] = uci[name].astype(str)
    classes = frame["Class"].astype(str)
    unknown = {name: sorted(set(uci[name]) - allowed) for name, allowed in UCI_CATEGORIES.items()}
    unknown = {name: values for name, values in unknown.items() if values}
    if unknown or not set(classes) <= set(OPENML_TARGET) or (classes == "2").sum() >= (classes == "1").sum():
        raise DataFormatError(
            "OpenML bank-marketing does not match the UCI schema this loader maps it to "
            f"(unexpected categories: {unknown}; classes: {sorted(set(classes))}); place {FILE_NAME} by hand"
        )
    uci[TARGET] = classes.map(OPENML_TARGET)
    return uci


def write_uci_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` in the UCI ``bank-full.csv`` format (``;``, quoted strings), atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep=";", index=False, quoting=csv.QUOTE_NONNUMERIC)
