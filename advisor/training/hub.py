"""One quick look at the Hugging Face Hub before loading from it.

Without it, transformers and datasets retry an unreachable Hub for minutes (an unknown model
name cost 135 s of retry messages) before the error. One metadata request, no retries, tells
the three cases apart: the Hub answers (load as usual), the Hub answers that the repository does
not exist, or the Hub cannot be reached (then the local cache is used if it holds the repository,
and otherwise the caller fails at once with the local options).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

OFFLINE_HINT = "or set HF_HUB_OFFLINE=1 to use what the local Hugging Face cache already holds"
PROBE_TIMEOUT_S = 10.0

Verdict = Literal["online", "cached", "offline", "missing", "unreachable"]


@dataclass(frozen=True)
class HubCheck:
    """What the probe found: `verdict` and, when it failed, the first line of the cause."""

    verdict: Verdict
    detail: str = ""

    @property
    def local_only(self) -> bool:
        """Load from the local cache only (no Hub request, so no retries)."""
        return self.verdict in ("cached", "offline")


_checked: dict[tuple[str, str], HubCheck] = {}  # one probe per repository and process


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value."""
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def check_hub(repo_id: str, repo_type: Literal["model", "dataset"] = "model") -> HubCheck:
    """Probe the Hub once for `repo_id` (a single request with a short timeout)."""
    key = (repo_type, repo_id)
    if key not in _checked:
        _checked[key] = _probe(repo_id, repo_type)
    return _checked[key]


def _probe(repo_id: str, repo_type: Literal["model", "dataset"]) -> HubCheck:
    if hub_offline():
        return HubCheck("offline")
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    info = huggingface_hub.model_info if repo_type == "model" else huggingface_hub.dataset_info
    try:
        info(repo_id, timeout=PROBE_TIMEOUT_S)
    except GatedRepoError:
        return HubCheck("online")  # reachable: the loader gives the access error itself
    except RepositoryNotFoundError as exc:
        return HubCheck("missing", _first_line(exc))
    except HfHubHTTPError:
        return HubCheck("online")  # the Hub answered; the loader reports what it said
    except Exception as exc:  # connection refused, DNS failure, timeout, proxy errors
        if _cached(repo_id, repo_type):
            return HubCheck("cached", _first_line(exc))
        return HubCheck("unreachable", _first_line(exc))
    return HubCheck("online")


def _cached(repo_id: str, repo_type: Literal["model", "dataset"]) -> bool:
    from huggingface_hub import scan_cache_dir

    try:
        cache = scan_cache_dir()
    except Exception:  # no cache folder yet
        return False
    return any(r.repo_id == repo_id and r.repo_type == repo_type for r in cache.repos)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
