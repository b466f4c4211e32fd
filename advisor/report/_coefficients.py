"""Coefficient plot: every term of each surface with its confidence interval."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from advisor.report._style import metric_name, new_figure
from advisor.surface import FittedSurface

SIGNIFICANT = "#1f4e9c"
NOT_SIGNIFICANT = "0.6"
UNIT_WORDS = {
    "coded": "change from the grid's centre to the top of each range",
    "natural": "per 10x learning rate, per doubling of batch size, per epoch",
}


def coefficient_figure(surfaces: Sequence[FittedSurface]) -> Figure:
    """One panel per surface: each non-intercept term's coefficient and confidence interval,
    dark where significant at the surface's alpha, with a line at zero."""
    fig = new_figure(4.2 * len(surfaces) + 0.6, 0.35 * _max_terms(surfaces) + 1.8)
    axes = np.atleast_1d(fig.subplots(1, len(surfaces)))
    for ax, surface in zip(axes, surfaces, strict=True):
        terms = [t for t in surface.term_stats if t.term != "Intercept"][::-1]
        ypos = np.arange(len(terms))
        for y, term in zip(ypos, terms, strict=True):
            color = SIGNIFICANT if term.p < surface.alpha else NOT_SIGNIFICANT
            ax.plot([term.ci_low, term.ci_high], [y, y], color=color, linewidth=2)
            ax.plot(term.coef, y, "o", color=color, markersize=6)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(ypos, [t.term for t in terms])
        ax.set_xlabel(f"coefficient ({metric_name(surface.target)} units)")
        ax.set_title(
            f"{metric_name(surface.target)} (R²={surface.stats.r2:.2f}, n={surface.stats.n})",
            fontsize=10,
        )
        ax.grid(True, axis="x", alpha=0.3)
    first = surfaces[0]
    level = f"{1 - first.alpha:.0%}"
    fig.suptitle(
        f"Surface coefficients with {level} CIs (dark: p < {first.alpha:g}; intercept left "
        f"out)\nterms: lr = log10 learning rate, batch = log2 batch size, epochs; "
        f"{UNIT_WORDS.get(first.coding, first.coding)}",
        fontsize=10,
    )
    return fig


def _max_terms(surfaces: Sequence[FittedSurface]) -> int:
    return max(len(s.term_stats) - 1 for s in surfaces)
