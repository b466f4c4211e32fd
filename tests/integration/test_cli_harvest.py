"""`advisor harvest` end to end: cards folder -> SQLite study, the Hub mocked at huggingface_hub's
boundary (HfApi.model_info / HfApi.list_models / hf_hub_download), an unreachable Hub for real,
and the real Hub when this machine can reach it."""

from __future__ import annotations

import importlib
import json
import math
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import huggingface_hub
import optuna
import pytest
from huggingface_hub import constants, errors
from huggingface_hub.hf_api import ModelInfo
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState
from typer.testing import CliRunner

from advisor.cli import app
from advisor.harvest import HARVEST_ATTR
from advisor.study.storage import BASELINE_ATTR, PARTIAL_ATTR, trials_table

CARDS = Path(__file__).resolve().parents[1] / "fixtures" / "cards" / "sst2"
BASE = "distilbert-base-uncased-finetuned-sst-2-english"
BASE_ID = "distilbert/" + BASE
BASE_METRICS = {
    "accuracy": 0.9105504587155964,
    "f1": 0.9137168141592922,
    "loss": 0.39013850688934326,
}
runner = CliRunner(env={"COLUMNS": "240"})

EXPECTED_TRIALS = [
    {"model_id": "alice/distilbert-sst2-lr2e-5", "learning_rate": 2e-05, "batch_size": 16,
     "epochs": 3, "accuracy": 0.9128, "f1": 0.915, "loss": 0.3011},
    {"model_id": "bob/sst2-distilbert-ft", "learning_rate": 5e-05, "batch_size": 32, "epochs": 2,
     "accuracy": 0.9002, "f1": 0.9034, "loss": 0.2897},
    {"model_id": "carol/distilbert-sst2-no-f1", "learning_rate": 1e-05, "batch_size": 8,
     "epochs": 4, "accuracy": 0.9117, "f1": None, "loss": 0.3378},
    {"model_id": "dave/distilbert-sst2-imdb", "learning_rate": 3e-05, "batch_size": 16,
     "epochs": 1, "accuracy": 0.8936, "f1": 0.8951, "loss": 0.2712},
    {"model_id": "heidi/distilbert-sst2-notask", "learning_rate": 4e-05, "batch_size": 32,
     "epochs": 2, "accuracy": 0.9048, "f1": 0.9067, "loss": 0.2759},
    {"model_id": "ivan/distilbert-sst2-frac", "learning_rate": 2e-05, "batch_size": 64,
     "epochs": 2.5, "accuracy": 0.9083, "f1": 0.9101, "loss": 0.2634},
]  # fmt: skip
EXPECTED_SKIPPED = [
    {"model_id": "erin/distilbert-sst2-steps", "reason": "missing field: no num_epochs in the "
     "training hyperparameters (the card states training_steps instead)"},
    {"model_id": "frank/distilbert-sst2-ner", "reason": "not sequence classification: the task "
     "is token-classification"},
    {"model_id": "grace/distilbert-sst2-dup", "reason": "contradiction: learning_rate is stated "
     "as 2e-05 and 3e-05"},
    {"model_id": "judy/bert-base-uncased-sst2", "reason": "other base: fine-tuned from "
     f"google-bert/bert-base-uncased, not {BASE}"},
    {"model_id": "kim/distilbert-sst2-keras", "reason": "missing field: no learning_rate, "
     "train_batch_size, num_epochs in the training hyperparameters"},
]  # fmt: skip


def harvest(tmp_path: Path, *args: str, study: str = "cards") -> Any:
    url = f"sqlite:///{tmp_path}/x.db"
    return runner.invoke(app, ["harvest", "--study", study, "--storage", url, *args])


def load(tmp_path: Path, study: str = "cards") -> optuna.Study:
    return optuna.load_study(study_name=study, storage=f"sqlite:///{tmp_path}/x.db")


# ---------------------------------------------------------------- offline: --cards DIR


