"""`advisor status`: where a study of record stands, with its objective sets."""

from __future__ import annotations

from advisor.cli._app import JsonOption, StorageOption, StudyOption, app, emit_json, user_errors


@app.command()
def status(
    study: StudyOption, storage: StorageOption = None, json_output: JsonOption = False
) -> None:
    """Where a study stands, with its objective sets.

    Trials by state and by source (grid, tune, suggest), grid points, failures, the baseline,
    and every objective set's view with its size, front and running trials; writes nothing.
    """
    from advisor.render.grid import status_table
    from advisor.study.status import study_status
    from advisor.study.storage import open_storage

    with user_errors():
        report = study_status(open_storage(storage, read_only=True, must_exist=True), study)
    emit_json(report) if json_output else status_table(report)
