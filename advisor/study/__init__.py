"""Where a fine-tune is recorded, and who reads it.

- The **record** (`record.py`) is the grid study, named by the spec's `[study] name`. Every
  fine-tune of the spec is one trial there, whichever command ran it: parameters, metrics,
  timings, start and end times, and `source` (grid, tune, suggest) with the objective set that
  asked for it (`objectives`). `fit-surface`, `report`, `export`, `suggest` and
  `grid --status` read it (`views.table_of`).
- A **view** (`views.py`) per objective set, `NAME@f1,loss` (`NAME@f1:min,loss` when a direction
  is not the metric's default): an Optuna study whose values are that set's objectives, for
  Optuna's samplers and optuna-dashboard. `tune` and `suggest --enqueue` run their fine-tunes
  there; `views.sync` copies each into the record and every record trial into each view.
- `grid.py` and `worker.py` run fine-tunes as trials (claim, heartbeat, record, prune or fail);
  `pool.py` starts several local workers (`--workers N`), `placement.py` gives each its GPU or
  share of the cores and `pool_events.py` brings their progress to one display.
- `grid_status.py` and `status.py` say where a study stands; `surfaces.py` keeps fitted
  surfaces with the record; `export.py` writes the record as a table; `storage.py` opens
  SQLite and PostgreSQL storages (passwords masked) and `locks.py` serialises writers of one
  study.
"""
