"""The built wheel ships the dashboard's source as package data of ``acadp.dashboards``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_FILES = ("__init__.py", "dashboard.html.j2", "dashboard.css", "dashboard.js")


def test_wheel_contains_the_dashboard(tmp_path: Path) -> None:
    # build from a copy so that the build's own folders (build/, *.egg-info) never land in the shared checkout
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source / "pyproject.toml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for package in ("acadp", "dashboards"):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    readme = ROOT / "README.md"
    (source / "README.md").write_text(readme.read_text() if readme.is_file() else "acadp\n")
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out), "."],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("acadp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"acadp/dashboards/{name}" for name in DASHBOARD_FILES} <= names
    assert "acadp/reduce/dashboard.py" in names
    assert not any(name.startswith("dashboards/") for name in names)  # only under the package name
