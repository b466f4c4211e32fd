"""`tune` among other workers: its trials carry the grid's heartbeat and `worker`, a killed
tune's RUNNING trial is failed and queued again after the grace period, and proposals of
concurrent tunes never repeat a configuration with the same seed."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
from conftest import start_together
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

from advisor.study.grid_status import MAX_RETRY
from advisor.study.storage import open_storage
from advisor.study.worker import WORKER_ATTR, worker_id
from advisor.tune import _next_trial

SPACE = {
    "learning_rate": FloatDistribution(1e-4, 1e-4, log=True),  # one configuration only
    "batch_size": CategoricalDistribution([16]),
    "epochs": CategoricalDistribution([1]),
}
SEEDS = (0, 1, 2)


def objective_study(url: str, grace: int) -> tuple[optuna.Study, optuna.storages.RDBStorage]:
    storage = open_storage(
        url,
        heartbeat_interval=1,
        grace_period=grace,
        stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRY),
    )
    study = optuna.create_study(
        study_name="g@f1,loss",
        storage=storage,
        load_if_exists=True,
        directions=["maximize", "minimize"],
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    return study, storage


def test_a_lost_tune_trial_is_failed_and_queued_again_after_the_grace_period(
    tmp_path: Path,
) -> None:
    study, storage = objective_study(f"sqlite:///{tmp_path / 'advisor.db'}", grace=2)
    lost = _next_trial(study, storage, SPACE, SEEDS)  # its process "dies" here: no heartbeat
    assert lost.state == TrialState.RUNNING and lost.user_attrs[WORKER_ATTR] == worker_id()
    # no heartbeat row, no takeover: Optuna only fails RUNNING trials whose heartbeat is old

    time.sleep(3.5)
    retry = _next_trial(study, storage, SPACE, SEEDS)

    assert storage.get_trial(lost._trial_id).state == TrialState.FAIL
    assert retry.number != lost.number and retry.state == TrialState.RUNNING
    assert retry.system_attrs.get("failed_trial") == lost.number  # the same point, re-run
    assert retry.params == lost.params and retry.user_attrs["seed"] == lost.user_attrs["seed"]


PROPOSE = """
import os, sys
sys.path[:0] = [sys.argv[2], os.path.dirname(sys.argv[2])]  # this module and the conftest
from test_tune_workers import SEEDS, SPACE, objective_study
from advisor.tune import _next_trial
study, storage = objective_study(sys.argv[1], grace=60)
print("ready", flush=True)
sys.stdin.readline()
for _ in range(3):
    _next_trial(study, storage, SPACE, SEEDS)
"""


def test_concurrent_tunes_never_propose_the_same_configuration_and_seed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    objective_study(url, grace=60)
    for code, _, err in start_together(PROPOSE, [url, str(Path(__file__).parent)], 3):
        assert code == 0, err[-2000:]
    trials = optuna.load_study(study_name="g@f1,loss", storage=url).get_trials()
    seeds = [t.user_attrs["seed"] for t in trials]
    assert len(trials) == 9 and sorted(seeds) == list(range(9)), seeds  # 9 distinct replicates
