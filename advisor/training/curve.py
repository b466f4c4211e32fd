"""The learning curve of one fine-tune: a `TrainerCallback` that evaluates at the end of every
epoch (or every N optimizer steps), times training apart from evaluation, and lets a pruner stop
the run after any evaluation.

Each point is `{"epoch", "step", "accuracy", "f1", "loss", "train_seconds", "eval_seconds"}`:
`train_seconds` is the training time up to that point, evaluation excluded (cumulative), and
`eval_seconds` the time of that one evaluation. With `eval_every = N` steps, `epoch` is the
fractional epoch reached (`state.epoch`, 4 decimals); with `"epoch"` it is the whole epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from transformers import TrainerCallback

from advisor.config import EVAL_EVERY_EPOCH
from advisor.training.evaluation import Evaluation, Evaluator

# on_epoch(curve so far) -> True to stop training after this evaluation
EarlyStop = Callable[[list[dict[str, float]]], bool]


class LearningCurve(TrainerCallback):  # type: ignore[misc]
    """Records a curve point after every epoch (or every `eval_every` steps).

    After training, `curve`, `eval_seconds`, `last` (the latest `Evaluation`) and `stopped`
    (the early-stop hook asked to stop) describe the run. Call `finish` once training returned:
    it adds a point for the final state when the last evaluation was before it.
    """

    def __init__(
        self,
        evaluator: Evaluator,
        eval_every: str | int = EVAL_EVERY_EPOCH,
        on_epoch: EarlyStop | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.eval_every = eval_every
        self.on_epoch = on_epoch
        self.curve: list[dict[str, float]] = []
        self.eval_seconds = 0.0
        self.last: Evaluation | None = None
        self.stopped = False
        self._started: float | None = None

    @property
    def logits(self) -> np.ndarray:
        """The eval logits of the latest point."""
        if self.last is None:
            raise RuntimeError("no evaluation has run yet")
        return self.last.logits

    def train_seconds(self) -> float:
        """Training time so far, evaluation excluded."""
        if self._started is None:
            return 0.0
        return time.perf_counter() - self._started - self.eval_seconds

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        every = self.eval_every
        if isinstance(every, int) and state.global_step % every == 0:
            self._record(state, control, kwargs["model"])

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.eval_every == EVAL_EVERY_EPOCH:
            self._record(state, control, kwargs["model"])

    def finish(self, state: Any, model: Any) -> None:
        """A last point at the final state, unless the latest point is already there (with a
        step count that does not divide the run, or no training at all: epochs = 0)."""
        if self.curve and self.curve[-1]["step"] == state.global_step:
            return
        self._record(state, None, model)

    def _record(self, state: Any, control: Any, model: Any) -> None:
        train_seconds = self.train_seconds()
        started = time.perf_counter()
        self.last = self.evaluator.evaluate(model)
        seconds = time.perf_counter() - started
        self.eval_seconds += seconds
        if int(state.global_step) == 0:
            return  # nothing trained (the checkpoint baseline): metrics, but no curve point
        epoch = float(state.epoch or 0.0)
        self.curve.append(
            {
                "epoch": round(epoch) if self.eval_every == EVAL_EVERY_EPOCH else round(epoch, 4),
                "step": int(state.global_step),
                **self.last.metrics,
                "train_seconds": train_seconds,
                "eval_seconds": seconds,
            }
        )
        if control is None or self.on_epoch is None:
            return  # the catch-up point after training: nothing left to stop
        if self.on_epoch([dict(point) for point in self.curve]):
            self.stopped = True
            control.should_training_stop = True
