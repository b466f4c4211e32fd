"""What the data of a study was: a fingerprint stored with the study, compared on every run, so
that a replaced `train.tsv` is noticed before other rows are trained under the same spec."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from advisor.config import StudySpec

CHUNK = 1 << 20


def data_fingerprint(spec: StudySpec) -> dict[str, Any]:
    """Local files: the SHA-256 of each file; a Hub dataset: its name/config and splits (the
    Hub's revision is not pinned by the spec, so a new upload there is not seen)."""
    data = spec.data
    if data.source != "files":
        return {"source": data.source, "train": data.train, "eval": data.eval}
    return {
        "source": "files",
        "train_sha256": file_sha256(spec.resolve_path(data.train)),
        "eval_sha256": file_sha256(spec.resolve_path(data.eval)),
    }


def file_sha256(path: str) -> str | None:
    """The file's SHA-256, or None when it cannot be read (the data loader says why)."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def fingerprint_change(stored: dict[str, Any], current: dict[str, Any]) -> str | None:
    """What differs between two fingerprints, in words (None when they agree)."""
    for key in sorted(set(stored) | set(current)):
        before, now = stored.get(key), current.get(key)
        if before != now:
            what = key.removesuffix("_sha256")
            if key.endswith("_sha256"):
                return (
                    f"the {what} file changed (SHA-256 {str(before)[:12]}... stored, "
                    f"{str(now)[:12]}... now)"
                )
            return f"data {what} is {now!r}, the study was made with {before!r}"
    return None
