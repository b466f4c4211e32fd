"""Text and tables of the HTML page: overview, surface statistics, fronts, seed noise."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from advisor.report._front import Fronts
from advisor.report._html import Page
from advisor.report._seeds import seed_summary
from advisor.report._style import config_label, metric_name
from advisor.surface import FittedSurface
from advisor.table import METRICS, PARAMS, TrialsTable

MAX_FRONT_ROWS = 12


def num(value: float | None, spec: str = ".4g") -> str:
    """A number for a table cell (`n/a` when missing)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return format(value, spec)


def p_text(value: float) -> str:
    """A p-value as `<0.001` or with three decimals."""
    return "n/a" if not math.isfinite(value) else "<0.001" if value < 0.001 else f"{value:.3f}"


def p_eq(value: float) -> str:
    """`p<0.001` or `p=0.123`."""
    text = p_text(value)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def overview(page: Page, table: TrialsTable, name: str, surfaces: Mapping[str, object]) -> None:
    """What the report is about: trials, configurations, seeds, the baseline."""
    rows = table.rows
    configs = rows.groupby(list(PARAMS)).ngroups
    ranges = ", ".join(
        f"{p.replace('_', ' ')} {rows[p].min():.3g} to {rows[p].max():.3g}" for p in PARAMS
    )
    page.paragraph(
        f"Source: {name}. {len(rows)} finished trials, {configs} distinct configurations; {ranges}."
    )
    if table.baseline:
        base = ", ".join(
            f"{metric_name(m)} {table.baseline[m]:.4g}" for m in METRICS if m in table.baseline
        )
        page.paragraph(f"Baseline: {base}.")
    else:
        page.paragraph("No baseline: the relative (metric − baseline) plots are skipped.")
    page.paragraph(f"Surfaces drawn: {', '.join(surfaces) or 'none'}.")


def surface_summary(page: Page, surface: FittedSurface, relative: FittedSurface | None) -> None:
    """Fit statistics, the coefficient table, warnings and findings of one metric's surfaces."""
    s = surface.stats
    lof = "" if s.lack_of_fit is None else f", lack of fit {p_eq(s.lack_of_fit.p)}"
    page.paragraph(
        f"{surface.target} (degree {surface.degree}, {surface.coding} factors): n={s.n} "
        f"({s.n_configs} configurations), R²={num(s.r2, '.3f')}, adj. R²={num(s.adj_r2, '.3f')}"
        f", CV R²={num(s.cv_r2, '.3f')}, σ={num(s.sigma, '.3g')}, F-test {p_eq(s.f_pvalue)}"
        f"{lof}."
    )
    level = f"{1 - surface.alpha:.0%}"
    header = ["term", "coef", "se", "t", "p", "p (Holm)", f"{level} low", f"{level} high"]
    cells = [
        [
            t.term,
            num(t.coef),
            num(t.se, ".2g"),
            num(t.t, ".2f"),
            p_text(t.p),
            p_text(t.p_holm),
            num(t.ci_low),
            num(t.ci_high),
        ]
        for t in surface.term_stats
    ]
    bold = [t.term != "Intercept" and t.p < surface.alpha for t in surface.term_stats]
    page.table(header, cells, bold)
    page.bullets([f"warning: {w}" for w in surface.warnings])
    if surface.trustworthy:
        page.paragraph(f"Verdict: trustworthy. Inference: {_inference(surface)}.")
    else:  # findings are withheld: the reasons and what to do take their place
        page.paragraph(f"Verdict: NOT trustworthy. Inference: {_inference(surface)}.")
        page.bullets([f"not trustworthy: {r}" for r in surface.reasons])
    page.bullets(list(surface.findings))
    if relative is not None:
        page.subheading(f"{relative.target}: against the baseline ({num(relative.baseline)})")
        page.paragraph(
            "Same coefficients as above except the intercept, which is the absolute "
            "intercept minus the baseline."
        )
        page.bullets([f for f in relative.findings if f.startswith("against the baseline")])


def _inference(surface: FittedSurface) -> str:
    d = surface.diagnostics
    return d.inference_note if d is not None else surface.cov_type


def front_tables(page: Page, fronts: Fronts) -> None:
    """The observed front's configurations, and up to MAX_FRONT_ROWS of the predicted front."""
    names = [o.name for o in fronts.objectives]
    page.subheading("Observed front (configuration means over seeds; # as in the figure)")
    page.table(
        ["#", "configuration", "runs", *names],
        [
            [str(i), config_label(r), str(int(r["n"])), *(num(r[n]) for n in names)]
            for i, r in enumerate(fronts.observed.to_dict("records"), start=1)
        ],
    )
    if fronts.predicted is None:
        return
    front = fronts.predicted
    pick = np.unique(np.round(np.linspace(0, len(front) - 1, min(len(front), MAX_FRONT_ROWS))))
    page.subheading(
        f"Predicted front ({len(pick)} of {len(front)} points, {fronts.level:.0%} CI of the mean)"
    )
    rows = front.iloc[pick.astype(int)]
    page.table(
        ["configuration", *names],
        [
            [
                config_label(r),
                *(f"{num(r[n])} ({num(r[n + '_lower'])} to {num(r[n + '_upper'])})" for n in names),
            ]
            for _, r in rows.iterrows()
        ],
    )


def seed_table(page: Page, rows: pd.DataFrame) -> None:
    """Pooled seed SD against the spread of configuration means, per metric."""
    summary = seed_summary(rows, [m for m in METRICS if m in rows.columns])
    page.table(
        [
            "metric",
            "replicated configs",
            "seed SD (pooled)",
            "SD of config means",
            "seed SD / config SD",
        ],
        [
            [
                metric_name(r.metric),
                str(r.configs),
                num(r.seed_sd, ".3g"),
                num(r.config_sd, ".3g"),
                num(r.ratio, ".2f"),
            ]
            for r in summary.itertuples()
        ],
    )
