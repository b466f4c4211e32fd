"""Harvest from the Hugging Face Hub: the models fine-tuned from a base, and their cards.

Derived models are found through the Hub's base-model tags (`base_model:finetune:<id>`, which
the Hub builds from each card's `base_model` metadata); each card is then read like an offline
one, and a card that names another base is skipped. The first call (the base's `model_info`,
with a short timeout) doubles as the reachability probe, so an offline machine fails in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from advisor.errors import ModelError
from advisor.harvest._cards import read_baseline, read_card, same_model
from advisor.harvest._records import NO_CARD, UNREADABLE, CardRecord, Harvest, SkipReason

HUB_TIMEOUT_S = 10.0
CARD_FILE = "README.md"

Progress = Callable[[int, int, str], None]


class HubUnreachableError(ModelError):
    """The Hugging Face Hub cannot be reached (offline machine, `HF_HUB_OFFLINE=1`, ...)."""


def harvest_hub(
    base: str, *, limit: int | None = None, progress: Progress | None = None
) -> Harvest:
    """Find the models fine-tuned from `base` on the Hub and read their cards.

    Args:
        base: the base model's Hub id (a legacy id without owner is resolved by the Hub).
        limit: read at most this many derived models (the most downloaded first).
        progress: called as `progress(done, total, model_id)` before each card is fetched.

    Raises:
        HubUnreachableError: the Hub does not answer; the message points at `--cards DIR`.
        ModelError: the base model does not exist on the Hub.
    """
    import huggingface_hub

    api = huggingface_hub.HfApi()
    info = _call(api.endpoint, lambda: api.model_info(base, timeout=HUB_TIMEOUT_S), base)
    base_id = str(info.id)
    models = _derived(api, base_id, base, limit)
    baseline_text = _card_text(api.endpoint, base_id)
    baseline = problem = None
    if isinstance(baseline_text, SkipReason):
        problem = baseline_text.reason
    else:
        result = read_baseline(baseline_text, base_id)
        baseline, problem = (
            (None, result.reason) if isinstance(result, SkipReason) else (result, None)
        )
    records: list[CardRecord] = []
    skipped: list[SkipReason] = []
    for done, (model_id, hub_task) in enumerate(models):
        if progress is not None:
            progress(done, len(models), model_id)
        text = _card_text(api.endpoint, model_id)
        read = (
            text
            if isinstance(text, SkipReason)
            else read_card(text, model_id, base=base_id, hub_task=hub_task)
        )
        (skipped if isinstance(read, SkipReason) else records).append(read)  # type: ignore[arg-type]
    return Harvest(
        source="hub",
        base=base_id,
        cards=len(models),
        records=tuple(records),
        skipped=tuple(skipped),
        baseline=baseline,
        baseline_problem=problem,
    )


def _derived(api: Any, base_id: str, given: str, limit: int | None) -> list[tuple[str, str | None]]:
    """`(model_id, hub pipeline tag)` of every model tagged as fine-tuned from the base."""
    found: dict[str, str | None] = {}
    for name in dict.fromkeys((base_id, given)):

        def listing(tag: str = f"base_model:finetune:{name}") -> list[Any]:
            models = api.list_models(
                filter=tag, expand=["pipeline_tag"], sort="downloads", limit=limit
            )
            return list(models)

        for model in _call(api.endpoint, listing, given):
            if not same_model(str(model.id), base_id):
                found.setdefault(str(model.id), getattr(model, "pipeline_tag", None))
    items = list(found.items())
    return items[:limit] if limit is not None else items


def _card_text(endpoint: str, model_id: str) -> str | SkipReason:
    """The model's README.md, or why it has none we may read."""
    import huggingface_hub
    from huggingface_hub import errors

    try:
        path = _call(
            endpoint,
            lambda: huggingface_hub.hf_hub_download(
                model_id, CARD_FILE, etag_timeout=HUB_TIMEOUT_S
            ),
            model_id,
            missing_ok=True,
        )
    except errors.GatedRepoError:
        return SkipReason(model_id, NO_CARD, "the repository is gated")
    except errors.RepositoryNotFoundError:
        return SkipReason(model_id, NO_CARD, "the repository is private or gone")
    except errors.EntryNotFoundError:
        return SkipReason(model_id, NO_CARD, f"the repository has no {CARD_FILE}")
    except errors.HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", "an error")
        return SkipReason(model_id, NO_CARD, f"the Hub answered {status} for its {CARD_FILE}")
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except (UnicodeDecodeError, OSError) as exc:
        return SkipReason(
            model_id, UNREADABLE, f"{CARD_FILE} cannot be read ({type(exc).__name__})"
        )


def _call(
    endpoint: str, function: Callable[[], Any], repo_id: str, *, missing_ok: bool = False
) -> Any:
    """Run one Hub call; network failures become HubUnreachableError, a missing base ModelError."""
    from huggingface_hub import errors

    try:
        return function()
    except errors.LocalEntryNotFoundError as exc:  # hf_hub_download's way of saying "offline"
        raise _unreachable(endpoint, exc) from exc
    except errors.HfHubHTTPError as exc:
        if missing_ok:
            raise
        if isinstance(exc, errors.RepositoryNotFoundError):
            raise ModelError(
                f"--base {repo_id}: no such model on the Hub (or it is private); check the id"
            ) from exc
        raise _unreachable(endpoint, exc) from exc
    except (errors.HTTPError, errors.OfflineModeIsEnabled, OSError) as exc:
        raise _unreachable(endpoint, exc) from exc


def _unreachable(endpoint: str, exc: BaseException) -> HubUnreachableError:
    from huggingface_hub import errors

    if isinstance(exc, errors.OfflineModeIsEnabled):
        reason = "offline mode: HF_HUB_OFFLINE is set"
    else:
        text = (str(exc).strip().splitlines() or [""])[0][:160]
        reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return HubUnreachableError(
        f"cannot reach the Hugging Face Hub at {endpoint} ({reason}); "
        "harvest offline from a folder of model cards with --cards DIR"
    )
