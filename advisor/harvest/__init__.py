"""Build a study from Hugging Face model cards, the reference study's data source.

`harvest_hub` finds the models fine-tuned from a base on the Hub; `harvest_cards` reads a folder
of cards offline; `read_card` turns one card's text into a CardRecord or a SkipReason;
`store_harvest` writes the usable cards as trials of an Optuna study; `run_harvest` does it all.
"""

from __future__ import annotations

from advisor.harvest._cards import read_baseline, read_card, same_model
from advisor.harvest._hub import HubUnreachableError, harvest_hub
from advisor.harvest._local import card_files, harvest_cards
from advisor.harvest._records import (
    SKIP_CODES,
    UNKNOWN_TASK,
    BaselineCard,
    CardRecord,
    Harvest,
    SkipReason,
)
from advisor.harvest._run import run_harvest
from advisor.harvest._store import HARVEST_ATTR, MODEL_ID_ATTR, StoreResult, store_harvest

__all__ = [
    "HARVEST_ATTR",
    "MODEL_ID_ATTR",
    "SKIP_CODES",
    "UNKNOWN_TASK",
    "BaselineCard",
    "CardRecord",
    "Harvest",
    "HubUnreachableError",
    "SkipReason",
    "StoreResult",
    "card_files",
    "harvest_cards",
    "harvest_hub",
    "read_baseline",
    "read_card",
    "run_harvest",
    "same_model",
    "store_harvest",
]
