"""Debian's headless chromium for the tests that look at pages as a user's browser shows them (the dashboard, the
MLflow UI): skipped when chromium is missing, except under CI (``CI=true``), where a missing browser is a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
)  # fmt: skip


def find_chromium() -> str | None:
    """Debian's chromium on the PATH or at its packaged location, else None."""
    packaged = Path("/usr/bin/chromium")
    return shutil.which("chromium") or (str(packaged) if packaged.is_file() else None)


def chromium() -> str:
    """The chromium executable, or skip (locally) / fail (under CI) when it is not installed."""
    found = find_chromium()
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is required under CI (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def run_chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Open ``url`` in a fresh profile; ``extra`` flags come after the defaults (a later flag wins)."""
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


def console_problems(stderr: str) -> list[str]:
    """Lines of chromium's log that report a page error or console message (browser-internal noise excluded)."""
    return [line for line in stderr.splitlines() if "Uncaught" in line or ":CONSOLE" in line]
