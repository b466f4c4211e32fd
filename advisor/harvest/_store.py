"""Write a harvest into an Optuna study that looks like a grid study to the rest of the tool.

Directions (maximize, maximize, minimize) named accuracy, f1, loss; one trial per usable card
with params learning_rate (log float), batch_size (log int), epochs (int, or float when some
card trains a fractional number of epochs) and the metrics as user attrs (`*_rel` against the
base card). A card that states all three metrics is a COMPLETE trial; one that lacks a metric
cannot be COMPLETE (Optuna needs every value) and is stored PRUNED with the metrics it states
and `advisor.study.storage.PARTIAL_ATTR` naming the missing ones: `trials_table(study,
include_partial=True)` shows it with NaN there. Trials are keyed by `model_id`: re-running a
harvest adds only models the study does not hold yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

from advisor.errors import StorageError
from advisor.harvest._cards import same_model
from advisor.harvest._records import UNKNOWN_TASK, CardRecord, Harvest
from advisor.study.storage import BASELINE_ATTR, PARTIAL_ATTR, baseline_metrics, study_names
from advisor.table import DIRECTIONS, METRICS, relative_metrics

HARVEST_ATTR = "advisor:harvest"
MODEL_ID_ATTR = "model_id"
_DIRECTIONS: list[Any] = [DIRECTIONS[m] for m in METRICS]


@dataclass(frozen=True)
class StoreResult:
    """What `store_harvest` wrote.

    Attributes:
        study: the study name.
        added: model ids stored by this call.
        already: model ids the study held before (not stored again).
        partial: of `added`, those stored PRUNED because a metric is missing.
    """

    study: str
    added: tuple[str, ...]
    already: tuple[str, ...]
    partial: tuple[str, ...]


def store_harvest(
    storage: optuna.storages.BaseStorage, study_name: str, harvest: Harvest
) -> StoreResult:
    """Store one trial per usable card not yet in the study (created when missing).

    Raises:
        StorageError: the study exists but is not a harvest of the same base, its baseline
            differs from the base card's, or its epochs are whole numbers and a new card's not.
    """
    study = _open_study(storage, study_name, harvest)
    trials = study.get_trials(deepcopy=False)
    held = {str(t.user_attrs[MODEL_ID_ATTR]) for t in trials if MODEL_ID_ATTR in t.user_attrs}
    baseline = _baseline(study, harvest, has_trials=bool(trials))
    new = [r for r in harvest.records if r.model_id not in held]
    distributions = _distributions(trials, harvest.records) if new else {}
    _record_harvest(study, harvest)
    if harvest.baseline is not None and baseline_metrics(study) != baseline:
        study.set_user_attr(BASELINE_ATTR, harvest.baseline.to_attr())
    study.add_trials([_trial(r, distributions, baseline, harvest.source) for r in new])
    return StoreResult(
        study=study_name,
        added=tuple(r.model_id for r in new),
        already=tuple(r.model_id for r in harvest.records if r.model_id in held),
        partial=tuple(r.model_id for r in new if r.missing_metrics),
    )


def _open_study(storage: optuna.storages.BaseStorage, name: str, harvest: Harvest) -> optuna.Study:
    if name not in study_names(storage):
        study = optuna.create_study(study_name=name, storage=storage, directions=_DIRECTIONS)
        study.set_metric_names(list(METRICS))
    else:
        study = optuna.load_study(study_name=name, storage=storage)
        record = study.user_attrs.get(HARVEST_ATTR)
        directions = [d.name.lower() for d in study.directions]
        if (record is None and study.get_trials(deepcopy=False)) or directions != _DIRECTIONS:
            raise StorageError(
                f"study {name!r} exists and is not a harvest; pass another --study for the harvest"
            )
        old_base = (record or {}).get("base")
        if old_base and harvest.base and not same_model(old_base, harvest.base):
            raise StorageError(
                f"study {name!r} holds models fine-tuned from {old_base}, not {harvest.base}; "
                "pass another --study"
            )
    return study


def _record_harvest(study: optuna.Study, harvest: Harvest) -> None:
    """Study attr HARVEST_ATTR: the base and every source harvested into the study."""
    before = study.user_attrs.get(HARVEST_ATTR) or {}
    sources = sorted({*before.get("sources", []), harvest.source})
    study.set_user_attr(
        HARVEST_ATTR, {"base": harvest.base or before.get("base"), "sources": sources}
    )


def _baseline(
    study: optuna.Study, harvest: Harvest, *, has_trials: bool
) -> dict[str, float] | None:
    """The baseline for `*_rel`: the base card's, which must match one stored before trials."""
    stored = baseline_metrics(study)
    if harvest.baseline is None:
        return stored
    metrics = dict(harvest.baseline.metrics)
    if stored == metrics:
        return stored
    if has_trials:
        was = f"baseline {stored}" if stored else "no baseline"
        raise StorageError(
            f"study {study.study_name!r} was harvested with {was}, the base card now gives "
            f"{metrics}; harvest into a new --study so that every *_rel uses one baseline"
        )
    return metrics


