"""Where `advisor tune --prior` gets the surface sampler's prior: shipped, a file, a study."""

from __future__ import annotations

from pathlib import Path

from advisor.errors import StorageError
from advisor.steering import SurfacePrior
from advisor.steering._prior import FINETUNE_PRIOR, prior_from_rows
from advisor.study.storage import load_study, open_storage, trials_table

NO_PRIOR = "none"


def resolve_prior(value: str | None, storage_url: str | None = None) -> SurfacePrior | str | None:
    """The prior `value` names: None or "finetune": the shipped one (`FINETUNE_PRIOR`);
    "none": no learned prior (the sampler's bowl only); a path to a JSON file
    (`SurfacePrior.to_dict`); else the name of a study in the storage (a grid, tune or
    harvested card study), whose finished trials it is learned from.

    Raises:
        StorageError: the file is not a prior, or the study is missing or too small.
    """
    if value is None or value == FINETUNE_PRIOR:
        return FINETUNE_PRIOR
    if value.lower() == NO_PRIOR:
        return None
    path = Path(value)
    if path.suffix.lower() == ".json" or path.is_file():
        try:
            return SurfacePrior.load(path)
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot read the prior {value!r}: {exc}") from exc
    study = load_study(open_storage(storage_url, read_only=True), value)
    try:
        return prior_from_rows(trials_table(study).rows, source=f"study {value}")
    except ValueError as exc:
        raise StorageError(f"cannot learn a prior from study {value!r}: {exc}") from exc
