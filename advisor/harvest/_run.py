"""`advisor harvest` end to end: open the storage, read the cards, store the trials."""

from __future__ import annotations

from pathlib import Path

from advisor.harvest._hub import Progress, harvest_hub
from advisor.harvest._local import harvest_cards
from advisor.harvest._records import Harvest
from advisor.harvest._store import StoreResult, store_harvest
from advisor.study.storage import open_storage


def run_harvest(
    study: str,
    *,
    base: str | None,
    cards: str | Path | None = None,
    storage_url: str | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> tuple[Harvest, StoreResult]:
    """Harvest `cards` (a folder) or, without it, the Hub models fine-tuned from `base`.

    The storage is opened first so that a bad `--storage` fails before a long Hub crawl.

    Raises:
        StorageError, DataError, ModelError (HubUnreachableError): see the callees.
    """
    storage = open_storage(storage_url)
    if cards is not None:
        harvest = harvest_cards(cards, base=base)
    else:
        if base is None:
            raise ValueError("run_harvest needs `base` or `cards`")
        harvest = harvest_hub(base, limit=limit, progress=progress)
    return harvest, store_harvest(storage, study, harvest)