def test_cards_json_is_exactly_the_contract(tmp_path: Path) -> None:
    result = harvest(tmp_path, "--cards", str(CARDS), "--base", BASE, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload == {
        "cards": 11,
        "usable": 6,
        "trials": EXPECTED_TRIALS,
        "skipped": EXPECTED_SKIPPED,
    }


def test_cards_study_looks_like_a_grid_study(tmp_path: Path) -> None:
    assert harvest(tmp_path, "--cards", str(CARDS), "--base", BASE, "--json").exit_code == 0
    study = load(tmp_path)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["accuracy", "f1", "loss"]
    assert study.user_attrs[BASELINE_ATTR] == {
        "kind": "card", "model_id": BASE_ID, "metrics": BASE_METRICS,
        "metrics_source": "model-index",
    }  # fmt: skip
    assert study.user_attrs[HARVEST_ATTR] == {"base": BASE, "sources": [f"cards:{CARDS}"]}
    trials = {t.user_attrs["model_id"]: t for t in study.trials}
    assert sorted(trials) == [t["model_id"] for t in EXPECTED_TRIALS]
    for expected in EXPECTED_TRIALS:
        trial = trials[expected["model_id"]]
        metrics = {m: expected[m] for m in ("accuracy", "f1", "loss") if expected[m] is not None}
        assert trial.params == {k: expected[k] for k in ("learning_rate", "batch_size", "epochs")}
        assert {m: trial.user_attrs[m] for m in metrics} == metrics
        for m, value in metrics.items():
            assert trial.user_attrs[f"{m}_rel"] == pytest.approx(value - BASE_METRICS[m], abs=1e-12)
        assert trial.user_attrs["source"] == f"cards:{CARDS}"
        dists = trial.distributions
        assert dists["learning_rate"] == FloatDistribution(1e-05, 5e-05, log=True)
        assert dists["batch_size"] == IntDistribution(8, 64, log=True)
        assert dists["epochs"] == FloatDistribution(1.0, 4.0)  # ivan trains 2.5 epochs
    alice = trials["alice/distilbert-sst2-lr2e-5"]
    assert alice.state == TrialState.COMPLETE and alice.values == [0.9128, 0.915, 0.3011]
    assert (alice.user_attrs["dataset"], alice.user_attrs["task"], alice.user_attrs["seed"]) == (
        "glue/sst2", "text-classification", 42)  # fmt: skip
    assert alice.user_attrs["card_hyperparameters"]["lr_scheduler_type"] == "linear"
    heidi = trials["heidi/distilbert-sst2-notask"]
    assert (heidi.user_attrs["task"], heidi.user_attrs["dataset"]) == ("unknown", None)
    assert trials["dave/distilbert-sst2-imdb"].user_attrs["metrics_source"] == "model-index"
    carol = trials["carol/distilbert-sst2-no-f1"]
    assert carol.state == TrialState.PRUNED and carol.values is None
    assert carol.user_attrs[PARTIAL_ATTR] == ["f1"]
    assert "f1" not in carol.user_attrs and "f1_rel" not in carol.user_attrs


def test_partial_trials_reach_the_table_only_when_asked(tmp_path: Path) -> None:
    assert harvest(tmp_path, "--cards", str(CARDS), "--base", BASE, "--json").exit_code == 0
    study = load(tmp_path)
    table = trials_table(study)
    assert len(table.rows) == 5 and table.baseline == BASE_METRICS
    full = trials_table(study, include_partial=True).rows
    assert len(full) == 6
    carol = full[full["learning_rate"] == 1e-05].iloc[0]
    assert math.isnan(carol["f1"]) and carol["accuracy"] == 0.9117 and carol["epochs"] == 4


def test_rerun_adds_nothing_twice(tmp_path: Path) -> None:
    first = harvest(tmp_path, "--cards", str(CARDS), "--base", BASE)
    assert first.exit_code == 0, first.output
    assert "11 cards found, 6 usable, 5 skipped" in first.stdout
    assert "6 trials added (1 lacking a metric, stored PRUNED), 0 already held" in first.stdout
    assert f"baseline: {BASE_ID} (accuracy=0.9106 f1=0.9137 loss=0.3901" in first.stdout
    assert "missing field: 2" in first.stdout and "contradiction: learning_rate" in first.stdout
    second = harvest(tmp_path, "--cards", str(CARDS), "--base", BASE)
    assert second.exit_code == 0, second.output
    assert "0 trials added, 6 already held" in second.stdout
    assert len(load(tmp_path).trials) == 6


def test_whole_epochs_give_an_int_distribution_and_then_refuse_fractional_ones(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "cards"
    shutil.copytree(CARDS, folder)
    frac = folder / "ivan__distilbert-sst2-frac.md"
    frac.rename(tmp_path / frac.name)
    assert harvest(tmp_path, "--cards", str(folder), "--base", BASE, "--json").exit_code == 0
    trials = load(tmp_path).trials
    assert len(trials) == 5
    assert all(t.distributions["epochs"] == IntDistribution(1, 4) for t in trials)
    assert all(type(t.params["epochs"]) is int for t in trials)
    (tmp_path / frac.name).rename(frac)
    result = harvest(tmp_path, "--cards", str(folder), "--base", BASE)
    assert result.exit_code == 1
    assert "epochs are whole numbers but a new card trains a fractional" in result.stderr
    assert len(load(tmp_path).trials) == 5


def test_a_changed_baseline_or_another_base_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cards"
    shutil.copytree(CARDS, folder)
    assert harvest(tmp_path, "--cards", str(folder), "--base", BASE, "--json").exit_code == 0
    base_card = folder / "distilbert__distilbert-base-uncased-finetuned-sst-2-english.md"
    base_card.write_text(base_card.read_text().replace("0.9105504587155964", "0.92"))
    result = harvest(tmp_path, "--cards", str(folder), "--base", BASE)
    assert result.exit_code == 1
    assert "harvest into a new --study so that every *_rel uses one baseline" in result.stderr
    result = harvest(tmp_path, "--cards", str(folder), "--base", "judy/bert-base-uncased-sst2")
    assert result.exit_code == 1
    assert f"holds models fine-tuned from {BASE}, not judy/" in result.stderr
    study = load(tmp_path)
    assert study.user_attrs[BASELINE_ATTR]["metrics"] == BASE_METRICS
    assert study.user_attrs[HARVEST_ATTR]["sources"] == [f"cards:{folder}"]


def test_without_base_there_is_no_baseline_and_no_relative_metric(tmp_path: Path) -> None:
    result = harvest(tmp_path, "--cards", str(CARDS), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cards"] == 12
    study = load(tmp_path)
    assert BASELINE_ATTR not in study.user_attrs
    assert not any(k.endswith("_rel") for t in study.trials for k in t.user_attrs)


def test_a_study_that_is_not_a_harvest_is_left_alone(tmp_path: Path) -> None:
    study = optuna.create_study(
        study_name="grid", storage=f"sqlite:///{tmp_path}/x.db",
        directions=["maximize", "maximize", "minimize"],
    )  # fmt: skip
    study.add_trial(optuna.trial.create_trial(values=[0.9, 0.9, 0.3]))
    result = harvest(tmp_path, "--cards", str(CARDS), "--base", BASE, study="grid")
    assert result.exit_code == 1
    assert "study 'grid' exists and is not a harvest" in result.stderr
    assert len(load(tmp_path, "grid").trials) == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "pass --base MODEL_ID (Hub) or --cards DIR (offline)"),
        (["--cards", "/no/such/folder"], 2, "does not exist"),
        (["--cards", str(CARDS), "--base", "someone/else"], 1, "--base someone/else: no card"),
    ],
)
def test_usage_and_user_errors(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = harvest(tmp_path, *args)
    assert result.exit_code == code
    assert message in " ".join(result.output.split())


# ---------------------------------------------------------------- the Hub, mocked at its boundary


def http_error(kind: type[errors.HfHubHTTPError], status: int, url: str) -> errors.HfHubHTTPError:
    module = importlib.import_module(errors.Response.__module__)
    response = errors.Response(status, request=module.Request("GET", url))
    return kind(f"{status} Client Error for url: {url}", response=response)


class FakeHub:
    """The Hub's answers: listings by tag, model info, README downloads from the fixtures."""

    README = {
        "alice/distilbert-sst2-lr2e-5": "alice__distilbert-sst2-lr2e-5.md",
        "bob/sst2-distilbert-ft": "bob__sst2-distilbert-ft/README.md",
        "carol/distilbert-sst2-no-f1": "carol__distilbert-sst2-no-f1.md",
        "heidi/distilbert-sst2-notask": "heidi__distilbert-sst2-notask.md",
        "frank/distilbert-sst2-ner": "frank__distilbert-sst2-ner.md",
        BASE_ID: "distilbert__distilbert-base-uncased-finetuned-sst-2-english.md",
    }
    LISTED = [
        ("alice/distilbert-sst2-lr2e-5", "text-classification"),
        ("bob/sst2-distilbert-ft", "text-classification"),
        ("carol/distilbert-sst2-no-f1", "text-classification"),
        ("heidi/distilbert-sst2-notask", "text-classification"),
        ("frank/distilbert-sst2-ner", "token-classification"),
        ("gated/distilbert-sst2", "text-classification"),
        ("nocard/distilbert-sst2", None),
        (BASE_ID, "text-classification"),
    ]

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.filters: list[tuple[Any, Any, Any]] = []
        self.downloads: list[str] = []
        hub = self

        def model_info(
            self: Any, repo_id: str, *, timeout: float | None = None, **_: Any
        ) -> ModelInfo:
            assert timeout is not None and timeout <= 10  # the reachability probe is quick
            if repo_id not in (BASE, BASE_ID):
                raise http_error(
                    errors.RepositoryNotFoundError, 404, f"https://hf.co/api/models/{repo_id}"
                )
            return ModelInfo(id=BASE_ID, pipeline_tag="text-classification")

        def list_models(self: Any, *, filter: Any = None, limit: Any = None, **kw: Any) -> Any:
            hub.filters.append((filter, limit, kw.get("expand")))
            if filter != f"base_model:finetune:{BASE_ID}":
                return iter([])
            listed = hub.LISTED[:limit] if limit else hub.LISTED
            return (ModelInfo(id=i, pipeline_tag=tag) for i, tag in listed)

        def download(repo_id: str, filename: str, **_: Any) -> str:
            hub.downloads.append(repo_id)
            assert filename == "README.md"
            url = f"https://huggingface.co/{repo_id}/resolve/main/README.md"
            if repo_id.startswith("gated/"):
                raise http_error(errors.GatedRepoError, 401, url)
            if repo_id.startswith("nocard/"):
                raise http_error(errors.RemoteEntryNotFoundError, 404, url)
            return str(CARDS / hub.README[repo_id])

        monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
        monkeypatch.setattr(huggingface_hub.HfApi, "list_models", list_models)
        monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)


