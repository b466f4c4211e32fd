"""The only code that sees a storage URL: opening Optuna RDB storages and studies safely.

SQLite gets WAL and a busy timeout so that a few local processes can share one file;
PostgreSQL is for many workers on many hosts. URLs are never shown with their password.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from advisor.errors import StorageError
from advisor.table import ALL_METRICS, METRICS, PARAMS, TrialsTable

DEFAULT_STORAGE = "sqlite:///advisor.db"
STORAGE_ENV = "ADVISOR_STORAGE"
SQLITE_BUSY_TIMEOUT_S = 120
CREATE_ATTEMPTS = 5
BASELINE_ATTR = "advisor:baseline"
SPEC_ATTR = "advisor:spec"
SURFACES_ATTR = "advisor:surfaces"
PARENT_ATTR = "advisor:grid_study"
OBJECTIVES_ATTR = "advisor:objectives"
# Trial user attr of a PRUNED trial holding a real measurement that lacks some metric (a harvested
# card that states no F1, say): the list of the missing metrics. COMPLETE needs every value.
PARTIAL_ATTR = "advisor:missing_metrics"


def resolve_storage_url(url: str | None) -> str:
    """`--storage` if given, else `$ADVISOR_STORAGE`, else `sqlite:///advisor.db`."""
    return url or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE


def mask_url(url: str) -> str:
    """The URL (or a message quoting one) with any password replaced by `***`.

    Covers `scheme://user:password@host` (an empty user too, as SQLAlchemy parses it) and
    libpq-style `password=...` in a query string or a connection string.
    """
    url = re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", url)
    return re.sub(r"(\bpassword=)[^&\s'\"]*", r"\1***", url, flags=re.IGNORECASE)


def open_storage(
    url: str | None = None,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    stale_trial_callback: Callable[[optuna.Study, FrozenTrial], None] | None = None,
) -> optuna.storages.RDBStorage:
    """Open (and create the tables of) an Optuna RDB storage.

    Raises:
        StorageError: the database cannot be reached or created; the message masks the password.
    """
    url = resolve_storage_url(url)
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        _prepare_sqlite(url)
        engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    elif url.startswith("postgresql"):
        engine_kwargs["pool_pre_ping"] = True
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    for attempt in range(CREATE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=stale_trial_callback,
            )
        except Exception as exc:  # SQLAlchemy/driver errors vary by backend
            if attempt + 1 < CREATE_ATTEMPTS and _lost_creation_race(exc):
                time.sleep(random.uniform(0.1, 0.5))  # another worker is creating the tables
                continue
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StorageError(
                f"cannot open storage {mask_url(url)}: {mask_url(reason)}; check --storage or "
                f"${STORAGE_ENV} (default {DEFAULT_STORAGE})"
            ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _lost_creation_race(exc: BaseException) -> bool:
    """Two workers created the tables of a new database at once (the loser sees a duplicate)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen).lower()
        if "already exists" in text or "duplicate" in text or "unique" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _prepare_sqlite(url: str) -> None:
    """Switch a SQLite file to WAL so readers never block the writer."""
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise StorageError(f"cannot open storage {url}: folder {directory} does not exist")
    # Switching to WAL needs a moment alone with the file, and SQLite's busy timeout does not
    # always cover it: workers opening a new database together retry instead of failing.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as connection:
                if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise StorageError(f"cannot open storage {url}: {exc}") from exc
            time.sleep(0.05 + random.random() * 0.2)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open storage {url}: {exc}") from exc


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of every study in the storage."""
    return sorted(s.study_name for s in storage.get_all_studies())


def load_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    sampler: optuna.samplers.BaseSampler | None = None,
) -> optuna.Study:
    """Load an existing study, or fail listing the studies that do exist."""
    names = study_names(storage)
    if name not in names:
        listed = ", ".join(names) if names else "none yet; run `advisor grid SPEC.toml` first"
        raise StorageError(f"study {name!r} does not exist in this storage; studies: {listed}")
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler)


def get_baseline(study: optuna.Study) -> dict[str, Any] | None:
    """The baseline record stored with the study (metrics and how they were obtained)."""
    value = study.user_attrs.get(BASELINE_ATTR)
    return dict(value) if value else None


def baseline_metrics(study: optuna.Study) -> dict[str, float] | None:
    """Just the baseline's metrics (`accuracy`, `f1`, `loss`), or None without a baseline."""
    record = get_baseline(study)
    return dict(record["metrics"]) if record else None


def finished_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Completed trials that carry all three absolute metrics."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in trials if all(m in t.user_attrs for m in ("accuracy", "f1", "loss"))]


def partial_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Measured trials that lack some metric: PRUNED, with user attr PARTIAL_ATTR."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    return [t for t in trials if PARTIAL_ATTR in t.user_attrs]


def trials_table(study: optuna.Study, include_partial: bool = False) -> TrialsTable:
    """The study's finished trials as a table (PARAMS, seed, metrics) plus its baseline.

    With `include_partial`, partial trials (see PARTIAL_ATTR) are rows too, NaN where a metric
    is missing: per-metric consumers (surface fits) drop NaN rows of the metric they model.
    """
    trials = finished_trials(study)
    if include_partial:
        trials = sorted([*trials, *partial_trials(study)], key=lambda t: t.number)
    records = []
    for trial in trials:
        record: dict[str, Any] = {"number": trial.number}
        for name in PARAMS:
            record[name] = trial.params.get(name, trial.user_attrs.get(name))
        record["seed"] = trial.params.get("seed", trial.user_attrs.get("seed"))
        for metric in ALL_METRICS:
            if metric in trial.user_attrs:
                record[metric] = trial.user_attrs[metric]
        for extra in ("wall_time_s", "train_samples_per_second"):
            if extra in trial.user_attrs:
                record[extra] = trial.user_attrs[extra]
        records.append(record)
    columns = ["number", *PARAMS, "seed", *ALL_METRICS]
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=columns)
    if include_partial:
        missing = [m for m in METRICS if m not in frame.columns]
        frame = frame.reindex(columns=[*frame.columns, *missing])
    return TrialsTable(rows=frame, baseline=baseline_metrics(study))
