"""Plain-words findings for a fitted surface: what matters, in which direction, how sure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from advisor.surface._diagnostics import plateau
from advisor.surface._model import FittedSurface
from advisor.table import DIRECTIONS

CV_GOOD = 0.6  # cross-validated R² from which a surface is said to predict
CV_ROUGH = 0.3  # ... below which it predicts only barely
MANY_TESTS = 4  # from this many tested terms on, add the multiple-comparisons note
# parameter -> (raising it, "at larger values of it", verb suffix for "raise(s)/lower(s)")
PHRASES: dict[str, tuple[str, str, str]] = {
    "learning_rate": ("a higher learning rate", "higher learning rates", "s"),
    "batch_size": ("a larger batch size", "larger batch sizes", "s"),
    "epochs": ("more epochs", "more epochs", ""),
}


def describe(surface: FittedSurface, y: np.ndarray) -> list[str]:
    """Short sentences for an ML engineer, from fit quality to the significant effects."""
    out = [_quality(surface)]
    if surface.stats.df_resid <= 0:
        return [
            *out,
            "with no residual degrees of freedom nothing can be tested: add runs "
            "(or lower --degree) before reading effects off this surface",
        ]
    out += _slopes(surface)
    out += _curvature(surface)
    out += _interactions(surface)
    out += _relative(surface)
    out += _noise(surface)
    out += _lack_of_fit(surface)
    out += _plateau(surface, y)
    out += _multiple_comparisons(surface)
    if surface.select:
        out.append(
            f"terms were chosen by {surface.select.upper()}: the p-values ignore that "
            "selection and are optimistic"
        )
    return [line for line in out if line]


def fmt_p(p: float) -> str:
    """`p<0.001`, `p=0.028` or `p=n/a`."""
    if not np.isfinite(p):
        return "p=n/a"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _label(surface: FittedSurface) -> str:
    return surface.metric if surface.mode == "absolute" else f"{surface.metric} - baseline"


def _quality(surface: FittedSurface) -> str:
    s = surface.stats
    line = f"the surface explains {100 * s.r2:.1f}% of the variation in {_label(surface)}"
    if np.isfinite(s.adj_r2):
        line += f" (adjusted R² {s.adj_r2:.2f})"
    if s.cv_r2 is None:
        line += f"; no cross-validation ({s.cv_note or 'too few configurations'})"
    elif s.cv_r2 <= 0:
        line += (
            f"; cross-validated R² {s.cv_r2:.2f}: it predicts unseen configurations no "
            "better than their average, so it describes these runs but does not predict"
        )
    elif s.cv_r2 < CV_ROUGH:
        line += f"; cross-validated R² {s.cv_r2:.2f}: it barely predicts new configurations"
    elif s.cv_r2 < CV_GOOD:
        line += f"; cross-validated R² {s.cv_r2:.2f}: it predicts new configurations only roughly"
    else:
        line += f"; cross-validated R² {s.cv_r2:.2f}: it also predicts configurations not yet run"
    if np.isfinite(s.f_pvalue) and s.f_pvalue >= surface.alpha:
        line += (
            f". The model as a whole is not significant (F-test {fmt_p(s.f_pvalue)}): "
            "the factors may not matter, or there are too few runs to tell"
        )
    return line


def centre_frame(surface: FittedSurface) -> pd.DataFrame:
    """One row at the middle of the fitted range of every factor (raw parameter values)."""
    return pd.DataFrame([{f.param: f.to_param((f.low + f.high) / 2.0) for f in surface.factors}])


def slope_at_centre(surface: FittedSurface, factor: int) -> tuple[float, float, float]:
    """(slope, standard error, p) of the mean per unit of the transformed factor at the centre."""
    f = surface.factors[factor]
    x = np.array([[g.encode([g.to_param((g.low + g.high) / 2.0)])[0] for g in surface.factors]])
    gradient = np.array([t.derivative(x, factor)[0] for t in surface.terms]) / f.scale
    slope = float(gradient @ surface.coef)
    df = surface.t_df
    if df <= 0 or not np.isfinite(surface.cov).all():
        return slope, float("nan"), float("nan")
    se = float(np.sqrt(max(gradient @ surface.cov @ gradient, 0.0)))
    if se <= 0:
        return slope, se, float("nan")
    return slope, se, float(2.0 * stats.t.sf(abs(slope / se), df))


def _better(surface: FittedSurface, increase: bool) -> str:
    direction = DIRECTIONS.get(surface.metric)
    if direction is None:
        return ""
    good = increase == (direction == "maximize")
    return " (better)" if good else " (worse)"


def _slopes(surface: FittedSurface) -> list[str]:
    out, unclear = [], []
    for i, f in enumerate(surface.factors):
        if not any(t.powers[i] for t in surface.terms):
            continue
        slope, _se, p = slope_at_centre(surface, i)
        if np.isfinite(p) and p < surface.alpha:
            verb = ("raise" if slope > 0 else "lower") + PHRASES[f.param][2]
            out.append(
                f"{PHRASES[f.param][0]} {verb} {_label(surface)}{_better(surface, slope > 0)}: "
                f"{slope:+.3g} per {f.unit} at the centre of the grid ({fmt_p(p)})"
            )
        else:
            unclear.append(f.label)
    if unclear:
        names = " or ".join([", ".join(unclear[:-1]), unclear[-1]] if len(unclear) > 1 else unclear)
        hint = "; see interactions" if any(t.degree > 1 for t in surface.terms) else ""
        out.append(
            f"no clear effect of {names} at the centre of the grid "
            f"(p ≥ {surface.alpha:g} there{hint})"
        )
    return out


def _significant(surface: FittedSurface) -> list[int]:
    return [
        j
        for j, t in enumerate(surface.term_stats)
        if not surface.terms[j].is_intercept and np.isfinite(t.p) and t.p < surface.alpha
    ]


def _curvature(surface: FittedSurface) -> list[str]:
    out = []
    for j in _significant(surface):
        powers = surface.terms[j].powers
        if sum(1 for p in powers if p) != 1 or max(powers) != 2:
            continue
        i = int(np.argmax(powers))
        f, stat = surface.factors[i], surface.term_stats[j]
        shape = "curves downward" if stat.coef < 0 else "curves upward"
        # where the optimum is comes from the canonical analysis (advisor.surface._optimum),
        # not from varying one factor with the others at the centre
        out.append(f"{_label(surface)} {shape} in {f.label} ({fmt_p(stat.p)})")
    return out


def _interactions(surface: FittedSurface) -> list[str]:
    out = []
    for j in _significant(surface):
        powers = surface.terms[j].powers
        if sum(powers) < 2 or (sum(powers) == 2 and max(powers) == 2):
            continue
        stat = surface.term_stats[j]
        if sum(powers) > 2:
            out.append(
                f"higher-order term {stat.term} matters ({fmt_p(stat.p)}): effects bend with "
                "the other factors; read the surface plot rather than single coefficients"
            )
            continue
        a, b = (surface.factors[i] for i, p in enumerate(powers) if p)
        better = _better(surface, stat.coef > 0)
        raise_a, more_b = PHRASES[a.param][0], PHRASES[b.param][1]
        if better:
            more = "more (or hurts less)" if better == " (better)" else "less (or hurts more)"
            helps = "help" + PHRASES[a.param][2]
            effect = f"{raise_a} {helps} {more} at {more_b}, and vice versa"
        else:
            verb = "raises" if stat.coef > 0 else "lowers"
            effect = f"raising both {verb} {_label(surface)} beyond their separate effects"
        out.append(f"{a.label} and {b.label} interact ({fmt_p(stat.p)}): {effect}")
    return out


def _relative(surface: FittedSurface) -> list[str]:
    if surface.mode != "relative" or surface.baseline is None:
        return []
    incremental = surface.relative_kind == "incremental" and surface.baseline_params
    where = "the baseline's own configuration" if incremental else "the centre of the grid"
    at = pd.DataFrame([surface.baseline_params]) if incremental else centre_frame(surface)
    row = surface.predict(at).iloc[0]
    level = f"{1 - surface.alpha:.0%}"
    ci = (
        f" ({level} CI {row['mean_lower']:+.3g} to {row['mean_upper']:+.3g})"
        if np.isfinite(row["mean_lower"])
        else ""
    )
    noise = (
        f"; the baseline's own noise (SD {surface.baseline_sd:.2g}) is in the interval"
        if surface.baseline_sd
        else ""
    )
    return [
        f"against the baseline ({surface.metric} = {surface.baseline:.4g}), {where} is "
        f"predicted at {row['mean']:+.3g}{ci}{noise}"
    ]


def _noise(surface: FittedSurface) -> list[str]:
    """Seed-to-seed SD beside the residual SD, and how the p-values treat replicates."""
    d = surface.diagnostics
    if d is None or d.seed_sd is None:
        return []
    return [
        f"seed-to-seed SD {d.seed_sd:.3g} against a residual SD of {d.resid_sd:.3g}; "
        f"p-values: {d.inference_note}"
    ]


def _lack_of_fit(surface: FittedSurface) -> list[str]:
    lof = surface.stats.lack_of_fit
    if lof is None:
        return []
    clustered = surface.cov_type == "cluster"
    if lof.p < surface.alpha:
        meaning = (
            "the p-values are clustered by configuration, which allows for that shared misfit "
            "(OLS, treating each seed as independent, would make them too small)"
            if clustered
            else "the OLS p-values treat each run as independent and are too small"
        )
        return [
            f"lack-of-fit test is significant ({fmt_p(lof.p)}): the misfit is larger than "
            f"the seed-to-seed noise, so the polynomial misses real structure; {meaning}; "
            "trust it for trends, or try another --degree"
        ]
    return [
        f"no evidence of lack of fit against seed-to-seed noise ({fmt_p(lof.p)}): the misfit "
        "is what seeds alone would produce, so the noise model behind the p-values holds"
    ]


def _plateau(surface: FittedSurface, y: np.ndarray) -> list[str]:
    worst = "high" if DIRECTIONS.get(surface.metric) == "minimize" else "low"
    found = plateau(y, worst)
    if found is None:
        return []
    count, bound = found
    end = "≤" if worst == "low" else "≥"
    return [
        f"{count} of {y.size} runs pile up at the bad end ({_label(surface)} {end} "
        f"{bound:.3g}), far from the rest: a polynomial smooths over such a plateau, so "
        "predictions near it are rough"
        + (
            ""
            if surface.cov_type != "nonrobust"
            else "; the noise differs across the grid, so consider --robust (HC3) standard errors"
        )
    ]


def _multiple_comparisons(surface: FittedSurface) -> list[str]:
    tested = [
        t
        for t, term in zip(surface.term_stats, surface.terms, strict=True)
        if not term.is_intercept and np.isfinite(t.p)
    ]
    if len(tested) < MANY_TESTS:
        return []
    survivors = [t.term for t in tested if t.p_holm < surface.alpha]
    kept = ", ".join(survivors) if survivors else "none"
    return [
        f"{len(tested)} terms were tested at alpha={surface.alpha:g}: about "
        f"{len(tested) * surface.alpha:.1f} could look significant by chance alone; after "
        f"Holm's correction (each term at the centre of the grid, whatever --coding) these "
        f"remain significant: {kept}"
    ]
