"""Scores a model on the pre-tokenised eval split: loss, accuracy and F1 (metrics.py), fast
enough to run after every epoch. The rows are sorted by length and padded into batches once
per `Evaluator` (so once per study), then every evaluation is forward passes only."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import DataCollatorWithPadding

from advisor.training.metrics import classification_metrics

AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one evaluation, and the logits they came from (in the rows' order)."""

    metrics: dict[str, float]  # loss (mean eval cross-entropy), accuracy, f1
    logits: np.ndarray


class Evaluator:
    """Evaluates models on fixed tokenised rows (each row has `labels`).

    Args:
        rows: tokenised eval rows, as `FineTuner` builds them.
        tokenizer: pads the batches (dynamic padding, as in training).
        num_labels: number of classes (binary F1 for two, macro otherwise).
        batch_size: rows per forward pass (`[training] eval_batch_size`).
        precision: the spec's training precision; "bf16"/"fp16" evaluate under autocast, as
            `Trainer.predict` would.
    """

    def __init__(
        self,
        rows: list[dict[str, Any]],
        tokenizer: Any,
        num_labels: int,
        batch_size: int,
        precision: str = "fp32",
    ) -> None:
        self.num_labels = num_labels
        self.labels = np.asarray([row["labels"] for row in rows])
        # longest first: each batch pads to its own longest row, and an out-of-memory error
        # shows up on the first batch rather than the last
        self.order = np.argsort([-len(row["input_ids"]) for row in rows], kind="stable")
        collate = DataCollatorWithPadding(tokenizer)
        self.batches = [
            dict(collate([rows[i] for i in self.order[start : start + batch_size]]))
            for start in range(0, len(rows), batch_size)
        ]
        self.autocast_dtype = AUTOCAST.get(precision)

    def evaluate(self, model: Any) -> Evaluation:
        """Loss, accuracy and F1 of `model` on the rows; leaves the model in the mode it had."""
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        chunks = []
        try:
            with torch.inference_mode(), self._autocast(device):
                for batch in self.batches:
                    inputs = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
                    output = model(**inputs)
                    loss_sum += output.loss.double() * len(inputs["labels"])
                    chunks.append(output.logits.float())
                sorted_logits = torch.cat(chunks).cpu().numpy() if chunks else np.zeros((0, 0))
                total = float(loss_sum.item())
        finally:
            model.train(was_training)
        logits = np.empty_like(sorted_logits)
        logits[self.order] = sorted_logits
        loss = total / len(self.labels) if len(self.labels) else float("nan")
        metrics = {"loss": loss, **classification_metrics(logits, self.labels, self.num_labels)}
        return Evaluation(metrics=metrics, logits=logits)

    def _autocast(self, device: torch.device) -> contextlib.AbstractContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.autocast_dtype)
