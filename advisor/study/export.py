"""`advisor export`: a study's finished trials as a benchmark table (CSV)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from advisor.errors import StorageError
from advisor.study.storage import load_study, open_storage
from advisor.study.views import table_of
from advisor.table import write_table


def export_study(study_name: str, out: str | Path, storage_url: str | None = None) -> int:
    """Write the finished trials (and the baseline row) to `out`; returns the number of trials."""
    study = load_study(open_storage(storage_url, read_only=True), study_name)
    table = table_of(study, include_partial=False)
    if table.rows.empty:
        raise StorageError(f"study {study_name!r} has no finished trials to export yet")
    out = Path(out)
    if not out.parent.is_dir():
        raise StorageError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
    rows = table.rows.drop(columns=["number"])
    write_table(replace(table, rows=rows), out)  # a config baseline's row states its params
    return len(rows)
