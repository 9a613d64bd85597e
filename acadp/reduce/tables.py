"""Paper-ready tables: each reducer table as CSV (full precision), Markdown (pipe table) and LaTeX (booktabs).

CSV keeps the numbers as they are (``inf`` for epsilon = inf and for "not reached", empty for NaN) so that it can be
read back; Markdown and LaTeX are for people: epsilon = inf prints as ∞ / ``$\\infty$``, an unreached critical mass as
"not reached", a grid point without a completed seed as "missing", a CI from a single seed as "n/a (1 seed)".

A table is described once, as a :class:`TableSpec` in the :data:`TABLES` registry: its columns, each with the frame
columns it reads and the name of a cell formatter in :data:`FORMATTERS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from acadp.lira.results import min_non_members
from acadp.reduce.curves import VARIANT_COLUMNS
from acadp.registry import Registry
from acadp.store.atomic import write_atomic
from acadp.store.layout import REDUCED

Style = Literal["text", "latex"]
Formatter = Callable[[tuple[Any, ...], Style], str]
FORMATTERS: Registry[Formatter] = Registry("table formatter")

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped, for use in a table cell."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _dash(style: Style) -> str:
    return "--" if style == "latex" else "–"


def _number(value: Any, spec: str, style: Style) -> str:
    return _dash(style) if _missing(value) else format(float(value), spec)


@FORMATTERS.register("text")
def _text(values: tuple[Any, ...], style: Style) -> str:
    if _missing(values[0]):
        return _dash(style)
    return latex_escape(str(values[0])) if style == "latex" else str(values[0])


@FORMATTERS.register("int")
def _int(values: tuple[Any, ...], style: Style) -> str:
    return _dash(style) if _missing(values[0]) else str(int(values[0]))


@FORMATTERS.register("num")
def _num(values: tuple[Any, ...], style: Style) -> str:
    return _number(values[0], ".3g", style)


@FORMATTERS.register("mean_count")
def _mean_count(values: tuple[Any, ...], style: Style) -> str:
    """A count, or a mean of counts (one decimal when not whole)."""
    value = values[0]
    if _missing(value):
        return _dash(style)
    return str(int(value)) if float(value).is_integer() else format(float(value), ".1f")


@FORMATTERS.register("prob")
def _prob(values: tuple[Any, ...], style: Style) -> str:
    return _number(values[0], ".3f", style)


@FORMATTERS.register("frac")
def _frac(values: tuple[Any, ...], style: Style) -> str:
    return "n/a" if _missing(values[0]) else format(float(values[0]), ".2f")


@FORMATTERS.register("epsilon")
def _epsilon(values: tuple[Any, ...], style: Style) -> str:
    value = values[0]
    if not _missing(value) and math.isinf(float(value)):
        return r"$\infty$" if style == "latex" else "∞"
    return _number(value, "g", style)


@FORMATTERS.register("clip")
def _clip(values: tuple[Any, ...], style: Style) -> str:
    return _number(values[0], "g", style)  # NaN = non-private, no clipping


@FORMATTERS.register("alpha_star")
def _alpha_star(values: tuple[Any, ...], style: Style) -> str:
    value = values[0]
    if _missing(value):
        return "no data"
    return "not reached" if math.isinf(float(value)) else format(float(value), ".3g")


@FORMATTERS.register("alpha_ci")
def _alpha_ci(values: tuple[Any, ...], style: Style) -> str:
    low, high = values
    if _missing(low) or _missing(high):
        return "n/a"
    if math.isinf(float(low)):
        return "not reached"
    upper = "not reached" if math.isinf(float(high)) else format(float(high), ".3g")
    return f"[{float(low):.3g}, {upper}]"


def _no_samples(count: Any) -> bool:
    return _missing(count) or int(count) == 0


def _mean_std_formatter(spec: str) -> Formatter:
    """Cells ``mean ± std`` from (mean, std, count); "missing" when count is 0, the mean alone when std is NaN."""

    def format_mean_std(values: tuple[Any, ...], style: Style) -> str:
        mean, std, count = values
        if _no_samples(count) or _missing(mean):
            return "missing"
        if _missing(std):
            return format(float(mean), spec)
        plus_minus = r"$\pm$" if style == "latex" else "±"
        return f"{float(mean):{spec}} {plus_minus} {float(std):{spec}}"

    return format_mean_std


FORMATTERS.add("mean_std", _mean_std_formatter(".3f"))
FORMATTERS.add("mean_std_g", _mean_std_formatter(".3g"))


@FORMATTERS.register("seed_ci")
def _seed_ci(values: tuple[Any, ...], style: Style) -> str:
    low, high, n_seeds = values
    if _no_samples(n_seeds):
        return "missing"
    if _missing(low) or _missing(high):
        return f"n/a ({int(n_seeds)} seed)"
    return f"[{float(low):.3f}, {float(high):.3f}]"


@FORMATTERS.register("seeds")
def _seeds(values: tuple[Any, ...], style: Style) -> str:
    done, planned = values
    return f"{int(done)}/{int(planned)}"


@FORMATTERS.register("flag")
def _flag(values: tuple[Any, ...], style: Style) -> str:
    return "yes" if not _missing(values[0]) and bool(values[0]) else ""


@dataclass(frozen=True)
class Column:
    """One displayed column: the frame columns it reads, its headers and the :data:`FORMATTERS` name of its cells."""

    sources: tuple[str, ...]
    header: str
    latex: str
    formatter: str
    numeric: bool = True  # right-aligned
    optional: bool = False  # shown only when the frame has all its source columns (e.g. tables of older sweeps)

    def cells(self, frame: pd.DataFrame, style: Style) -> list[str]:
        """The formatted cells of this column, one per row of ``frame``."""
        formatter = FORMATTERS.get(self.formatter)
        columns = [frame[name].tolist() for name in self.sources]
        return [formatter(values, style) for values in zip(*columns, strict=True)]


@dataclass(frozen=True)
class TableSpec:
    """A reducer table: file stem, title and displayed columns (setting columns are added when present)."""

    name: str
    title: str
    columns: tuple[Column, ...]

    def display_columns(self, frame: pd.DataFrame) -> list[Column]:
        """The columns to show for ``frame``: the spec's, with any varying setting column after the dataset."""
        extras = [
            Column((name,), name, latex_escape(name), "text", numeric=False)
            for name in VARIANT_COLUMNS
            if name in frame.columns
        ]
        shown = [c for c in self.columns[1:] if not c.optional or all(n in frame.columns for n in c.sources)]
        return [self.columns[0], *extras, *shown]


