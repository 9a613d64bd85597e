"""Wheels written by tests, served to pip from a local folder."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from acadp.data.archive import file_sha256


@dataclass
class LocalIndex:
    """A folder of wheels that ``pip download`` reads instead of the user's index (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``:
    the environment is how a user's pip settings reach the fetch)."""

    folder: Path

    def add(self, package: str, version: str, members: dict[str, bytes]) -> Path:
        """Write a wheel of ``package`` ``version`` holding ``members`` (and the metadata pip reads); returns it."""
        stem = f"{package.replace('-', '_')}-{version}"
        path = self.folder / f"{stem}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
            for name, data in members.items():
                wheel.writestr(name, data)
            metadata = f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
            wheel.writestr(f"{stem}.dist-info/METADATA", metadata)
            wheel.writestr(f"{stem}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            wheel.writestr(f"{stem}.dist-info/RECORD", "")
        return path

    @staticmethod
    def sha256(path: Path) -> str:
        return file_sha256(path)