def test_hub_harvest_finds_derived_models_by_base_model_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = FakeHub(monkeypatch)
    result = harvest(tmp_path, "--base", BASE, "--json", study="hub")
    assert result.exit_code == 0, result.output
    assert [f[0] for f in hub.filters] == [
        f"base_model:finetune:{BASE_ID}",
        f"base_model:finetune:{BASE}",
    ]
    assert hub.filters[0][2] == ["pipeline_tag"]
    payload = json.loads(result.stdout)
    assert (payload["cards"], payload["usable"]) == (7, 4)  # the base itself is no candidate
    assert payload["trials"] == [t for t in EXPECTED_TRIALS if t["model_id"] in hub.README]
    assert payload["skipped"] == [
        {"model_id": "frank/distilbert-sst2-ner",
         "reason": "not sequence classification: the task is token-classification"},
        {"model_id": "gated/distilbert-sst2", "reason": "no card: the repository is gated"},
        {"model_id": "nocard/distilbert-sst2",
         "reason": "no card: the repository has no README.md"},
    ]  # fmt: skip
    study = load(tmp_path, "hub")
    assert study.user_attrs[BASELINE_ATTR]["metrics"] == BASE_METRICS
    assert study.user_attrs[HARVEST_ATTR] == {"base": BASE_ID, "sources": ["hub"]}
    trials = {t.user_attrs["model_id"]: t for t in study.trials}
    assert {t.user_attrs["source"] for t in trials.values()} == {"hub"}
    # the card declares no task; the Hub's pipeline tag says what it is
    assert trials["heidi/distilbert-sst2-notask"].user_attrs["task"] == "text-classification"
    assert len(trials) == 4 and hub.downloads[0] == BASE_ID