TABLES: Registry[TableSpec] = Registry("table")
_DATASET = Column(("dataset",), "Dataset", "Dataset", "text", numeric=False)
_ARM = Column(("arm",), "Arm", "Arm", "text", numeric=False, optional=True)
_EPSILON = Column(("epsilon",), "ε", r"$\varepsilon$", "epsilon")
_CLIP = Column(("clip",), "C", "$C$", "clip")
_ALPHA = Column(("alpha",), "α", r"$\alpha$", "num")
_SEEDS = Column(("n_seeds", "n_trials"), "Seeds", "Seeds", "seeds")


_COLLAPSED = Column(("collapsed",), "Collapsed", "Collapsed", "flag", numeric=False, optional=True)
_BASE_RATE_LIFT = (
    Column(("base_rate_mean", "base_rate_std", "n_seeds"), "Base rate (mean ± std)", "Base rate (mean $\\pm$ std)",
           "mean_std", optional=True),
    Column(("lift_mean", "lift_std", "n_seeds"), "Lift (mean ± std)", "Lift (mean $\\pm$ std)", "mean_std",
           optional=True),
)  # fmt: skip


def _seed_table(name: str, title: str, metric: str, latex_metric: str, extra: tuple[Column, ...] = ()) -> TableSpec:
    return TableSpec(
        name=name,
        title=title,
        columns=(
            _DATASET, _ARM, _EPSILON, _CLIP, _ALPHA, _SEEDS,
            Column(("mean", "std", "n_seeds"), f"{metric} (mean ± std)", f"{latex_metric} (mean $\\pm$ std)",
                   "mean_std"),
            Column(("ci_low", "ci_high", "n_seeds"), "95% CI", r"95\% CI", "seed_ci"),
            *extra, _COLLAPSED,
        ),
    )  # fmt: skip


