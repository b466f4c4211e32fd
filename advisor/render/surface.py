"""Rich output for `advisor fit-surface`: one coefficient table per surface, then findings."""

from __future__ import annotations

import math

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.surface import FittedSurface, SurfaceFits

SIG_LEGEND = "significance: *** p<0.001  ** p<0.01  * p<0.05  . p<0.1"
TRANSFORM_TEXT = {"log10": "log10({})", "log2": "log2({})", "identity": "{}"}


def stars(p: float) -> str:
    """Conventional significance marks for a p-value."""
    if not math.isfinite(p):
        return ""
    for limit, mark in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < limit:
            return mark
    return ""


def _num(value: float | None, spec: str = ".4g") -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return format(value, spec)


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _p_eq(value: float) -> str:
    text = _p(value)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def coefficient_table(surface: FittedSurface) -> Table:
    """Term, coefficient, SE, t, p (with marks) and the confidence interval (fits 80 columns).

    Holm-adjusted p-values are in the findings and the JSON.
    """
    level = f"{1 - surface.alpha:.0%}"
    title = f"{surface.target}  ({surface.mode}, degree {surface.degree})"
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("term", no_wrap=True)
    for column in ("coef", "se", "t", "p", "", f"{level} low", f"{level} high"):
        table.add_column(column, justify="right" if column else "left", no_wrap=True)
    for t in surface.term_stats:
        bold = math.isfinite(t.p) and t.p < surface.alpha and t.term != "Intercept"
        name = f"[bold]{escape(t.term)}[/]" if bold else escape(t.term)
        table.add_row(
            name,
            _num(t.coef),
            _num(t.se, ".2g"),
            _num(t.t, ".2f"),
            _p(t.p),
            stars(t.p),
            _num(t.ci_low),
            _num(t.ci_high),
        )
    return table


def _coding(surface: FittedSurface) -> str:
    parts = []
    for f in surface.factors:
        raw = TRANSFORM_TEXT[f.transform].format(f.param)
        if f.center != 0.0 or f.scale != 1.0:
            shift = f"- {f.center:.4g}" if f.center >= 0 else f"+ {-f.center:.4g}"
            parts.append(f"{f.name} = ({raw} {shift}) / {f.scale:.4g}")
        else:
            parts.append(f"{f.name} = {raw}")
    return f"coding: {surface.coding}; " + ", ".join(parts)


def fit_line(surface: FittedSurface) -> str:
    """Whole-model statistics in one line."""
    s = surface.stats
    parts = [
        f"n={s.n} ({s.n_configs} configs)",
        f"R²={_num(s.r2, '.3f')}",
        f"adj. R²={_num(s.adj_r2, '.3f')}",
        f"CV R²={_num(s.cv_r2, '.3f')}",
        f"F-test {_p_eq(s.f_pvalue)}",
        f"AIC={_num(s.aic, '.1f')}",
        f"BIC={_num(s.bic, '.1f')}",
        f"resid. dof={s.df_resid:g}",
        f"σ={_num(s.sigma, '.3g')}",
    ]
    if s.lack_of_fit is not None:
        parts.append(f"lack of fit {_p_eq(s.lack_of_fit.p)}")
    if surface.cov_type != "nonrobust":
        parts.append(f"{surface.cov_type} errors")
    return "  ".join(parts)


def render_surface(surface: FittedSurface, console: Console) -> None:
    """Table, fit statistics, warnings and findings of one surface."""
    console.print(coefficient_table(surface))
    console.print(fit_line(surface), highlight=False)
    console.print(f"[dim]{escape(_coding(surface))}[/]")
    for warning in surface.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    for note in surface.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    for finding in surface.findings:
        console.print(f"  • {escape(finding)}", highlight=False)
    console.print()


def render_fits(
    fits: SurfaceFits, source: str, stored_in: str | None = None, console: Console | None = None
) -> None:
    """Every fitted surface, the skipped ones with reasons, and where the fit was stored."""
    console = console or Console()
    console.print(f"[bold]response surfaces[/] of {escape(source)}\n")
    for surface in fits.surfaces:
        render_surface(surface, console)
    for skipped in fits.skipped:
        console.print(
            f"[yellow]skipped {skipped.metric} ({skipped.mode}):[/] {escape(skipped.reason)}"
        )
    console.print(
        f"[dim]{SIG_LEGEND}; bold terms are significant at "
        f"alpha={fits.options.get('alpha', 0.05):g}[/]"
    )
    if stored_in:
        console.print(
            f"stored {len(fits.surfaces)} surface(s) with study [bold]{escape(stored_in)}[/]"
        )
