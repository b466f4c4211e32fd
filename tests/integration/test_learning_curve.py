"""Learning curves of real (tiny) fine-tunes: one evaluation per epoch whose last point is the
final result, training time kept apart from evaluation time, and the early-stop hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import tiny_spec_text

from advisor.config import load_spec
from advisor.training.data import load_dataset
from advisor.training.finetune import FineTuner

PARAMS = {"learning_rate": 1e-3, "batch_size": 16}


def _tuner(tmp_path: Path, model: Path, data: Path, extra: str = "") -> FineTuner:
    path = tmp_path / "spec.toml"
    path.write_text(tiny_spec_text(model, data, extra=extra), encoding="utf-8")
    spec = load_spec(path)
    return FineTuner(spec, load_dataset(spec))


@pytest.fixture()
def tuner(tmp_path: Path, tiny_model: Path, keyword_data: Path) -> FineTuner:
    return _tuner(tmp_path, tiny_model, keyword_data, "[training]\neval_batch_size = 256")


def test_two_epochs_give_two_points_ending_at_the_final_metrics(tuner: FineTuner) -> None:
    result = tuner.run({**PARAMS, "epochs": 2}, seed=0)
    assert [p["epoch"] for p in result.curve] == [1, 2]
    last = result.curve[-1]
    assert {m: last[m] for m in ("accuracy", "f1", "loss")} == result.metrics
    first_train, second_train = (p["train_seconds"] for p in result.curve)
    assert 0 < first_train < second_train
    assert result.train_seconds == second_train
    assert result.eval_seconds == pytest.approx(sum(p["eval_seconds"] for p in result.curve))
    assert result.train_seconds + result.eval_seconds < result.wall_time_s
    assert result.steps == 20 and [p["step"] for p in result.curve] == [10, 20]
    assert not result.pruned


def test_the_curve_scores_what_trainer_predict_would(tuner: FineTuner, tmp_path: Path) -> None:
    """The length-sorted, pre-padded evaluation agrees with `Trainer.predict` on one model."""
    from transformers import Trainer, TrainingArguments

    from advisor.training.metrics import classification_metrics
    from advisor.training.model import load_classifier

    model = load_classifier(tuner.source, tuner.num_labels)
    ours = tuner.evaluator.evaluate(model).metrics
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        report_to="none",
        per_device_eval_batch_size=7,
        dataloader_pin_memory=False,
    )
    trainer = Trainer(model=model, args=args, processing_class=tuner.tokenizer)
    output = trainer.predict(tuner.eval_rows)  # type: ignore[arg-type]
    theirs = classification_metrics(output.predictions, tuner.eval_labels, tuner.num_labels)
    assert ours["loss"] == pytest.approx(output.metrics["test_loss"], rel=1e-4)
    assert (ours["accuracy"], ours["f1"]) == (theirs["accuracy"], theirs["f1"])


def test_early_stop_after_epoch_one_keeps_one_point(tuner: FineTuner) -> None:
    seen: list[list[dict[str, Any]]] = []

    def stop_after_first(curve: list[dict[str, Any]]) -> bool:
        seen.append(curve)
        return True

    result = tuner.run({**PARAMS, "epochs": 3}, seed=0, on_epoch=stop_after_first)
    assert result.pruned
    assert len(seen) == 1 and len(result.curve) == 1 and result.curve[0]["epoch"] == 1
    assert result.steps == 10  # one epoch of 160 rows at batch 16, not three
    assert result.metrics == {m: result.curve[0][m] for m in ("accuracy", "f1", "loss")}


def test_a_hook_that_never_stops_changes_nothing(tuner: FineTuner) -> None:
    plain = tuner.run({**PARAMS, "epochs": 2}, seed=0)
    watched = tuner.run({**PARAMS, "epochs": 2}, seed=0, on_epoch=lambda curve: False)
    assert not watched.pruned
    assert watched.metrics == plain.metrics


def test_eval_every_steps_records_fractional_epochs_and_the_end(
    tmp_path: Path, tiny_model: Path, keyword_data: Path
) -> None:
    tuner = _tuner(tmp_path, tiny_model, keyword_data, "[training]\neval_every = 4")
    result = tuner.run({**PARAMS, "epochs": 1}, seed=0)  # 10 steps: points at 4, 8 and the end
    assert [p["step"] for p in result.curve] == [4, 8, 10]
    assert [p["epoch"] for p in result.curve] == [0.4, 0.8, 1.0]
    assert result.metrics == {m: result.curve[-1][m] for m in ("accuracy", "f1", "loss")}


def test_the_checkpoint_baseline_has_metrics_and_no_curve(tuner: FineTuner) -> None:
    result = tuner.evaluate_checkpoint()
    assert result.curve == [] and result.train_seconds == 0.0 and result.eval_seconds > 0
    assert set(result.metrics) == {"accuracy", "f1", "loss"}
