"""Every stored result stays reachable: the keys of the shipped sweep files are the ones recorded in
``shipped_keys.json`` (see :mod:`tests.config.shipped_keys` to write it again after a deliberate change)."""

from __future__ import annotations

import json

from tests.config.shipped_keys import KEYS_FILE, shipped_keys


def test_keys_of_the_shipped_sweeps_are_unchanged() -> None:
    recorded = json.loads(KEYS_FILE.read_text())
    current = shipped_keys()
    for name in sorted(set(recorded) & set(current)):
        for kind in ("trials", "audits", "one_runs"):
            lost = sorted(set(recorded[name][kind]) - set(current[name][kind]))
            assert not lost, (
                f"{name}: {len(lost)} {kind} keys changed (e.g. {lost[:3]}); if the sweep file changed on purpose, "
                "run `.venv/bin/python -m tests.config.shipped_keys` and review the diff"
            )
    assert set(recorded) == set(current), "a sweep file was added or removed: write shipped_keys.json again"
