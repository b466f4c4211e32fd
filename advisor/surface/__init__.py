"""Polynomial response surfaces of accuracy, F1 and loss on learning rate, batch size and epochs.

`ResponseSurface` is the estimator (statsmodels OLS, scikit-learn style); `fit_surfaces` fits
absolute and relative surfaces for several metrics of a `TrialsTable`; `surface_to_dict` /
`surface_from_dict` turn them into JSON-able data (advisor.study.surfaces stores that with a
study: this package never sees a storage). Names load lazily so that importing the
options (for the CLI) does not import statsmodels.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.surface._current import current_surfaces
    from advisor.surface._estimator import ResponseSurface, SurfaceWarning
    from advisor.surface._fit import SkippedSurface, SurfaceFits, fit_surfaces, parse_metrics
    from advisor.surface._model import (
        PREDICTION_COLUMNS,
        DroppedTerm,
        FitStats,
        FittedSurface,
        LackOfFit,
        TermStats,
    )
    from advisor.surface._options import Coding, Mode, Selection
    from advisor.surface._serialize import surface_from_dict, surface_to_dict
    from advisor.surface._terms import Factor, Term

    StoredSurface = FittedSurface

_EXPORTS = {
    "current_surfaces": "_current",
    "ResponseSurface": "_estimator",
    "SurfaceWarning": "_estimator",
    "SkippedSurface": "_fit",
    "SurfaceFits": "_fit",
    "fit_surfaces": "_fit",
    "parse_metrics": "_fit",
    "PREDICTION_COLUMNS": "_model",
    "DroppedTerm": "_model",
    "FitStats": "_model",
    "FittedSurface": "_model",
    "LackOfFit": "_model",
    "TermStats": "_model",
    "Coding": "_options",
    "Mode": "_options",
    "Selection": "_options",
    "surface_from_dict": "_serialize",
    "surface_to_dict": "_serialize",
    "Factor": "_terms",
    "Term": "_terms",
}
_ALIASES = {"StoredSurface": "FittedSurface"}  # the name other modules were told to expect

__all__ = [
    "PREDICTION_COLUMNS",
    "Coding",
    "DroppedTerm",
    "Factor",
    "FitStats",
    "FittedSurface",
    "LackOfFit",
    "Mode",
    "ResponseSurface",
    "Selection",
    "SkippedSurface",
    "StoredSurface",
    "SurfaceFits",
    "SurfaceWarning",
    "Term",
    "TermStats",
    "current_surfaces",
    "fit_surfaces",
    "parse_metrics",
    "surface_from_dict",
    "surface_to_dict",
]


def __getattr__(name: str) -> Any:
    target = _ALIASES.get(name, name)
    if target in _EXPORTS:
        return getattr(import_module(f"advisor.surface.{_EXPORTS[target]}"), target)
    raise AttributeError(f"module 'advisor.surface' has no attribute {name!r}")