TABLES.add(
    "success_curves",
    _seed_table("success_curves", "Success S(α) over seeds", "S(α)", r"$S(\alpha)$", _BASE_RATE_LIFT),
)
TABLES.add("accuracy", _seed_table("accuracy", "Test accuracy over seeds", "Accuracy", "Accuracy"))
TABLES.add(
    "worst_group",
    _seed_table("worst_group", "Worst-group test accuracy over seeds", "Worst-group acc.", "Worst-group acc."),
)
TABLES.add(
    "critical_mass",
    TableSpec(
        name="critical_mass",
        title="Critical mass α*(S*)",
        columns=(
            _DATASET, _ARM, _EPSILON, _CLIP,
            Column(("metric",), "Metric", "Metric", "text", numeric=False, optional=True),
            Column(("threshold",), "S*", "$S^*$", "num"),
            Column(("alpha_star",), "α*", r"$\alpha^*$", "alpha_star"),
            Column(("ci_low", "ci_high"), "95% CI", r"95\% CI", "alpha_ci"),
            Column(("frac_reached",), "Reached (bootstrap)", "Reached (bootstrap)", "frac"),
            Column(("n_seeds",), "Seeds", "Seeds", "int"),
            Column(("interpolation",), "Interpolation", "Interpolation", "text", numeric=False, optional=True),
            Column(("search",), "Search", "Search", "text", numeric=False, optional=True),  # searched sweeps
            Column(("note",), "Note", "Note", "text", numeric=False),
        ),
    ),
)  # fmt: skip
TABLES.add(
    "verdict",
    TableSpec(
        name="verdict",
        title="Does α* rise as ε falls?",
        columns=(
            _DATASET,
            Column(("threshold",), "S*", "$S^*$", "num"),
            Column(("clip",), "C (DP arms)", "$C$ (DP arms)", "clip"),
            Column(("verdict",), "Verdict", "Verdict", "text", numeric=False),
            Column(("text",), "Summary", "Summary", "text", numeric=False),
            Column(("reason",), "Reason", "Reason", "text", numeric=False),
        ),
    ),
)  # fmt: skip


def _lira_tpr_formatter(target_fpr: float) -> Formatter:
    """LiRA cells of the TPR at ``target_fpr`` from (mean, std, targets it is defined for, targets with members and
    non-members): mean ± std, with "(k of n targets)" when it is not defined for all; "undefined (< 1/f
    non-members)" when it is defined for none; "missing" for an unfinished audit."""
    mean_std = _mean_std_formatter(".3g")

    def format_tpr(values: tuple[Any, ...], style: Style) -> str:
        mean, std, n_defined, n_targets = values
        if _missing(n_defined) or _missing(n_targets):
            return "missing"
        if int(n_defined) == 0:
            return f"undefined ({'$<$' if style == 'latex' else '<'} {min_non_members(target_fpr)} non-members)"
        cell = mean_std((mean, std, n_defined), style)
        return cell if int(n_defined) == int(n_targets) else f"{cell} ({int(n_defined)} of {int(n_targets)} targets)"

    return format_tpr


FORMATTERS.add("lira_tpr_at_0.1%", _lira_tpr_formatter(0.001))
FORMATTERS.add("lira_tpr_at_1%", _lira_tpr_formatter(0.01))


@FORMATTERS.register("lira_counts")
def _lira_counts(values: tuple[Any, ...], style: Style) -> str:
    """Members and non-members of the subset, each the minimum over targets, as "members / non-members"."""
    members, non_members = values
    return _dash(style) if _missing(members) or _missing(non_members) else f"{int(members)} / {int(non_members)}"


@FORMATTERS.register("lira_auc_ci")
def _lira_auc_ci(values: tuple[Any, ...], style: Style) -> str:
    low, high = values
    return "n/a" if _missing(low) or _missing(high) else f"[{float(low):.3f}, {float(high):.3f}]"


@FORMATTERS.register("lira_epsilon_bound")
def _lira_epsilon_bound(values: tuple[Any, ...], style: Style) -> str:
    """The ε lower bound and the number of judged targets (decision pairs) behind it."""
    bound, n_targets = values
    if _missing(n_targets):
        return _dash(style)
    text = "n/a" if _missing(bound) else format(float(bound), ".3g")
    return f"{text} ({int(n_targets)} targets)"


TABLES.add(
    "lira",
    TableSpec(
        name="lira",
        title="LiRA membership-inference audits",
        columns=(
            _DATASET, _EPSILON, _CLIP, _ALPHA,
            Column(("recipe",), "Recipe", "Recipe", "text", numeric=False, optional=True),
            Column(("seed",), "Seed", "Seed", "int", optional=True),
            Column(("variant",), "Variant", "Variant", "text", numeric=False, optional=True),
            Column(("attack",), "Attack", "Attack", "text", numeric=False),
            Column(("convention",), "Convention", "Convention", "text", numeric=False),
            Column(("subset",), "Subset", "Subset", "text", numeric=False),
            Column(("n_members_min", "n_non_members_min"), "Members / non-members (min per target)",
                   "Members / non-members (min per target)", "lira_counts"),
            Column(("auc_mean", "auc_std", "n_shadows"), "AUC", "AUC", "mean_std"),
            Column(("auc_ci_low", "auc_ci_high"), "AUC 95% CI", r"AUC 95\% CI", "lira_auc_ci"),
            Column(("tpr_at_0_1_fpr_mean", "tpr_at_0_1_fpr_std", "n_targets_tpr_at_0_1_fpr", "n_targets"),
                   "TPR@0.1%FPR", r"TPR@0.1\%FPR", "lira_tpr_at_0.1%"),
            Column(("tpr_at_1_fpr_mean", "tpr_at_1_fpr_std", "n_targets_tpr_at_1_fpr", "n_targets"), "TPR@1%FPR",
                   r"TPR@1\%FPR", "lira_tpr_at_1%"),
            Column(("n_shadows",), "Shadows", "Shadows", "int"),
            Column(("epsilon_lower_bound", "epsilon_n_targets"), "ε lower bound (per target)",
                   r"$\varepsilon$ lower bound (per target)", "lira_epsilon_bound"),
            Column(("status",), "Status", "Status", "text", numeric=False),
        ),
    ),
)  # fmt: skip


