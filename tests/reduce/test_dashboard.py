"""The dashboard page: found via importlib.resources, self-contained, escaped, with status, figures and tables."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from importlib.resources import files

import pandas as pd
import pytest

from acadp.reduce.collect import trials_frame
from acadp.reduce.critical_mass import critical_mass_table
from acadp.reduce.curves import success_curves
from acadp.reduce.dashboard import (
    DashboardTable,
    read_resource,
    render_dashboard,
    split_headline,
    table_view,
    verdict_view,
)
from acadp.reduce.plots import FigureFile, figure_file, plot_success_curves

from .builders import make_config, make_record, synthetic_records

RESOURCES = ("dashboard.html.j2", "dashboard.css", "dashboard.js")


class TagCounter(HTMLParser):
    """Counts start tags and collects external references (src/href with a scheme other than data:/#)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith(("data:", "#")):
                self.external.append(value)


def parse(html: str) -> TagCounter:
    counter = TagCounter()
    counter.feed(html)
    return counter


@pytest.mark.parametrize("name", RESOURCES)
def test_sources_are_package_resources(name: str) -> None:
    resource = files("acadp.dashboards").joinpath(name)
    assert resource.is_file()
    assert read_resource(name) == resource.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page() -> str:
    statuses = {0: "completed", 1: "completed", 2: "failed"}
    records = synthetic_records(epsilons=(2.0, math.inf), status_of=lambda a, e, s: statuses[s])
    records.append(make_record(make_config(alpha=0.3, epsilon=2.0, seed=0), "pending"))
    trials = trials_frame(records)
    curves = success_curves(trials)
    figure = figure_file(plot_success_curves(curves, title="toy"), name="success_curves_toy", title="S(α) <toy>")
    return render_dashboard(
        sweep_name="sweep <b>&",
        trials=trials,
        figures=[figure],
        tables=[
            DashboardTable("success_curves", curves, note="note <i>"),
            DashboardTable("critical_mass", critical_mass_table(trials, n_boot=20)),
        ],
        provenance={"git_commit": "abc<def>", "host": "node-1"},
        generated_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        version="9.9.9",
    )


def test_page_is_self_contained(page: str) -> None:
    counter = parse(page)
    assert counter.external == []
    assert counter.tags.get("link", 0) == 0 and counter.tags["style"] == 1 and counter.tags["script"] == 1
    assert "@import" not in page and "url(http" not in page


def test_header_status_and_failures(page: str) -> None:
    assert "2025-01-02 03:04:05 UTC" in page and "acadp 9.9.9" in page
    counts = dict(re.findall(r'count-(\w+)"><span class="count-value">(\d+)</span>', page))
    assert counts == {"completed": "20", "running": "0", "pending": "1", "failed": "10", "total": "31"}
    assert page.count("RuntimeError: out of memory &lt;GPU 0&gt; &amp; more") == 10


def test_text_is_escaped(page: str) -> None:
    assert "sweep &lt;b&gt;&amp;" in page and "<b>&" not in page
    assert "note &lt;i&gt;" in page and "abc&lt;def&gt;" in page and "S(α) &lt;toy&gt;" in page


def test_figures_and_tables_are_present(page: str) -> None:
    counter = parse(page)
    assert counter.tags["img"] == 1 and page.count('src="data:image/svg+xml;base64,') == 1
    assert counter.tags["table"] == 3  # failures, success curves, critical mass
    assert 'id="table-success_curves"' in page and 'id="table-critical_mass"' in page
    assert 'id="selftest"' in page and 'id="js-errors"' in page


def test_table_view_sort_keys() -> None:
    frame = pd.DataFrame(
        {"dataset": ["a", "a"], "epsilon": [math.inf, 1.0], "clip": [math.nan, 1.0], "threshold": [0.9, 0.9],
         "alpha_star": [math.inf, 0.05], "ci_low": [math.inf, 0.04], "ci_high": [math.inf, 0.06],
         "frac_reached": [0.0, 1.0], "n_seeds": [3, 3], "note": ["", ""]}
    )  # fmt: skip
    view = table_view(DashboardTable("critical_mass", frame))
    columns = [header["label"] for header in view["headers"]]
    epsilon, clip, alpha_star = (columns.index(name) for name in ("ε", "C", "α*"))
    assert [row[epsilon]["sort"] for row in view["rows"]] == ["Infinity", "1.0"]
    assert [row[clip]["sort"] for row in view["rows"]] == ["", "1.0"]
    assert [row[alpha_star]["text"] for row in view["rows"]] == ["not reached", "0.05"]


def test_empty_sweep_renders() -> None:
    html = render_dashboard(sweep_name="empty", trials=trials_frame([]), figures=(), tables=())
    assert "No figures" in html and "No failed trials." in html


def test_progress_bar_is_made_of_the_status_counts_only(page: str) -> None:
    bar = page.split('<div class="progress"', 1)[1].split("</div>", 1)[0]
    assert "progress-total" not in bar, "the grid total is a count, not a segment of the bar"
    assert "progress-completed" in bar


def _verdicts() -> pd.DataFrame:
    return pd.DataFrame(
        {"dataset": ["mnist5k", "mnist5k"], "threshold": [0.5, 0.9], "clip": [1.0, 1.0], "verdict": ["no", "yes"],
         "text": ["α* rises as ε falls: no", "α* rises as ε falls: yes"],
         "reason": ["α* not ordered (SGD: 0.04 < DP ε=2 C=1: 0.03)", "ordered, CIs of SGD and DP ε=2 C=1 disjoint"]}
    )  # fmt: skip


def _figure(name: str, caption: str) -> FigureFile:
    return FigureFile(name=name, title=name.replace("_", " "), png=b"", svg=b"<svg/>", caption=caption)


def test_the_page_opens_on_the_verdicts_and_the_headline_figure() -> None:
    figures = [_figure("success_curves_toy", "Bands: 95% t."), _figure("critical_mass_toy", "Bars: 95% bootstrap.")]
    html = render_dashboard(
        sweep_name="s", trials=trials_frame([]), figures=figures, verdicts=_verdicts(),
    )  # fmt: skip
    verdict = html.index('id="verdict"')
    lines = [html.index(text) for text in ("mnist5k, S* = 0.5, C = 1:", "mnist5k, S* = 0.9, C = 1:")]
    headline, status = html.index('id="figure-critical_mass_toy"'), html.index('id="status"')
    assert verdict < lines[0] < lines[1] < headline < status < html.index('id="figure-success_curves_toy"')
    assert html.count('id="figure-critical_mass_toy"') == 1  # shown once, as the headline
    assert 'class="verdict verdict-yes"' in html and 'class="verdict verdict-no"' in html
    assert 'alt="critical mass toy. Bars: 95% bootstrap."' in html
    assert "<figcaption><strong>success curves toy.</strong> Bands: 95% t.</figcaption>" in html


def test_split_headline_prefers_the_critical_mass_figure() -> None:
    first, second = _figure("success_curves_a", ""), _figure("critical_mass_a", "")
    assert split_headline([first, second]) == (second, [first])
    assert split_headline([first]) == (first, [])
    assert split_headline([]) == (None, [])


def test_verdicts_that_decide_nothing_are_styled_apart() -> None:
    verdicts = _verdicts().assign(verdict=["not meaningful (1 seed)", "undetermined"])
    html = render_dashboard(sweep_name="s", trials=trials_frame([]), verdicts=verdicts)
    assert html.count('class="verdict verdict-open"') == 2 and 'class="verdict verdict-yes"' not in html


def test_without_verdicts_the_page_says_why() -> None:
    html = render_dashboard(sweep_name="s", trials=trials_frame([]))
    assert "No verdict yet" in html and verdict_view(None) == []
