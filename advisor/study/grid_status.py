"""Where a grid stands: trials grouped by grid point, which failures are final, points done,
and the `advisor grid --status` summary. Reads the study only."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from advisor.design import point_key
from advisor.study.storage import BASELINE_ATTR
from advisor.study.worker import FAIL_DETAIL_ATTR, LOST_WORKER_REASON, WORKER_ATTR, fail_reason

POINT_ATTR = "grid_point"
COLLAPSED_ATTR = "collapsed"
FINAL_REASONS = ("diverged loss",)  # a result, not an accident: never re-run automatically
MAX_RETRY = 2
_OPEN = (TrialState.WAITING, TrialState.RUNNING)


def is_collapsed(values: Mapping[str, Any]) -> bool:
    """Whether a run predicted a single class for every eval example.

    `values` are a trial's user attributes or a metrics dict. The recorded `collapsed`
    attribute (set by the grid from the eval predictions) decides when present; otherwise a
    rule on the binary metrics: F1 = 0 (every example predicted negative), or F1 = 2a/(1+a)
    with a the accuracy (every example predicted positive, so accuracy is the positive share,
    precision equals it and recall is 1).
    """
    recorded = values.get(COLLAPSED_ATTR)
    if isinstance(recorded, bool):
        return recorded
    try:
        accuracy, f1 = float(values["accuracy"]), float(values["f1"])
    except (KeyError, TypeError, ValueError):
        return False
    if f1 != f1 or accuracy != accuracy:  # NaN: a failed run, not a collapsed one
        return False
    return f1 <= 1e-9 or abs(f1 - 2 * accuracy / (1 + accuracy)) <= 1e-6


def trials_by_point(study: optuna.Study) -> dict[str, list[FrozenTrial]]:
    """The study's grid trials grouped by point key (oldest first)."""
    grouped: dict[str, list[FrozenTrial]] = defaultdict(list)
    for trial in study.get_trials(deepcopy=False):
        key = trial.user_attrs.get(POINT_ATTR)
        if key is not None:
            grouped[key].append(trial)
    return grouped


def final_failure(trials: list[FrozenTrial], max_retry: int = MAX_RETRY) -> str | None:
    """Why a point's failures are final (not re-queued by the next run), or None.

    Final: a diverged loss (a result), or a worker lost more than `max_retry` times on it
    (a point that keeps killing its workers must not take every worker down with it).
    """
    failed = [t for t in trials if t.state == TrialState.FAIL]
    for trial in failed:
        if fail_reason(trial) in FINAL_REASONS:
            return fail_reason(trial)
    lost = sum(fail_reason(t) == LOST_WORKER_REASON for t in failed)
    if lost > max_retry:
        return f"{LOST_WORKER_REASON}; retries exhausted after {lost} attempts"
    return None


def count_done(study: optuna.Study, points: list[dict[str, Any]]) -> int:
    """Grid points finished across all workers: completed, or failed with no retry queued."""
    by_point = trials_by_point(study)
    done = 0
    for point in points:
        states = {t.state for t in by_point.get(point_key(point), [])}
        if TrialState.COMPLETE in states or (TrialState.FAIL in states and not states & set(_OPEN)):
            done += 1
    return done


def grid_status(
    study: optuna.Study, points: list[dict[str, Any]] | None = None, max_retry: int = MAX_RETRY
) -> dict[str, Any]:
    """Trials by state, each failure with its reason, running trials with their worker and,
    given the spec's `points`, how many points are complete, open, failed or not queued yet."""
    trials = study.get_trials(deepcopy=False)
    failures = [
        {
            "number": t.number,
            "params": dict(t.params),
            "reason": fail_reason(t),
            "detail": t.user_attrs.get(FAIL_DETAIL_ATTR, ""),
        }
        for t in trials
        if t.state == TrialState.FAIL
    ]
    running = [
        {"number": t.number, "params": dict(t.params), "worker": t.user_attrs.get(WORKER_ATTR, "")}
        for t in trials
        if t.state == TrialState.RUNNING
    ]
    finished = [t for t in trials if t.state == TrialState.COMPLETE]
    collapsed = [
        {"number": t.number, "params": dict(t.params)}
        for t in finished
        if is_collapsed(t.user_attrs)
    ]
    status: dict[str, Any] = {
        "study": study.study_name,
        "states": dict(Counter(t.state.name for t in trials)),
        "failures": failures,
        "running": running,
        "collapsed": collapsed,
        "baseline": baseline_status(study),
    }
    if points is not None:
        status.update(_point_status(study, points, max_retry))
    return status


def baseline_status(study: optuna.Study) -> dict[str, Any] | None:
    """The stored baseline's kind, params, metrics and whether it collapsed (None: no baseline)."""
    stored = study.user_attrs.get(BASELINE_ATTR)
    if not isinstance(stored, dict) or not isinstance(stored.get("metrics"), dict):
        return None
    metrics = stored["metrics"]
    flag = stored.get(COLLAPSED_ATTR, metrics.get(COLLAPSED_ATTR))
    return {
        "kind": stored.get("kind"),
        "params": stored.get("params") or {},
        "metrics": {k: v for k, v in metrics.items() if k in ("accuracy", "f1", "loss")},
        "collapsed": is_collapsed({**metrics, COLLAPSED_ATTR: flag}),
    }


def _point_status(
    study: optuna.Study, points: list[dict[str, Any]], max_retry: int
) -> dict[str, Any]:
    by_point = trials_by_point(study)
    counts = Counter({"total": len(points), "complete": 0, "open": 0, "failed": 0, "pending": 0})
    failed_points = []
    for point in points:
        trials = by_point.get(point_key(point), [])
        states = {t.state for t in trials}
        if TrialState.COMPLETE in states:
            counts["complete"] += 1
        elif states & set(_OPEN):
            counts["open"] += 1
        elif TrialState.FAIL in states:
            counts["failed"] += 1
            final = final_failure(trials, max_retry)
            last = [t for t in trials if t.state == TrialState.FAIL][-1]
            failed_points.append(
                {
                    "point": point_key(point),
                    "params": point,
                    "attempts": sum(t.state == TrialState.FAIL for t in trials),
                    "reason": final or fail_reason(last),
                    "final": bool(final),
                }
            )
        else:
            counts["pending"] += 1
    return {"points": dict(counts), "failed_points": failed_points}
