"""The README lists every shipped sweep file with the question it answers, so a new file cannot ship unlisted."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_sweep_file_is_in_the_readmes_table() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The shipped sweep files", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([\w.-]+\.yaml)` \| .+ \| .+ \|$", section, flags=re.MULTILINE))
    shipped = {path.name for path in (ROOT / "sweeps").glob("*.yaml")}
    assert listed == shipped, f"unlisted: {sorted(shipped - listed)}; listed but absent: {sorted(listed - shipped)}"
