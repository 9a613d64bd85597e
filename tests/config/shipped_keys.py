"""The trial, audit and one-run keys of every shipped sweep file (full and smoke runs), and a command that writes them.

A key is the content hash results are stored under: a change of the configuration code that changes a key orphans
every stored result of that point. ``test_shipped_keys.py`` compares the keys with ``shipped_keys.json``. When a sweep
file changes on purpose (or a new one is added), write the file again and review the diff:

    .venv/bin/python -m tests.config.shipped_keys
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acadp.config.sweep import load_spec

ROOT = Path(__file__).resolve().parents[2]
KEYS_FILE = Path(__file__).with_name("shipped_keys.json")


def shipped_keys() -> dict[str, dict[str, Any]]:
    """``{"<file>[ smoke]": {"trials": [...], "audits": [...], "one_runs": [...]}}``, keys sorted."""
    keys: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "sweeps").glob("*.yaml")):
        spec = load_spec(path)
        for smoke in (False, True):
            keys[path.name + (" smoke" if smoke else "")] = {
                "trials": sorted(config.key() for config in spec.trial_configs(smoke=smoke)),
                "audits": sorted(audit.key() for audit in spec.audit_configs(smoke=smoke)),
                "one_runs": sorted(one_run.key() for one_run in spec.one_run_configs(smoke=smoke)),
            }
    return keys


if __name__ == "__main__":
    KEYS_FILE.write_text(json.dumps(shipped_keys(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {KEYS_FILE.relative_to(ROOT)}")
