"""`advisor tune --prior`: the shipped prior, none, a JSON file or a study."""

from __future__ import annotations

import json

import pytest

from advisor.errors import StorageError
from advisor.prior_source import resolve_prior
from advisor.steering import SurfacePrior, finetune_prior
from advisor.steering._prior import FINETUNE_PRIOR


def test_resolve_prior_reads_each_kind_of_source(tmp_path) -> None:
    assert resolve_prior(None) == FINETUNE_PRIOR
    assert resolve_prior("finetune") == FINETUNE_PRIOR
    assert resolve_prior("none") is None and resolve_prior("NONE") is None
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(finetune_prior().to_dict()))
    assert resolve_prior(str(path)) == finetune_prior()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(StorageError, match="cannot read the prior"):
        resolve_prior(str(bad))
    with pytest.raises(StorageError, match="no storage"):
        resolve_prior("no-such-study", f"sqlite:///{tmp_path / 'empty.db'}")


def test_a_prior_learned_from_a_study_in_the_storage(tmp_path) -> None:
    import itertools

    import numpy as np
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    url = f"sqlite:///{tmp_path / 'h.db'}"
    study = optuna.create_study(study_name="old", storage=url, directions=["maximize"])
    space = {
        "learning_rate": FloatDistribution(1e-5, 1e-3, log=True),
        "batch_size": CategoricalDistribution([8, 16, 32]),
        "epochs": IntDistribution(1, 3),
    }
    for lr, batch, epochs in itertools.product([1e-5, 1e-4, 1e-3], [8, 16, 32], [1, 2, 3]):
        f1 = 0.8 - 0.1 * (np.log10(lr) + 4) ** 2
        study.add_trial(
            optuna.trial.create_trial(
                params={"learning_rate": lr, "batch_size": batch, "epochs": epochs},
                distributions=space,
                values=[f1],
                user_attrs={"accuracy": f1, "f1": f1, "loss": 1 - f1},
            )
        )
    prior = resolve_prior("old", url)
    assert isinstance(prior, SurfacePrior) and prior.source == "study old"
    assert prior.coefficients["f1"]["learning_rate^2"] > 0  # -F1 bottoms out at 1e-4
