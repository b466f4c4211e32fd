"""`build_report`: figures as PNG files plus one self-contained HTML page for a study or table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from matplotlib.figure import Figure

from advisor.errors import DataError
from advisor.report._coefficients import coefficient_figure
from advisor.report._contour import contour_figure
from advisor.report._front import Fronts, compute_fronts
from advisor.report._html import Page
from advisor.report._interaction import interaction_figure
from advisor.report._main_effects import main_effects_figure
from advisor.report._pareto_plot import pareto_figure
from advisor.report._sections import (
    front_tables,
    overview,
    seed_table,
    surface_summary,
)
from advisor.report._seeds import seed_figure
from advisor.report._style import metric_name, save_png
from advisor.steering._objectives import Objective, parse_objectives
from advisor.surface import FittedSurface, current_surfaces
from advisor.table import METRICS, TrialsTable

HTML_NAME = "report.html"
NO_BASELINE = (
    "no baseline: relative plots (metric − baseline) skipped; store a baseline with the study "
    "or add a role=baseline row to the table"
)


@dataclass(frozen=True)
class ReportResult:
    """What `build_report` wrote: the HTML page, the PNG figures, and notes on what it skipped
    or refitted."""

    out_dir: Path
    html: Path
    figures: list[Path]
    notes: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        """Every file written: the figures, then the page."""
        return [*self.figures, self.html]

    @property
    def skipped_notes(self) -> list[str]:
        """Alias of `notes`."""
        return self.notes

    def to_json(self) -> dict[str, Any]:
        """`{"out": dir, "html": path, "figures": [...], "notes": [...]}`."""
        return {
            "out": str(self.out_dir),
            "html": str(self.html),
            "figures": [str(f) for f in self.figures],
            "notes": list(self.notes),
        }


@dataclass
class _Report:
    """Figures written so far, notes, and the page under construction."""

    out_dir: Path
    page: Page
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, fig: Figure, name: str, caption: str) -> None:
        path = save_png(fig, self.out_dir / name)
        self.figures.append(path)
        self.page.figure(path, caption)


def build_report(
    source: optuna.Study | TrialsTable,
    out_dir: str | Path,
    objectives: str | list[Objective] = "f1,loss",
    *,
    title: str | None = None,
    degree: int = 2,
) -> ReportResult:
    """Write the report's PNG figures and `report.html` into `out_dir` (created if needed).

    Args:
        source: a study (its finished and partial trials, baseline and stored surfaces) or a
            table of trials (surfaces are fitted here).
        out_dir: folder for the files.
        objectives: the Pareto front's objectives, e.g. `"f1,loss"` or `"accuracy,loss_rel"`.
        title: the page's title (default: names the study).
        degree: degree of surfaces fitted here (lowered when there are too few trials).

    Raises:
        DataError: no finished trials. ObjectiveError: bad objectives.
    """
    chosen = parse_objectives(objectives) if isinstance(objectives, str) else list(objectives)
    table, stored, name, fingerprint = _load(source)
    if table.rows.empty:
        raise DataError(f"{name} has no finished trials to report on; run `advisor grid` first")
    surfaces, notes = current_surfaces(table, stored, degree, fingerprint=fingerprint)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = _Report(out, Page(title or f"advisor report: {name}"), notes=notes)
    if not table.baseline:
        report.notes.append(NO_BASELINE)
    overview(report.page, table, name, surfaces)
    _pareto_section(report, table, surfaces, chosen)
    for metric in METRICS:
        _metric_section(report, table, surfaces, metric)
    _coefficient_section(report, surfaces)
    _seed_section(report, table)
    report.page.heading("Notes")
    report.page.bullets(report.notes or ["nothing was skipped"], css="notes")
    html = out / HTML_NAME
    html.write_text(report.page.html(), encoding="utf-8")
    return ReportResult(out, html, report.figures, report.notes)


def _load(
    source: optuna.Study | TrialsTable,
) -> tuple[TrialsTable, dict[str, FittedSurface] | None, str, str | None]:
    if isinstance(source, TrialsTable):
        return source, None, "table", None
    from advisor.study.surfaces import load_surfaces, stored_fingerprint
    from advisor.study.views import table_of

    return table_of(source), load_surfaces(source), source.study_name, stored_fingerprint(source)


def _pareto_section(
    report: _Report,
    table: TrialsTable,
    surfaces: Mapping[str, FittedSurface],
    objectives: list[Objective],
) -> None:
    names = [o.name for o in objectives]
    report.page.heading(f"Pareto front: {', '.join(names)}")
    missing = [n for n in names if n not in table.rows.columns or table.rows[n].isna().all()]
    if missing:
        report.notes.append(
            f"Pareto front skipped: no trial has {', '.join(missing)}"
            + (" (relative metrics need a baseline)" if not table.baseline else "")
        )
        report.page.paragraph(report.notes[-1])
        return
    fronts: Fronts = compute_fronts(table.rows, surfaces, objectives)
    if fronts.predicted is None:
        report.notes.append(
            f"predicted Pareto front skipped: no surface for "
            f"{', '.join(n for n in names if n not in surfaces)}"
        )
    if len(fronts.observed) == 1:
        report.notes.append(
            "the observed Pareto front is a single configuration: it is at least "
            f"as good as every other in {', '.join(names)}"
        )
    report.add(
        pareto_figure(fronts),
        f"pareto_{'_'.join(names)}.png",
        f"Observed and predicted Pareto fronts for {', '.join(names)}",
    )
    front_tables(report.page, fronts)


def _metric_section(
    report: _Report, table: TrialsTable, surfaces: Mapping[str, FittedSurface], metric: str
) -> None:
    absolute = surfaces.get(metric)
    if absolute is None:
        return
    name = metric_name(metric)
    report.page.heading(f"{name} surfaces")
    surface_summary(report.page, absolute, surfaces.get(f"{metric}_rel"))
    baseline = (table.baseline or {}).get(metric)
    report.add(
        main_effects_figure(absolute, table.rows, baseline),
        f"{metric}_main_effects.png",
        f"{name}: main effects with confidence bands",
    )
    interaction = interaction_figure(absolute, table.rows)
    if interaction is None:
        report.notes.append(
            f"{metric}: interaction plot skipped: the degree-{absolute.degree} "
            "surface has no interaction term"
        )
    else:
        report.add(
            interaction, f"{metric}_interaction.png", f"{name}: the strongest two-way interaction"
        )
    report.add(
        contour_figure(absolute, table.rows),
        f"{metric}_contour.png",
        f"{name}: fitted surface over each pair of hyperparameters",
    )
    relative = surfaces.get(f"{metric}_rel")
    if relative is not None:
        report.add(
            contour_figure(relative, table.rows),
            f"{metric}_rel_contour.png",
            f"{name} − baseline: gain over the baseline",
        )
    elif table.baseline:
        report.notes.append(f"{metric}: relative plot skipped: no relative surface")


def _coefficient_section(report: _Report, surfaces: Mapping[str, FittedSurface]) -> None:
    absolute = [surfaces[m] for m in METRICS if m in surfaces]
    if not absolute:
        return
    report.page.heading("Coefficients")
    report.add(
        coefficient_figure(absolute),
        "coefficients.png",
        "Coefficients of the absolute surfaces with confidence intervals",
    )


def _seed_section(report: _Report, table: TrialsTable) -> None:
    report.page.heading("Seed-to-seed variability")
    fig = seed_figure(table.rows, [m for m in METRICS if m in table.rows.columns])
    if fig is None:
        report.notes.append(
            "seed variability skipped: no configuration was run with more than one seed"
        )
        report.page.paragraph(report.notes[-1])
        return
    seed_table(report.page, table.rows)
    report.add(fig, "seed_variability.png", "Spread of each metric across seeds, per configuration")
