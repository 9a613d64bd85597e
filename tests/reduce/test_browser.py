"""The dashboard in a real headless browser (Debian's chromium): it renders, its JS sorts, and logs no errors.

Skipped when chromium is missing, except under CI (``CI=true``), where a missing browser is a failure
(:mod:`tests.browser`).
"""

from __future__ import annotations

import io
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from acadp.reduce.report import ReduceOutputs, reduce_sweep
from tests import browser
from tests.browser import chromium, console_problems, run_chromium

from .builders import lira_row, synthetic_records

pytestmark = pytest.mark.browser


class DomSummary(HTMLParser):
    """Counts of tags in the dumped DOM, plus the self-test marker and the error box."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.attrs: dict[str, dict[str, str | None]] = {}
        self.text: dict[str, str] = {}
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        element_id = dict(attrs).get("id")
        if element_id in ("selftest", "js-errors"):
            self.attrs[element_id] = dict(attrs)
            self.text[element_id] = ""
            self._inside = element_id

    def handle_endtag(self, tag: str) -> None:
        if tag == "div":
            self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.text[self._inside] += data


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> ReduceOutputs:
    chromium()
    statuses = {0: "completed", 1: "completed", 2: "failed"}
    fpr = np.logspace(-4, 0, 40)
    return reduce_sweep(
        records=synthetic_records(epsilons=(1.0, 4.0, math.inf), status_of=lambda a, e, s: statuses[s]),
        lira_rows=pd.DataFrame([lira_row(), lira_row(subset="collective")]),
        roc_curves={("ε=8", "online"): (fpr, np.sqrt(fpr))},
        out_dir=tmp_path_factory.mktemp("browser") / "reduced",
        sweep_name="browser test",
        n_boot=50,
    )


def test_dom_after_javascript(dashboard: ReduceOutputs, tmp_path: Path) -> None:
    done = run_chromium(dashboard.dashboard.as_uri() + "#selftest", tmp_path / "profile", "--dump-dom")
    dom = DomSummary()
    dom.feed(done.stdout)
    assert dom.tags.get("img", 0) + dom.tags.get("svg", 0) == 5  # 3 sweep figures, the contrasts, the ROC curves
    # failures, success curves, critical mass, accuracy, verdict, contrasts, LiRA
    assert dom.tags["table"] == 7
    assert dom.attrs["selftest"].get("data-status") == "pass", dom.text["selftest"]
    assert dom.text["js-errors"].strip() == "" and "hidden" in dom.attrs["js-errors"]
    assert console_problems(done.stderr) == []


def test_screenshot_is_not_blank(dashboard: ReduceOutputs, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    run_chromium(dashboard.dashboard.as_uri(), tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,1600")
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("L")
    assert image.size == (1200, 1600)
    pixels = np.asarray(image)
    assert (pixels < 200).mean() > 0.02  # text, figures and table rules, not an empty white page
    assert len(np.unique(pixels)) > 50


def test_error_box_catches_a_script_error(dashboard: ReduceOutputs, tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    html = dashboard.dashboard.read_text(encoding="utf-8")
    broken.write_text(html.replace("</body>", '<script>throw new Error("probe failure");</script></body>'))
    done = run_chromium(broken.as_uri(), tmp_path / "profile", "--dump-dom")
    dom = DomSummary()
    dom.feed(done.stdout)
    assert "probe failure" in dom.text["js-errors"]
    assert console_problems(done.stderr)  # the log check would have seen it too


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_missing_chromium_fails_under_ci_and_skips_locally(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome):
        chromium()


# Measures the laid-out page once it has loaded and writes the figures into attributes of <body>, for --dump-dom
LAYOUT_PROBE = """<script>
window.addEventListener("load", function () {
  var top = function (selector) { return document.querySelector(selector).getBoundingClientRect().top; };
  var widths = Array.prototype.map.call(document.querySelectorAll("figure img"), function (image) {
    return Math.round(image.getBoundingClientRect().width);
  });
  document.body.setAttribute("data-verdict-top", top("#verdict .verdict"));
  document.body.setAttribute("data-headline-top", top("figure.headline"));
  document.body.setAttribute("data-status-top", top("#status"));
  document.body.setAttribute("data-image-widths", widths.join(" "));
  var main = document.querySelector("main").getBoundingClientRect();
  document.body.setAttribute("data-main-width", Math.round(main.width));
});
</script></body>"""


class BodyAttributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.attrs = dict(attrs)


def test_the_first_screen_shows_the_verdict_and_the_headline_figure_full_width(
    dashboard: ReduceOutputs, tmp_path: Path
) -> None:
    probed = tmp_path / "probed.html"
    probed.write_text(dashboard.dashboard.read_text(encoding="utf-8").replace("</body>", LAYOUT_PROBE))
    done = run_chromium(probed.as_uri(), tmp_path / "profile", "--window-size=1280,900", "--dump-dom")
    body = BodyAttributes()
    body.feed(done.stdout)
    verdict, headline, status = (
        float(body.attrs[f"data-{name}-top"] or "nan") for name in ("verdict", "headline", "status")
    )
    assert verdict < headline < 900 - 300  # the verdict first, then at least 300 px of the headline figure
    assert status > headline  # the status counts come after it
    widths = [int(width) for width in (body.attrs["data-image-widths"] or "").split()]
    main = int(body.attrs["data-main-width"] or 0)
    assert len(widths) == 5 and all(width >= 0.8 * main for width in widths), (widths, main)  # every figure full width
