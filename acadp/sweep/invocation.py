"""The command as the user typed it, so that every hint acadp prints is that command with another verb.

After ``acadp sweep run sweeps/quickstart.yaml --smoke --storage /scratch/r``, the hint to resume is ``acadp sweep
resume sweeps/quickstart.yaml --smoke --storage /scratch/r``: the sweep file as it was typed, and the user's own flags
that choose the sweep (``--smoke``: which results; ``--storage``: where; ``--address``: which cluster;
``--no-reduce``; ``--download``), each where the other command takes it. A hint without them would point at another
sweep.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Verb = Literal["sweep run", "sweep resume", "sweep status", "sweep sync", "reduce", "ui"]

_SELECT = frozenset({"--smoke", "--storage"})
# The invocation's flags each command takes (tests/sweep/test_invocation.py checks them against the commands).
VERB_FLAGS: Mapping[Verb, frozenset[str]] = {
    "sweep run": _SELECT | {"--address", "--no-reduce", "--download"},
    "sweep resume": _SELECT | {"--address", "--no-reduce", "--download"},
    "sweep status": _SELECT,
    "sweep sync": _SELECT,
    "reduce": _SELECT,
    "ui": _SELECT,
}


@dataclass(frozen=True)
class Invocation:
    """A sweep command's sweep file and flags, as given (``storage`` and ``address`` unresolved; None: not given)."""

    spec: Path
    smoke: bool = False
    storage: str | None = None
    address: str | None = None
    reduce: bool = True
    download: bool = False

    def command(self, verb: Verb) -> str:
        """``acadp <verb> <sweep file>`` with those of this invocation's flags that ``verb`` takes, quoted for a
        POSIX shell."""
        takes = VERB_FLAGS[verb]
        words = ["acadp", *verb.split(), str(self.spec)]
        if self.smoke and "--smoke" in takes:
            words.append("--smoke")
        if self.storage is not None and "--storage" in takes:
            words += ["--storage", self.storage]
        if self.address is not None and "--address" in takes:
            words += ["--address", self.address]
        if not self.reduce and "--no-reduce" in takes:
            words.append("--no-reduce")
        if self.download and "--download" in takes:
            words.append("--download")
        return shlex.join(words)
