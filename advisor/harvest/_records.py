"""What a harvest produces: one record per usable card, one reason per skipped card."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from advisor.table import METRICS

# Why a card gives no trial; a reason reads "<code>: <detail>".
UNREADABLE = "unreadable"
NOT_SEQUENCE_CLASSIFICATION = "not sequence classification"
OTHER_BASE = "other base"
MISSING_FIELD = "missing field"
CONTRADICTION = "contradiction"
INVALID_VALUE = "invalid value"
AMBIGUOUS = "ambiguous"
NO_CARD = "no card"
DUPLICATE_CARD = "duplicate card"
SKIP_CODES: tuple[str, ...] = (
    UNREADABLE,
    NOT_SEQUENCE_CLASSIFICATION,
    OTHER_BASE,
    MISSING_FIELD,
    CONTRADICTION,
    INVALID_VALUE,
    AMBIGUOUS,
    NO_CARD,
    DUPLICATE_CARD,
)
UNKNOWN_TASK = "unknown"


@dataclass(frozen=True)
class SkipReason:
    """A card that gives no trial, and why (`code` is one of SKIP_CODES)."""

    model_id: str
    code: str
    detail: str

    @property
    def reason(self) -> str:
        """`"<code>: <detail>"`, as shown to users and in `harvest --json`."""
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True)
class CardRecord:
    """A usable card: its hyperparameters and the metrics it states (None where it states none).

    Attributes:
        model_id: `OWNER/NAME` on the Hub.
        learning_rate: `learning_rate` of the Trainer list.
        batch_size: `train_batch_size` of the Trainer list.
        epochs: `num_epochs` (an int when whole, else a float: cards may train 2.5 epochs).
        accuracy: evaluation accuracy, or None when the card does not state it.
        f1: evaluation F1, or None when the card does not state it.
        loss: evaluation loss, or None when the card does not state it.
        task: the declared task (`text-classification`) or None when the card declares none.
        dataset: the evaluation dataset as the card names it (`glue/sst2`), or None.
        seed: the Trainer seed when stated.
        metrics_source: `results list` or `model-index`: where the metrics were read.
        hyperparameters: the card's hyperparameter list, as stated (name -> text).
    """

    model_id: str
    learning_rate: float
    batch_size: int
    epochs: float
    accuracy: float | None
    f1: float | None
    loss: float | None
    task: str | None = None
    dataset: str | None = None
    seed: int | None = None
    metrics_source: str = "results list"
    hyperparameters: dict[str, str] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, float | None]:
        """`{"accuracy": .., "f1": .., "loss": ..}`, None where not stated."""
        return {"accuracy": self.accuracy, "f1": self.f1, "loss": self.loss}

    @property
    def missing_metrics(self) -> tuple[str, ...]:
        """Names of the metrics the card does not state."""
        return tuple(m for m in METRICS if getattr(self, m) is None)

    def to_json(self) -> dict[str, Any]:
        """The `harvest --json` trial entry."""
        return {
            "model_id": self.model_id,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            **self.metrics,
        }


@dataclass(frozen=True)
class BaselineCard:
    """The base model's own card: the metrics it states (only those), the baseline of `*_rel`."""

    model_id: str
    metrics: dict[str, float]
    metrics_source: str = "model-index"

    def to_attr(self) -> dict[str, Any]:
        """The study user attribute stored under `advisor.study.storage.BASELINE_ATTR`."""
        return {
            "kind": "card",
            "model_id": self.model_id,
            "metrics": dict(self.metrics),
            "metrics_source": self.metrics_source,
        }


@dataclass(frozen=True)
class Harvest:
    """Everything one harvest read: coverage, usable records, skipped cards, the baseline.

    Attributes:
        source: `hub` or `cards:<dir>`.
        base: the base model id given with `--base`, or None.
        cards: how many candidate cards were found (the base's own card not counted).
        records: one per usable card.
        skipped: one per card that gives no trial.
        baseline: the base card's metrics, or None.
        baseline_problem: why there is no baseline although a base was named, else None.
    """

    source: str
    base: str | None
    cards: int
    records: tuple[CardRecord, ...]
    skipped: tuple[SkipReason, ...]
    baseline: BaselineCard | None = None
    baseline_problem: str | None = None

    @property
    def usable(self) -> int:
        """Number of cards that give a trial."""
        return len(self.records)

    def skipped_by_code(self) -> dict[str, int]:
        """How many cards were skipped for each reason code (codes in SKIP_CODES order)."""
        counts = {code: 0 for code in SKIP_CODES}
        for skip in self.skipped:
            counts[skip.code] = counts.get(skip.code, 0) + 1
        return {code: n for code, n in counts.items() if n}

    def to_json(self) -> dict[str, Any]:
        """The `harvest --json` payload of PRODUCT.md."""
        return {
            "cards": self.cards,
            "usable": self.usable,
            "trials": [record.to_json() for record in self.records],
            "skipped": [{"model_id": s.model_id, "reason": s.reason} for s in self.skipped],
        }