TABLES.add(
    "lira_regime",
    TableSpec(
        name="lira_regime",
        title="LiRA audits: the regime of the grid trial and of its shadows",
        columns=(
            _DATASET, _EPSILON, _CLIP, _ALPHA,
            Column(("recipe",), "Recipe", "Recipe", "text", numeric=False, optional=True),
            Column(("seed",), "Seed", "Seed", "int", optional=True),
            Column(("models",), "Models", "Models", "text", numeric=False),
            Column(("n_train",), "Training examples", "Training examples", "mean_count"),
            Column(("sample_rate",), "q", "$q$", "num"),
            Column(("noise_multiplier",), "σ", r"$\sigma$", "num"),
            Column(("steps",), "Steps", "Steps", "mean_count"),
            Column(("epsilon_spent",), "ε spent", r"$\varepsilon$ spent", "epsilon"),
            Column(("train_accuracy",), "Train acc.", "Train acc.", "prob"),
            Column(("test_accuracy",), "Test acc.", "Test acc.", "prob"),
        ),
    ),
)  # fmt: skip


def _escape_pipes(text: str) -> str:
    return text.replace("|", r"\|")


def to_markdown(frame: pd.DataFrame, columns: Sequence[Column]) -> str:
    """A GitHub-flavoured pipe table of ``frame`` (numbers right-aligned), ending with a newline."""
    header = "| " + " | ".join(_escape_pipes(c.header) for c in columns) + " |"
    rule = "|" + "|".join("---:" if c.numeric else ":---" for c in columns) + "|"
    cells = [column.cells(frame, "text") for column in columns]
    body = ["| " + " | ".join(_escape_pipes(cell) for cell in row) + " |" for row in zip(*cells, strict=True)]
    return "\n".join([header, rule, *body]) + "\n"


def to_latex(frame: pd.DataFrame, columns: Sequence[Column]) -> str:
    """A booktabs ``tabular`` of ``frame`` (needs ``\\usepackage{booktabs}``), ending with a newline."""
    align = "".join("r" if c.numeric else "l" for c in columns)
    cells = [column.cells(frame, "latex") for column in columns]
    lines = [
        f"\\begin{{tabular}}{{{align}}}",
        r"\toprule",
        " & ".join(c.latex for c in columns) + r" \\",
        r"\midrule",
        *(" & ".join(row) + r" \\" for row in zip(*cells, strict=True)),
        r"\bottomrule",
        r"\end{tabular}",
    ]
    return "\n".join(lines) + "\n"


def to_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV with full-precision numbers (``inf`` as ``inf``, NaN as an empty field)."""
    return str(frame.to_csv(index=False, lineterminator="\n"))


@dataclass(frozen=True)
class RenderedTable:
    """One table in its three file formats."""

    csv: str
    markdown: str
    latex: str


def render_table(name: str, frame: pd.DataFrame, *, note: str = "") -> RenderedTable:
    """Render the table ``name`` of :data:`TABLES` (e.g. ``"critical_mass"``) from its reducer frame.

    A ``note`` (the table's method: intervals, bootstrap, interpolation) follows the Markdown table as a paragraph and
    the LaTeX tabular as ``%`` comment lines; the CSV stays pure data.
    """
    columns = TABLES.get(name).display_columns(frame)
    markdown, latex = to_markdown(frame, columns), to_latex(frame, columns)
    if note:
        markdown += f"\n{note}\n"
        latex += "".join(f"% {line}\n" for line in note.splitlines())
    return RenderedTable(csv=to_csv(frame), markdown=markdown, latex=latex)


def write_table(name: str, frame: pd.DataFrame, out_dir: Path, *, note: str = "") -> list[Path]:
    """Write ``<name>.csv``, ``<name>.md`` and ``<name>.tex`` into ``out_dir`` atomically; returns their paths."""
    rendered = render_table(name, frame, note=note)
    return [
        write_atomic(out_dir / REDUCED.table(name, "csv"), rendered.csv),
        write_atomic(out_dir / REDUCED.table(name, "md"), rendered.markdown),
        write_atomic(out_dir / REDUCED.table(name, "tex"), rendered.latex),
    ]
