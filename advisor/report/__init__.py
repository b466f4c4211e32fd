"""Report: PNG figures (main effects, interactions, contours, coefficients, Pareto fronts, seed
variability) and one self-contained HTML page for a study or a table of trials.

Each figure function takes DataFrames / fitted surfaces and returns a matplotlib `Figure`;
`build_report` writes them and the page. This package is the only one that imports matplotlib.
"""

from __future__ import annotations

from advisor.report._build import HTML_NAME, ReportResult, build_report
from advisor.report._coefficients import coefficient_figure
from advisor.report._contour import contour_figure
from advisor.report._front import Fronts, compute_fronts
from advisor.report._interaction import interaction_figure, strongest_pair
from advisor.report._main_effects import main_effects_figure
from advisor.report._pareto_plot import pareto_figure
from advisor.report._seeds import seed_figure, seed_summary

__all__ = [
    "HTML_NAME",
    "Fronts",
    "ReportResult",
    "build_report",
    "coefficient_figure",
    "compute_fronts",
    "contour_figure",
    "interaction_figure",
    "main_effects_figure",
    "pareto_figure",
    "seed_figure",
    "seed_summary",
    "strongest_pair",
]
