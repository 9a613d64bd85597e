"""The offline HTML dashboard: one self-contained page (inline CSS, JS and figures; no network, no external fonts).

The page opens on the answer: the verdicts (one line each, with the steps they were read from; "not meaningful" from
fewer than 5 seeds or a smoke run), then the headline figure (α* against ε); the sweep's status, the
other figures (full width, each with its caption stating its intervals, which is also its alt text) and the tables
follow.

The page's source lives in the top-level ``dashboards/`` folder, shipped as the package ``acadp.dashboards``
(``dashboard.html.j2``, ``dashboard.css``, ``dashboard.js``) and read with :mod:`importlib.resources`, so it is found
in an editable install and in a wheel alike. Jinja2 autoescaping is on: every sweep-provided string (names, error
messages, provenance) is escaped; only the package's own CSS and JS are inserted raw.

Tables sort by clicking their headers (``dashboard.js``). Opening the page with ``#selftest`` sorts one table
ascending and descending and writes the outcome into ``<div id="selftest" data-status="pass|fail">``; JavaScript
errors are written into ``<div id="js-errors">`` — both are what the headless-browser test checks.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

import acadp
from acadp.reduce.plots import FigureFile
from acadp.reduce.tables import TABLES

RESOURCE_PACKAGE = "acadp.dashboards"
TEMPLATE_NAME = "dashboard.html.j2"
STATUSES: tuple[tuple[str, str], ...] = (
    ("completed", "done"),
    ("running", "running"),
    ("pending", "pending"),
    ("failed", "failed"),
)


def read_resource(name: str) -> str:
    """The text of a dashboard source file from the ``acadp.dashboards`` package.

    Installed (wheel or editable) the sources are that package; a plain checkout on ``sys.path`` — a Ray job's
    working directory runs one — has them in the top-level ``dashboards/`` folder beside ``acadp/`` instead.
    """
    try:
        return files(RESOURCE_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parents[2] / "dashboards" / name
        return checkout.read_text(encoding="utf-8")


@dataclass(frozen=True)
class DashboardTable:
    """A table to show: its :data:`acadp.reduce.tables.TABLES` name, the reducer frame, and an optional note."""

    name: str
    frame: pd.DataFrame
    note: str = ""


def _sort_value(value: Any) -> str:
    """The ``data-sort`` attribute of a cell: a JS-parsable number, empty for missing, or the text itself."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        if math.isnan(value):
            return ""
        return "Infinity" if value == math.inf else "-Infinity" if value == -math.inf else repr(float(value))
    return "" if value is None else str(value)


def table_view(table: DashboardTable) -> dict[str, Any]:
    """The template's view of one table: title, headers (label, numeric) and rows of cells (text, sort key)."""
    spec = TABLES.get(table.name)
    columns = spec.display_columns(table.frame)
    texts = [column.cells(table.frame, "text") for column in columns]
    keys = [[_sort_value(v) for v in table.frame[column.sources[0]].tolist()] for column in columns]
    rows = [
        [{"text": text, "sort": key} for text, key in zip(row_texts, row_keys, strict=True)]
        for row_texts, row_keys in zip(zip(*texts, strict=True), zip(*keys, strict=True), strict=True)
    ]
    headers = [{"label": column.header, "numeric": column.numeric} for column in columns]
    return {"name": spec.name, "title": spec.title, "note": table.note, "headers": headers, "rows": rows}


def status_counts(trials: pd.DataFrame) -> list[dict[str, Any]]:
    """Counts of trials per status (done, running, pending, failed) and the total."""
    counts = trials["status"].value_counts() if "status" in trials.columns else pd.Series(dtype="int64")
    out = [{"status": s, "label": label, "value": int(counts.get(s, 0))} for s, label in STATUSES]
    out.append({"status": "total", "label": "trials in the grid", "value": len(trials)})
    return out


def _cell_text(value: Any, missing: str) -> str:
    return missing if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def failures_view(trials: pd.DataFrame) -> list[dict[str, str]]:
    """The failed trials: a readable label, the trial key and the error message (one dict per failed trial)."""
    if "status" not in trials.columns:
        return []
    failed = trials[trials["status"] == "failed"]
    return [
        {
            "label": _cell_text(row.get("label"), "(no label)"),
            "key": _cell_text(row.get("key"), "(no key)"),
            "error": _cell_text(row.get("error"), "(no error message recorded)"),
        }
        for _, row in failed.iterrows()
    ]


