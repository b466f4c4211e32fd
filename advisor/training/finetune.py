"""One fine-tune through transformers' `Trainer`: dynamic padding, seeded, device auto,
no checkpoints unless asked, evaluated after every epoch (curve.py). Data is tokenised (and the
eval batches padded) once per `FineTuner`, reused by every trial."""

from __future__ import annotations

import inspect
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    DataCollatorWithPadding,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from advisor.config import StudySpec, TrainingSpec
from advisor.errors import TrialFailed
from advisor.training.curve import EarlyStop, LearningCurve
from advisor.training.data import Dataset, Split
from advisor.training.evaluation import Evaluator
from advisor.training.metrics import predicted_single_class
from advisor.training.model import load_classifier, load_tokenizer, resolve_model

StepProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class FineTuneResult:
    """Metrics on the eval split and the cost of one fine-tune.

    `metrics` are those of the last curve point (the final evaluation is the last epoch's, not
    a second pass over the eval split). `wall_time_s` is the whole call (model loading,
    training, every evaluation); `train_seconds` the training alone and `eval_seconds` all
    evaluations together. `pruned`: the early-stop hook ended training before its last step.
    """

    metrics: dict[str, float]
    wall_time_s: float
    train_samples_per_second: float
    train_runtime_s: float
    steps: int
    device: str
    collapsed: bool = False  # predicted a single class on the eval split
    save_error: str | None = None  # `--save-models` failed (the metrics still count)
    curve: list[dict[str, float]] = field(default_factory=list)  # see advisor.training.curve
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    pruned: bool = False


class FineTuner:
    """Fine-tunes fresh copies of one model on one tokenised dataset."""

    def __init__(self, spec: StudySpec, dataset: Dataset) -> None:
        self.spec = spec
        self.num_labels = dataset.num_labels
        self.source = resolve_model(spec.model, spec.base_dir)
        self.tokenizer = load_tokenizer(self.source)
        self.train_rows = _tokenise(self.tokenizer, dataset.train, spec.max_length)
        self.eval_rows = _tokenise(self.tokenizer, dataset.eval, spec.max_length)
        self.eval_labels = dataset.eval.labels
        self.evaluator = Evaluator(
            self.eval_rows,
            self.tokenizer,
            self.num_labels,
            spec.training.eval_batch_size,
            spec.training.precision,
        )

    def evaluate_checkpoint(self, seed: int = 0) -> FineTuneResult:
        """Metrics of the model as loaded, before any fine-tuning (the checkpoint baseline)."""
        return self.run({"learning_rate": 1e-5, "batch_size": 8, "epochs": 0}, seed)

    def run(
        self,
        params: dict[str, Any],
        seed: int,
        progress: StepProgress | None = None,
        save_dir: str | None = None,
        on_epoch: EarlyStop | None = None,
    ) -> FineTuneResult:
        """Fine-tune with `params` (learning_rate, batch_size, epochs), evaluating on the eval
        split at the end of every epoch (`[training] eval_every`).

        Args:
            on_epoch: called with the curve so far after each evaluation; returning True stops
                training there (the result is then `pruned`, its metrics the last point's).

        Raises:
            TrialFailed: the loss diverged (NaN/inf) or the device ran out of memory.
        """
        set_seed(seed)  # before loading: the new classification head is seeded too
        started = time.perf_counter()
        model = load_classifier(self.source, self.num_labels)
        watcher = _TrainingWatcher(progress)
        curve = LearningCurve(self.evaluator, self.spec.training.eval_every, on_epoch)
        with tempfile.TemporaryDirectory(prefix="advisor-") as scratch:
            args = TrainingArguments(
                **training_arguments(params, seed, self.spec.training, scratch)
            )
            trainer = Trainer(
                model=model,
                args=args,
                train_dataset=self.train_rows,
                data_collator=DataCollatorWithPadding(self.tokenizer),
                processing_class=self.tokenizer,
                callbacks=[watcher, curve],
            )
            trainer.remove_callback(PrinterCallback)  # it prints log dicts to stdout
            try:
                train_metrics = _train(trainer, params)
                if not watcher.diverged:
                    curve.finish(trainer.state, trainer.model)
            except torch.OutOfMemoryError as exc:
                raise TrialFailed("out of memory", str(exc).splitlines()[0]) from exc
            save_error = save_model(trainer, save_dir) if save_dir else None
        metrics = curve.last.metrics if curve.last is not None else {"loss": math.nan}
        if watcher.diverged or not math.isfinite(metrics["loss"]):
            where = (
                f"training loss became {watcher.bad_loss}"
                if watcher.diverged
                else f"eval loss is {metrics['loss']}"
            )
            raise TrialFailed("diverged loss", where)
        train_seconds = curve.curve[-1]["train_seconds"] if curve.curve else 0.0
        state = trainer.state
        return FineTuneResult(
            metrics=dict(metrics),
            wall_time_s=time.perf_counter() - started,
            # samples actually trained on (a pruned run stops early) per training second
            train_samples_per_second=(
                len(self.train_rows) * float(state.epoch or 0.0) / train_seconds
                if train_seconds > 0
                else 0.0
            ),
            train_runtime_s=float(train_metrics.get("train_runtime", 0.0)),
            steps=int(state.global_step),
            device=str(args.device),
            collapsed=predicted_single_class(curve.logits),
            save_error=save_error,
            curve=curve.curve,
            train_seconds=train_seconds,
            eval_seconds=curve.eval_seconds,
            pruned=curve.stopped and state.global_step < state.max_steps,
        )


