"""Classification metrics from logits: accuracy, F1 (binary for two classes, macro otherwise),
and whether the model collapsed (predicted a single class)."""

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


COLLAPSE_SHARE = 0.95  # one class taking this share of the eval predictions is a collapse


def predicted_single_class(logits: Any) -> bool:
    """True when one class takes at least COLLAPSE_SHARE of the argmax predictions.

    Such a run sits on the plateau (F1 = 0 or the one-class F1, accuracy = that class's share)
    that surfaces model apart; 95% rather than 100% also catches a model that puts all but a
    few inputs in one class, which is the same failure.
    """
    predictions = np.asarray(logits).argmax(axis=-1).reshape(-1)
    if predictions.size == 0:
        return False
    counts = np.bincount(predictions)
    return bool(counts.max() >= COLLAPSE_SHARE * predictions.size)