def _figure_view(figure: FigureFile) -> dict[str, Any]:
    svg = base64.b64encode(figure.svg).decode("ascii")
    return {"name": figure.name, "title": figure.title, "caption": figure.caption, "svg_base64": svg}


HEADLINE_FIGURE = "critical_mass_"  # the stem of the figure the page opens on (α* against ε), before its setting


def split_headline(figures: Sequence[FigureFile]) -> tuple[FigureFile | None, list[FigureFile]]:
    """(the headline figure: the first α*-vs-ε figure, else the first figure; the others in their order)."""
    if not figures:
        return None, []
    headline = next((f for f in figures if f.name.startswith(HEADLINE_FIGURE)), figures[0])
    return headline, [f for f in figures if f is not headline]


def verdict_view(verdicts: pd.DataFrame | None) -> list[dict[str, str]]:
    """One entry per verdict row (:func:`acadp.reduce.verdict.verdict_table`): the setting and S* (and C) it answers
    for, the verdict, its kind for the page's style (yes, no, open: undetermined or not meaningful), the one-line text
    and the reason."""
    if verdicts is None or verdicts.empty:
        return []
    keys = list(verdicts.columns[: list(verdicts.columns).index("threshold")])
    view = []
    for _, row in verdicts.iterrows():
        setting = ", ".join(str(row[k]) if k == "dataset" else f"{k}={row[k]}" for k in keys)
        clip = "" if pd.isna(row["clip"]) else f", C = {row['clip']:g}"
        scope = f"{setting}, S* = {row['threshold']:g}{clip}"
        kind = str(row["verdict"]) if row["verdict"] in ("yes", "no") else "open"
        view.append({"scope": scope, "kind": kind, **{name: str(row[name]) for name in ("verdict", "text", "reason")}})
    return view


def _raw_asset(name: str, closing_tag: str) -> Markup:
    text = read_resource(name)
    if closing_tag in text.lower():
        raise ValueError(f"{name} must not contain {closing_tag!r}: it is inlined into the page")
    return Markup(text)  # the package's own file, not sweep data: inserted unescaped


def _environment() -> jinja2.Environment:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render_dashboard(
    *,
    sweep_name: str,
    trials: pd.DataFrame,
    figures: Sequence[FigureFile] = (),
    tables: Sequence[DashboardTable] = (),
    provenance: Mapping[str, str] | None = None,
    generated_at: datetime | None = None,
    version: str | None = None,
    verdicts: pd.DataFrame | None = None,
) -> str:
    """The dashboard page as one HTML string.

    Args:
        sweep_name: shown in the title and header.
        trials: the trials table (:func:`acadp.reduce.collect.trials_frame`) for the status counts and failures.
        figures: rendered figures, inlined as base64 SVG images; the headline one (:func:`split_headline`) comes
            first, under the verdicts.
        tables: the tables to show, sortable, in this order.
        provenance: key → value pairs for the footer (e.g. git commit, sweep file hash); none when empty.
        generated_at: time stamp shown in the header (default: now, UTC).
        version: acadp version shown (default: the installed one).
        verdicts: the verdict table (:func:`acadp.reduce.verdict.verdict_table`), shown first; None: none.
    """
    moment = generated_at or datetime.now(UTC)
    counts = status_counts(trials)
    headline, others = split_headline(figures)
    template = _environment().from_string(read_resource(TEMPLATE_NAME))
    return template.render(
        sweep_name=sweep_name,
        version=version or acadp.__version__,
        generated_at=moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        generated_at_iso=moment.isoformat(),
        counts=counts,
        progress_label=", ".join(f"{c['value']} {c['label']}" for c in counts),
        failures=failures_view(trials),
        verdicts=verdict_view(verdicts),
        headline=None if headline is None else _figure_view(headline),
        figures=[_figure_view(figure) for figure in others],
        tables=[table_view(table) for table in tables],
        provenance=sorted((provenance or {}).items()),
        css=_raw_asset("dashboard.css", "</style"),
        js=_raw_asset("dashboard.js", "</script"),
    )
