"""Rich output for `advisor fit-surface`: one coefficient table per surface, then findings."""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.surface import FittedSurface, SurfaceFits

SIG_LEGEND = "significance: *** p<0.001  ** p<0.01  * p<0.05  . p<0.1"
SHORT = {"learning_rate": "lr", "batch_size": "batch", "epochs": "epochs"}
# findings left to --full (the one-screen summary has R², CV R², noise and survivors itself)
DETAIL = (
    "the surface explains",
    "seed-to-seed SD",
    "no evidence of lack of fit",
    "terms were tested at alpha",
)
DETAIL_PARTS = (" interact (", " curves downward in ", " curves upward in ")
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


def verdict_word(surface: FittedSurface) -> str:
    """`trustworthy` in green or `NOT trustworthy` in red (Rich markup)."""
    return "[green]trustworthy[/]" if surface.trustworthy else "[bold red]NOT trustworthy[/]"


def design_line(surface: FittedSurface) -> str:
    """Rows, configurations against terms, levels, concentration, conditioning, leverage."""
    d = surface.diagnostics
    if d is None:
        return ""
    levels = ", ".join(f"{SHORT.get(k, k)} {v}" for k, v in d.levels.items())
    top = d.top_config
    parts = [
        f"design: {d.rows} rows, {d.configs} configs for {d.terms} terms"
        + (" (saturated)" if d.saturated else ""),
        f"levels {levels}",
        f"{d.top_rows} rows ({d.top_rows / d.rows:.0%}) at lr {top['learning_rate']:.3g} "
        f"batch {top['batch_size']:g} epochs {top['epochs']:g}"
        if d.top_rows > 1
        else "no configuration repeated",
        f"cond. {_num(d.condition_number, '.3g')}",
        f"max leverage {_num(d.max_leverage, '.2f')}"
        + (f" ({len(d.leverage_one)} config(s) near 1)" if d.leverage_one else ""),
    ]
    return "; ".join(parts)


def noise_line(surface: FittedSurface) -> str:
    """R², CV R² (or why there is none), residual and seed SD, and the inference used."""
    s, d = surface.stats, surface.diagnostics
    cv = _num(s.cv_r2, ".3f") if s.cv_r2 is not None else f"n/a ({s.cv_note or 'not possible'})"
    parts = [f"R²={_num(s.r2, '.3f')}", f"CV R²={cv}", f"F-test {_p_eq(s.f_pvalue)}"]
    if d is not None:
        parts.append(f"residual SD {_num(d.resid_sd, '.3g')}")
        if d.seed_sd is not None:
            parts.append(f"seed SD {_num(d.seed_sd, '.3g')}")
        parts.append(f"inference: {d.inference_note}")
    return "  ".join(parts)


def _is_shift(surface: FittedSurface) -> bool:
    return surface.mode == "relative" and getattr(surface, "relative_kind", None) in (None, "shift")


def render_surface(surface: FittedSurface, console: Console, full: bool = False) -> None:
    """One screen per surface: verdict, design, fit, reasons or findings; `full` adds tables."""
    console.print(
        f"[bold]{escape(surface.target)}[/]  ({surface.mode}, degree {surface.degree}): "
        f"{verdict_word(surface)}"
    )
    line = design_line(surface)
    if line:
        console.print(f"  {escape(line)}", highlight=False)
    console.print(f"  {escape(noise_line(surface))}", highlight=False)
    if full:
        console.print(coefficient_table(surface))
        console.print(fit_line(surface), highlight=False)
        console.print(f"[dim]{escape(_coding(surface))}[/]")
    for warning in surface.warnings:
        console.print(f"  [yellow]warning:[/] {escape(warning)}")
    if full:
        for note in surface.notes:
            console.print(f"  [dim]note: {escape(note)}[/]")
    for reason in surface.reasons:
        console.print(f"  [red]✗[/] {escape(reason)}", highlight=False)
    if surface.reasons:
        console.print("  [dim]findings withheld until these are fixed[/]")
    shown = list(surface.findings) if full else summary_findings(surface)
    for finding in shown:
        console.print(f"  • {escape(finding)}", highlight=False)
    console.print()


def summary_findings(surface: FittedSurface) -> list[str]:
    """The findings for one screen: directions, the Holm survivors, what else was found."""
    if not surface.findings:
        return []
    kept = [f for f in surface.findings if not any(part in f for part in (*DETAIL, *DETAIL_PARTS))]
    survivors = [
        t.term
        for t, term in zip(surface.term_stats, surface.terms, strict=True)
        if not term.is_intercept and math.isfinite(t.p_holm) and t.p_holm < surface.alpha
    ]
    line = "effects that survive Holm's correction: " + (", ".join(survivors) or "none")
    lead = ("a higher ", "a larger ", "more epochs ", "no clear effect")
    cut = next((i for i, f in enumerate(kept) if not f.startswith(lead)), len(kept))
    return [*kept[:cut], line, *kept[cut:]]


def render_shift(surface: FittedSurface, console: Console) -> None:
    """A relative surface that is the absolute one shifted by the baseline: one line."""
    centre = next((f for f in surface.findings if f.startswith("against the baseline")), "")
    console.print(
        f"[bold]{escape(surface.target)}[/]: the {escape(surface.metric)} surface shifted by the "
        f"baseline ({_num(surface.baseline)}): same slopes, p-values and verdict "
        f"({verdict_word(surface)}); the baseline's configuration is unknown"
        + (f"; {escape(centre)}" if centre else "")
        + "\n",
        highlight=False,
    )


def render_fits(
    fits: SurfaceFits,
    source: str,
    stored_in: str | None = None,
    console: Console | None = None,
    full: bool = False,
) -> None:
    """Every fitted surface (one screen each; `full`: with coefficient tables), the skipped
    ones with reasons, and where the fit was stored."""
    console = console or Console()
    console.print(f"[bold]response surfaces[/] of {escape(source)}\n")
    for surface in fits.surfaces:
        if _is_shift(surface) and not full:
            render_shift(surface, console)
        else:
            render_surface(surface, console, full)
    for skipped in fits.skipped:
        console.print(
            f"[yellow]skipped {skipped.metric} ({skipped.mode}):[/] {escape(skipped.reason)}"
        )
    pick = fits.joint_pick()
    if pick is not None:
        console.print(f"{escape(joint_pick_line(pick))}\n", highlight=False)
    if full:
        console.print(
            f"[dim]{SIG_LEGEND}; bold terms are significant at "
            f"alpha={fits.options.get('alpha', 0.05):g}[/]"
        )
    else:
        console.print("[dim]coefficient tables: --full; every number: --json[/]")
    if stored_in:
        console.print(
            f"stored {len(fits.surfaces)} surface(s) with study [bold]{escape(stored_in)}[/]"
        )


def joint_pick_line(pick: dict[str, Any]) -> str:
    """The Derringer-Suich joint pick in one line (issue 13, item 8)."""
    p = pick["params"]
    values = ", ".join(
        f"{name} {v['mean']:.3f} [{v['lower']:.3f}, {v['upper']:.3f}]"
        for name, v in pick["predicted"].items()
    )
    caveat = (
        f" (from untrustworthy surfaces: {', '.join(pick['untrustworthy'])})"
        if pick.get("untrustworthy")
        else ""
    )
    return (
        f"joint pick by desirability inside the tried region (D = {pick['D']:.2f}): "
        f"lr={p['learning_rate']:.3g} batch={p['batch_size']} epochs={p['epochs']}: "
        f"{values}{caveat}"
    )
