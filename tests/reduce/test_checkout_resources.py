"""The dashboard sources are found from a plain checkout on sys.path too (a Ray job's working directory)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_dashboard_sources_are_found_in_a_plain_checkout(tmp_path: Path) -> None:
    shutil.copytree(REPO / "acadp", tmp_path / "acadp", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "dashboards", tmp_path / "dashboards", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import acadp.reduce.dashboard as d, pathlib; "
        "print(pathlib.Path(d.__file__).resolve().is_relative_to(pathlib.Path.cwd().resolve())); "
        "print(len(d.read_resource('dashboard.html.j2')) > 100)"
    )
    # -S: no site processing, so no editable-install finder maps acadp.dashboards to this repository; dependencies
    # still come from the environment's site-packages, as for an installed wheel shadowed by a job's working dir
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    env = {"PYTHONPATH": f"{tmp_path}:{site_packages}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"], result.stdout
