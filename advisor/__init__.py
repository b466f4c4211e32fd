"""advisor: an Optuna-driven, metric-aware tuning advisor for fine-tuning text classifiers.

Heavy libraries (torch, transformers, statsmodels) load only when the names that need them are
used, so `import advisor` and `advisor --help` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_EXPORTS = {
    "StudySpec": "advisor.config",
    "load_spec": "advisor.config",
    "design_points": "advisor.design",
    "run_grid": "advisor.study.grid",
    "TrialsTable": "advisor.table",
    "read_table": "advisor.table",
    "open_storage": "advisor.study.storage",
    "trials_table": "advisor.study.storage",
    "AdvisorError": "advisor.errors",
    "SurfaceSampler": "advisor.steering",
    "SurfacePrior": "advisor.steering",
    "TrainingWindow": "advisor.steering",
    "parse_objectives": "advisor.steering",
    "fit_surfaces": "advisor.surface",
    "ResponseSurface": "advisor.surface",
    "suggest": "advisor.tune",
    "tune": "advisor.tune",
    "build_report": "advisor.report",
    "run_benchmark": "advisor.bench",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")