def _distributions(
    held: list[FrozenTrial] | tuple[FrozenTrial, ...], records: tuple[CardRecord, ...]
) -> dict[str, BaseDistribution]:
    """Distributions whose ranges cover every value held or harvested (kinds fixed by the study)."""
    values: dict[str, list[float]] = {"learning_rate": [], "batch_size": [], "epochs": []}
    for trial in held:
        for name in values:
            if name in trial.params:
                values[name].append(float(trial.params[name]))
    for record in records:
        for name in values:
            values[name].append(float(getattr(record, name)))
    whole = all(float(v).is_integer() for v in values["epochs"])
    held_kinds = {type(t.distributions.get("epochs")) for t in held if "epochs" in t.distributions}
    if IntDistribution in held_kinds and not whole:
        raise StorageError(
            "the study's epochs are whole numbers but a new card trains a fractional number of "
            "epochs; harvest into a new --study"
        )
    lr, bs, ep = values["learning_rate"], values["batch_size"], values["epochs"]
    epochs: BaseDistribution = (
        IntDistribution(int(min(ep)), int(max(ep)))
        if whole and FloatDistribution not in held_kinds
        else FloatDistribution(min(ep), max(ep))
    )
    return {
        "learning_rate": FloatDistribution(min(lr), max(lr), log=True),
        "batch_size": IntDistribution(int(min(bs)), int(max(bs)), log=True),
        "epochs": epochs,
    }


def _trial(
    record: CardRecord,
    distributions: dict[str, BaseDistribution],
    baseline: dict[str, float] | None,
    source: str,
) -> FrozenTrial:
    epochs = record.epochs
    params = {
        "learning_rate": record.learning_rate,
        "batch_size": record.batch_size,
        "epochs": int(epochs)
        if isinstance(distributions["epochs"], IntDistribution)
        else float(epochs),
    }
    metrics = {m: v for m, v in record.metrics.items() if v is not None}
    attrs: dict[str, Any] = {**metrics, **(relative_metrics(metrics, baseline) if baseline else {})}
    attrs.update(
        model_id=record.model_id,
        dataset=record.dataset,
        source=source,
        task=record.task or UNKNOWN_TASK,
        metrics_source=record.metrics_source,
        card_hyperparameters=dict(record.hyperparameters),
    )
    if record.seed is not None:
        attrs["seed"] = record.seed
    if record.missing_metrics:
        attrs[PARTIAL_ATTR] = list(record.missing_metrics)
        return create_trial(
            state=TrialState.PRUNED, params=params, distributions=distributions, user_attrs=attrs
        )
    values = [metrics[m] for m in METRICS]
    return create_trial(values=values, params=params, distributions=distributions, user_attrs=attrs)