def save_model(trainer: Any, folder: str) -> str | None:
    """Save the fine-tuned model under `folder`; on failure (full disk, read-only folder, a
    file in the way) remove what this call wrote and return the error: a finished fine-tune's
    metrics are not thrown away because its copy could not be kept."""
    existed = Path(folder).exists()
    try:
        trainer.save_model(folder)
    except Exception as exc:  # OSError mostly; safetensors and torch raise their own types
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
    return None


def _train(trainer: Any, params: dict[str, Any]) -> dict[str, float]:
    if int(params["epochs"]) == 0:
        return {}
    return dict(trainer.train().metrics)


def training_arguments(
    params: dict[str, Any], seed: int, training: TrainingSpec, output_dir: str
) -> dict[str, Any]:
    """Keyword arguments for `TrainingArguments` (filtered to what the installed version takes)."""
    # "auto" is fp32: on an H100, bf16 autocast made short-sentence fine-tunes (SST-2, dynamic
    # padding) 2x slower, since such steps are bound by kernel launches and autocast adds casts
    # (docs/benchmarks.md). Ask for bf16/fp16 explicitly for long sequences or big models.
    precision = "fp32" if training.precision == "auto" else training.precision
    wanted: dict[str, Any] = {
        "output_dir": output_dir,
        "learning_rate": float(params["learning_rate"]),
        "per_device_train_batch_size": int(params["batch_size"]),
        "per_device_eval_batch_size": training.eval_batch_size,
        "num_train_epochs": float(params["epochs"]),
        "weight_decay": training.weight_decay,
        "warmup_ratio": training.warmup_ratio,
        "seed": seed,
        "data_seed": seed,
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "logging_strategy": "steps",
        "logging_steps": 10,
        "logging_nan_inf_filter": False,  # a NaN loss must reach the watcher
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": torch.cuda.is_available(),
    }
    if training.group_by_length:
        wanted["train_sampling_strategy"] = "group_by_length"
        wanted["group_by_length"] = True
    accepted = inspect.signature(TrainingArguments.__init__).parameters
    return {k: v for k, v in wanted.items() if k in accepted}


def _tokenise(tokenizer: Any, split: Split, max_length: int) -> list[dict[str, Any]]:
    encoded = tokenizer(split.texts, truncation=True, max_length=max_length)
    keys = list(encoded.keys())
    return [
        {**{k: encoded[k][i] for k in keys}, "labels": label}
        for i, label in enumerate(split.labels)
    ]


class _TrainingWatcher(TrainerCallback):  # type: ignore[misc]
    """Reports step progress and stops training when the loss stops being finite."""

    def __init__(self, progress: StepProgress | None) -> None:
        self.progress = progress
        self.diverged = False
        self.bad_loss: float | None = None

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress(int(state.global_step), int(state.max_steps))

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged, self.bad_loss = True, float(loss)
            control.should_training_stop = True


def save_path(root: str, key: str) -> str:
    """Folder under `root` for one trial's model (`--save-models`)."""
    safe = key.replace("|", "_").replace("=", "-")
    return str(Path(root) / safe)
