"""Classification metrics from logits: accuracy, F1 (binary for two classes, macro otherwise)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def classification_metrics(logits: Any, labels: Any, num_labels: int) -> dict[str, float]:
    """Accuracy and F1 of argmax predictions; F1 is binary (positive = 1) for two classes."""
    predictions = np.asarray(logits).argmax(axis=-1)
    average = "binary" if num_labels == 2 else "macro"
    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "f1": float(f1_score(labels, predictions, average=average, zero_division=0)),
    }
