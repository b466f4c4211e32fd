"""FittedSurface <-> JSON-able dict (data only, never pickles); NaN is stored as null."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from advisor.errors import FitError
from advisor.surface._model import (
    Diagnostics,
    DroppedTerm,
    FitStats,
    FittedSurface,
    LackOfFit,
    TermStats,
)
from advisor.surface._terms import _FORWARD, Factor, Term

FORMAT = 1
TERM_KEYS = ("term", "formula", "coef", "se", "t", "p", "p_holm")
STAT_KEYS = (
    "n",
    "n_configs",
    "df_model",
    "df_resid",
    "r2",
    "adj_r2",
    "f_stat",
    "f_pvalue",
    "aic",
    "bic",
    "sigma",
    "condition_number",
    "cv_r2",
)


def clean(value: Any) -> Any:
    """NaN/inf -> None, numpy -> Python, recursively (strict JSON)."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def surface_to_dict(surface: FittedSurface) -> dict[str, Any]:
    """Everything needed to report on the surface and to predict from it without refitting."""
    stats = surface.stats
    data: dict[str, Any] = {
        "format": FORMAT,
        "metric": surface.metric,
        "mode": surface.mode,
        "target": surface.target,
        "baseline": surface.baseline,
        "degree": surface.degree,
        "coding": surface.coding,
        "cov_type": surface.cov_type,
        "select": surface.select,
        "alpha": surface.alpha,
        "formula": surface.formula,
        "factors": [vars(f).copy() for f in surface.factors],
        **{key: getattr(stats, key) for key in STAT_KEYS},
        "cv_method": "leave-one-configuration-out",
        "cv_note": stats.cv_note,
        "lack_of_fit": None if stats.lack_of_fit is None else vars(stats.lack_of_fit).copy(),
        "scale": surface.scale,
        "terms": [
            {
                **{k: getattr(t, k) for k in TERM_KEYS},
                "ci": [t.ci_low, t.ci_high],
                "powers": list(term.powers),
            }
            for t, term in zip(surface.term_stats, surface.terms, strict=True)
        ],
        "cov": surface.cov,
        "dropped_terms": [vars(d).copy() for d in surface.dropped],
        "warnings": list(surface.warnings),
        "findings": list(surface.findings),
        "notes": list(surface.notes),
        **_relative_and_optimum(surface),
        **_verdict_record(surface),
    }
    return clean(data)


def surface_from_dict(data: dict[str, Any]) -> FittedSurface:
    """Rebuild a FittedSurface stored by `surface_to_dict`.

    Raises:
        FitError: the record has another format or lacks keys (refit with `advisor fit-surface`).
    """
    if data.get("format") != FORMAT:
        raise FitError(
            f"stored surface has format {data.get('format')!r}, expected {FORMAT}; "
            "refit with `advisor fit-surface`"
        )
    try:
        return _from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise FitError(
            f"stored surface is incomplete ({exc}); refit with `advisor fit-surface`"
        ) from exc


def _factor(data: dict[str, Any]) -> Factor:
    """A stored factor; an unknown transform is an incomplete record (ValueError), not a
    KeyError at the first prediction."""
    if data.get("transform") not in _FORWARD:
        raise ValueError(
            f"unknown transform {data.get('transform')!r} (known: {', '.join(_FORWARD)})"
        )
    return Factor(**data)


def _from_dict(data: dict[str, Any]) -> FittedSurface:
    terms = data["terms"]
    lof = data["lack_of_fit"]
    stats = FitStats(
        **{k: _num(data[k]) for k in STAT_KEYS if k not in ("n", "n_configs", "cv_r2")},
        n=int(data["n"]),
        n_configs=int(data["n_configs"]),
        cv_r2=None if data["cv_r2"] is None else float(data["cv_r2"]),
        cv_note=data.get("cv_note"),
        lack_of_fit=None if lof is None else LackOfFit(**lof),
    )
    term_stats = tuple(
        TermStats(
            term=str(t["term"]),
            formula=str(t["formula"]),
            **{k: _num(t[k]) for k in TERM_KEYS[2:]},
            ci_low=_num(t["ci"][0]),
            ci_high=_num(t["ci"][1]),
        )
        for t in terms
    )
    return FittedSurface(
        metric=data["metric"],
        mode=data["mode"],
        baseline=data["baseline"],
        degree=int(data["degree"]),
        coding=data["coding"],
        cov_type=data["cov_type"],
        select=data["select"],
        alpha=float(data["alpha"]),
        factors=tuple(_factor(f) for f in data["factors"]),
        terms=tuple(Term(tuple(int(p) for p in t["powers"])) for t in terms),
        coef=np.array([_num(t["coef"]) for t in terms]),
        cov=np.array([[_num(v) for v in row] for row in data["cov"]], dtype=float).reshape(
            len(terms), len(terms)
        ),
        scale=_num(data["scale"]),
        stats=stats,
        term_stats=term_stats,
        dropped=tuple(DroppedTerm(**d) for d in data["dropped_terms"]),
        warnings=tuple(data["warnings"]),
        findings=tuple(data["findings"]),
        notes=tuple(data.get("notes", ())),
        **_relative_and_collapse_from(data),
        **_verdict_from(data),
    )


def _relative_and_optimum(surface: FittedSurface) -> dict[str, Any]:
    """Keys of items 5, 6 and 8 of issue 13: relative kind, collapse model, optimum, path."""
    from advisor.surface._optimum import optimum_record, path_record

    return {
        "relative_kind": surface.relative_kind,
        "baseline_params": surface.baseline_params,
        "baseline_sd": surface.baseline_sd,
        "collapse": None if surface.collapse is None else surface.collapse.to_dict(),
        "optimum": optimum_record(surface),
        "path": path_record(surface),
    }


def _relative_and_collapse_from(data: dict[str, Any]) -> dict[str, Any]:
    from advisor.surface._collapse import CollapseModel

    collapse = data.get("collapse")
    return {
        "relative_kind": data.get("relative_kind"),
        "baseline_params": data.get("baseline_params"),
        "baseline_sd": data.get("baseline_sd"),
        "collapse": None if not collapse else CollapseModel.from_dict(collapse),
    }


def _verdict_record(surface: FittedSurface) -> dict[str, Any]:
    """The verdict (`trustworthy`, `reasons`) and `diagnostics` (PRODUCT.md, Surfaces)."""
    d = surface.diagnostics
    return {
        "trustworthy": surface.trustworthy,
        "reasons": list(surface.reasons),
        "diagnostics": None if d is None else vars(d).copy(),
        "inference_df": surface.inference_df,
        "xtx_inv": surface.xtx_inv,
    }


def _verdict_from(data: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the verdict fields; a record stored before they existed gets the defaults."""
    d = data.get("diagnostics")
    diagnostics = None
    if d:
        tuples = ("leverage_one", "drivers", "influential", "influence_notes")
        floats = ("condition_number", "max_leverage", "resid_sd")
        diagnostics = Diagnostics(
            **{
                **d,
                **{k: tuple(d[k]) for k in tuples},
                **{k: _num(d[k]) for k in floats},
                "vif": {k: _num(v) for k, v in d["vif"].items()},
            }
        )
    xtx = data.get("xtx_inv")
    return {
        "trustworthy": bool(data.get("trustworthy", True)),
        "reasons": tuple(data.get("reasons", ())),
        "diagnostics": diagnostics,
        "inference_df": data.get("inference_df"),
        "xtx_inv": None
        if xtx is None
        else np.array([[_num(v) for v in row] for row in xtx], dtype=float),
    }