def test_hub_limit_is_passed_to_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = FakeHub(monkeypatch)
    result = harvest(tmp_path, "--base", BASE, "--limit", "2", "--json", study="hub")
    assert result.exit_code == 0, result.output
    assert {f[1] for f in hub.filters} == {2}
    payload = json.loads(result.stdout)
    assert payload["cards"] == 2 and [t["model_id"] for t in payload["trials"]] == [
        "alice/distilbert-sst2-lr2e-5", "bob/sst2-distilbert-ft"]  # fmt: skip


def test_hub_unknown_base_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeHub(monkeypatch)
    result = harvest(tmp_path, "--base", "nobody/nothing", study="hub")
    assert result.exit_code == 1
    assert "--base nobody/nothing: no such model on the Hub" in result.stderr


# ---------------------------------------------------------------- the Hub, unreachable for real


def assert_points_at_cards(result: Any) -> None:
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot reach the Hugging Face Hub at ")
    assert lines[0].endswith("harvest offline from a folder of model cards with --cards DIR")
    assert result.stdout == ""


def test_offline_mode_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    result = harvest(tmp_path, "--base", BASE, "--json", study="hub")
    assert_points_at_cards(result)
    assert "HF_HUB_OFFLINE is set" in result.stderr


def test_unreachable_hub_fails_fast_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    result = harvest(tmp_path, "--base", BASE, study="hub")
    assert time.monotonic() - started < 15
    assert_points_at_cards(result)
    assert f"http://127.0.0.1:{port}" in result.stderr and "ConnectError" in result.stderr


# ---------------------------------------------------------------- the real Hub, when reachable


def hub_reachable(host: str = "huggingface.co") -> bool:
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError:
        return False
    return True


def test_real_hub_harvest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hub_reachable():
        pytest.skip("the Hugging Face Hub is unreachable from this machine")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "https://huggingface.co")
    result = harvest(tmp_path, "--base", BASE, "--limit", "5", "--json", study="real")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert 1 <= payload["cards"] <= 5
    assert payload["usable"] + len(payload["skipped"]) == payload["cards"]
    baseline = load(tmp_path, "real").user_attrs[BASELINE_ATTR]
    assert baseline["model_id"] == BASE_ID
    assert baseline["metrics"]["accuracy"] == pytest.approx(0.91, abs=0.01)
