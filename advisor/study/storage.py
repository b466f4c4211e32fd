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
from contextlib import closing
from typing import Any
from urllib.parse import quote, unquote

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import make_url

from advisor.errors import StorageError
from advisor.table import ALL_METRICS, METRICS, PARAMS, TrialsTable, curve_columns

DEFAULT_STORAGE = "sqlite:///advisor.db"
STORAGE_ENV = "ADVISOR_STORAGE"
SQLITE_BUSY_TIMEOUT_S = 120
CREATE_ATTEMPTS = 5
BASELINE_ATTR = "advisor:baseline"
SPEC_ATTR = "advisor:spec"
SURFACES_ATTR = "advisor:surfaces"
PARENT_ATTR = "advisor:grid_study"
DATA_ATTR = "advisor:data"  # the data's fingerprint (advisor.fingerprint)
OBJECTIVES_ATTR = "advisor:objectives"
# Trial user attr of a PRUNED trial holding a real measurement that lacks some metric (a harvested
# card that states no F1, say): the list of the missing metrics. COMPLETE needs every value.
PARTIAL_ATTR = "advisor:missing_metrics"


def resolve_storage_url(url: str | None) -> str:
    """`--storage` if given, else `$ADVISOR_STORAGE`, else `sqlite:///advisor.db`.

    A password with a raw `@` (`postgres:S3cr@3tPW@host`) is percent-encoded, so the URL
    connects as meant and its password is masked whole; a bare file name is refused with the
    `sqlite:///` form to use instead.

    Raises:
        StorageError: the value is not a URL (no `scheme://`).
    """
    chosen = url or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE
    if "://" not in chosen:
        raise StorageError(
            f"--storage {chosen!r} is not a storage URL; did you mean sqlite:///{chosen}? "
            "(PostgreSQL: postgresql+psycopg://user@host/db)"
        )
    return _encode_raw_at(chosen)


def _encode_raw_at(url: str) -> str:
    """Percent-encode the password of `scheme://user:pass@word@host/...` (every `@` but the
    last one before the host belongs to the password) and remember it for `scrub`."""
    scheme, _, rest = url.partition("://")
    authority_end = len(rest)
    for stop in "/?#":
        index = rest.find(stop, rest.rfind("@") + 1 if "@" in rest else 0)
        if index != -1:
            authority_end = min(authority_end, index)
    authority = rest[:authority_end]
    if "@" not in authority:
        return url
    userinfo, _, host = authority.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not colon:
        return url
    plain = unquote(password)
    _SECRETS.add(plain)
    _SECRETS.add(password)
    encoded = quote(plain, safe="")
    return f"{scheme}://{user}:{encoded}@{host}{rest[authority_end:]}"


# Passwords of the storage URLs this process has seen: driver messages may repeat them (or parts
# of a URL) in forms the URL pattern below does not catch; `scrub` removes them from any text.
_SECRETS: set[str] = set()
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^\s/?#]*@")  # greedy: up to the last `@`
_QUERY_PASSWORD = re.compile(r"(\bpassword=)[^&\s'\"]*", flags=re.IGNORECASE)


def mask_url(url: str) -> str:
    """The URL (or a message quoting one) with any password replaced by `***`.

    A URL alone is rendered by SQLAlchemy with `hide_password=True`; URLs inside a message are
    masked up to the last `@` of their authority (a raw `@` in the password included), and
    libpq-style `password=...` in a query string or connection string too. Known passwords
    (see `scrub`) are removed wherever they appear.
    """
    text = url
    if "://" in url and not any(c.isspace() for c in url):
        try:
            parsed = make_url(_encode_raw_at(url))
        except Exception:  # not a URL SQLAlchemy parses: the patterns below still apply
            parsed = None
        if parsed is not None and parsed.password is not None:
            text = parsed.render_as_string(hide_password=True)
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _QUERY_PASSWORD.sub(r"\1***", text)
    return _drop_secrets(text)


def scrub(text: str) -> str:
    """A message with every storage password (and URL password) replaced by `***`: for driver
    messages, which quote hosts and connection strings in their own ways."""
    return mask_url(text)


def _drop_secrets(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if len(secret) >= 3:  # a one- or two-letter password would blank ordinary words
            text = text.replace(secret, "***")
    return text


def sqlite_path(url: str) -> str | None:
    """The absolute path of a SQLite storage's file (None for other backends and :memory:)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    if path.startswith("file:"):  # a URI filename: sqlite:///file:/abs/path?mode=ro&uri=true
        path = path[len("file:") :].split("?", 1)[0]
    else:
        path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return os.path.abspath(path)


def open_storage(
    url: str | None = None,
    *,
    read_only: bool = False,
    must_exist: bool = False,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    stale_trial_callback: Callable[[optuna.Study, FrozenTrial], None] | None = None,
) -> optuna.storages.RDBStorage:
    """Open (and create the tables of) an Optuna RDB storage.

    `read_only` (status, export, report, fit-surface --no-store, suggest): a SQLite file is
    opened read-only (an immutable URI where even that fails: a read-only file system) and
    nothing is created. `must_exist`: a missing SQLite file is an error rather than created.

    Raises:
        StorageError: the database cannot be reached or created, or a write is refused
            because the file is read-only; the message masks the password.
    """
    url = resolve_storage_url(url)
    engine_kwargs: dict[str, Any] = {}
    connect_url = url
    path = sqlite_path(url)
    if url.startswith("sqlite"):
        if path is not None and (read_only or must_exist) and not os.path.isfile(path):
            raise StorageError(
                f"no storage at {path}; run the command from the folder that holds it, or "
                f"pass --storage sqlite:////abs/path/advisor.db (or set ${STORAGE_ENV})"
            )
        if path is not None and read_only:
            connect_url = _read_only_sqlite_url(path)
        elif path is not None:
            _prepare_sqlite(url, path)
        engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    elif url.startswith("postgresql"):
        engine_kwargs["pool_pre_ping"] = True
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    for attempt in range(CREATE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                connect_url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=stale_trial_callback,
                # a read-only SQLite file cannot take CREATE TABLE, not even a no-op one
                skip_table_creation=read_only and path is not None,
            )
        except Exception as exc:  # SQLAlchemy/driver errors vary by backend
            if attempt + 1 < CREATE_ATTEMPTS and _lost_creation_race(exc):
                time.sleep(random.uniform(0.1, 0.5))  # another worker is creating the tables
                continue
            reason = first_line(exc)
            if read_only and path is not None:
                raise StorageError(
                    f"cannot read storage {path}: {reason} (is it an advisor/Optuna database?)"
                ) from exc
            raise StorageError(
                f"cannot open storage {mask_url(url)}: {scrub(reason)}; check --storage or "
                f"${STORAGE_ENV} (default {DEFAULT_STORAGE})"
            ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none). Optuna's
    StorageInternalError ("... e.g. exceeding max length") is replaced by the driver error
    that caused it, which says what really went wrong."""
    while isinstance(exc, optuna.exceptions.StorageInternalError) and exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def storage_failure(exc: BaseException, label: str | None = None) -> StorageError | None:
    """A database error raised past the library's checks (SQLAlchemy, the driver, Optuna's
    storage) as a one-line StorageError with passwords scrubbed; None for other errors."""
    import sqlalchemy.exc

    if not isinstance(
        exc,
        sqlalchemy.exc.SQLAlchemyError | optuna.exceptions.StorageInternalError | sqlite3.Error,
    ):
        return None
    reason = first_line(exc)
    lowered = reason.lower()
    named = f"storage {scrub(label)}" if label else "the storage"
    if "readonly" in lowered or "read-only" in lowered:
        return StorageError(
            f"{named} is read-only ({scrub(reason)}); this command writes to it: copy the "
            "database somewhere writable, or use a read command"
        )
    return StorageError(f"{named} failed: {scrub(reason)}")


def storage_label(url: str | None) -> str:
    """How messages name a storage: a SQLite file's absolute path, else the masked URL."""
    resolved = resolve_storage_url(url)
    return sqlite_path(resolved) or mask_url(resolved)


def _read_only_sqlite_url(path: str) -> str:
    """`mode=ro` (sees other processes' writes), or `immutable=1` where a read-only open
    fails: a WAL file on a read-only file system cannot create its shared-memory file."""
    quoted = quote(path)
    for flags in ("mode=ro", "mode=ro&immutable=1"):
        uri = f"file:{quoted}?{flags}"
        try:
            with closing(sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)) as db:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return f"sqlite:///file:{quoted}?{flags}&uri=true"
        except sqlite3.Error:
            continue
    raise StorageError(f"cannot read storage {path}: SQLite cannot open it even read-only")


def _lost_creation_race(exc: BaseException) -> bool:
    """Two workers created the tables of a new database at once (the loser sees a duplicate)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen).lower()
        if "already exists" in text or "duplicate" in text or "unique" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def read_only_refusal(path: str, reason: str) -> StorageError:
    """The one-line error for a write to a SQLite file that cannot be written."""
    return StorageError(
        f"storage {path} is read-only ({reason}); this command writes to it. Read commands "
        "still work (grid --status, export, report, fit-surface --no-store, suggest without "
        "--enqueue); copy the file somewhere writable to add to it"
    )


def _prepare_sqlite(url: str, path: str) -> None:
    """Switch a SQLite file to WAL so readers never block the writer; refuse a file that
    cannot be written (read-only or immutable file or file system) in one line."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise StorageError(f"cannot open storage {url}: folder {directory} does not exist")
    # Switching to WAL needs a moment alone with the file, and SQLite's busy timeout does not
    # always cover it: workers opening a new database together retry instead of failing.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            with closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)) as connection:
                if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("BEGIN IMMEDIATE")  # a write lock: fails on a read-only file
                connection.execute("ROLLBACK")
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "readonly" in text or "read-only" in text or "unable to open" in text:
                if os.path.isfile(path):
                    raise read_only_refusal(path, str(exc)) from exc
                raise StorageError(f"cannot create storage {path}: {exc}") from exc
            if "locked" not in text or time.monotonic() > deadline:
                raise StorageError(f"cannot open storage {url}: {exc}") from exc
            time.sleep(0.05 + random.random() * 0.2)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open storage {url}: {exc}") from exc


def add_trials_at_once(study: optuna.Study, trials: list[FrozenTrial]) -> None:
    """Add finished trials to a study in one transaction, with their start and end times.

    On an RDB storage the rows are written with bulk inserts into Optuna's own tables (one
    statement per table for the attributes, parameters and values): a 10,000-trial copy takes
    seconds, where Optuna's per-trial path (a query per attribute) takes minutes. The study
    row is locked first, so trial numbers stay consecutive under concurrent writers. Other
    storages use `Study.add_trials`.
    """
    if not trials:
        return
    rdb = getattr(study._storage, "_backend", study._storage)  # _CachedStorage wraps the RDB
    if not isinstance(rdb, optuna.storages.RDBStorage):
        study.add_trials(trials)
        return
    for trial in trials:
        trial._validate()  # what Study.add_trial checks before inserting
    _bulk_insert(rdb, study._study_id, trials)


def _bulk_insert(rdb: optuna.storages.RDBStorage, study_id: int, trials: list[FrozenTrial]) -> None:
    import json
    from datetime import timezone

    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from sqlalchemy import func, insert, select

    def utc(moment: Any) -> Any:  # Optuna stores naive UTC
        return None if moment is None else moment.astimezone(timezone.utc).replace(tzinfo=None)

    params: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    intermediate: list[dict[str, Any]] = []
    user_attrs: list[dict[str, Any]] = []
    system_attrs: list[dict[str, Any]] = []
    with _create_scoped_session(rdb.scoped_session) as session:
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        first = session.scalar(
            select(func.count(models.TrialModel.trial_id)).where(
                models.TrialModel.study_id == study_id
            )
        )
        connection = session.connection()
        for offset, trial in enumerate(trials):
            inserted = connection.execute(
                insert(models.TrialModel.__table__).values(
                    number=int(first or 0) + offset,
                    study_id=study_id,
                    state=trial.state,
                    datetime_start=utc(trial.datetime_start),
                    datetime_complete=utc(trial.datetime_complete),
                )
            )
            trial_id = inserted.inserted_primary_key[0]  # type: ignore[index]
            for name, value in trial.params.items():
                dist = trial.distributions[name]
                params.append(
                    {
                        "trial_id": trial_id,
                        "param_name": name,
                        "param_value": dist.to_internal_repr(value),
                        "distribution_json": distribution_to_json(dist),
                    }
                )
            for objective, value in enumerate(trial.values or []):
                stored, kind = models.TrialValueModel.value_to_stored_repr(value)
                values.append(
                    {
                        "trial_id": trial_id,
                        "objective": objective,
                        "value": stored,
                        "value_type": kind,
                    }
                )
            for step, value in trial.intermediate_values.items():
                number, kind_i = (
                    models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(value)
                )
                intermediate.append(
                    {
                        "trial_id": trial_id,
                        "step": step,
                        "intermediate_value": number,
                        "intermediate_value_type": kind_i,
                    }
                )
            for rows, attrs in ((user_attrs, trial.user_attrs), (system_attrs, trial.system_attrs)):
                rows.extend(
                    {"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                    for k, v in attrs.items()
                )
        for model, rows in (
            (models.TrialParamModel, params),
            (models.TrialValueModel, values),
            (models.TrialIntermediateValueModel, intermediate),
            (models.TrialUserAttributeModel, user_attrs),
            (models.TrialSystemAttributeModel, system_attrs),
        ):
            if rows:
                connection.execute(insert(model.__table__), rows)


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of every study in the storage."""
    return sorted(s.study_name for s in storage.get_all_studies())


def load_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    sampler: optuna.samplers.BaseSampler | None = None,
) -> optuna.Study:
    """Load an existing study, or fail naming the storage and listing the studies it has."""
    names = study_names(storage)
    if name not in names:
        listed = ", ".join(names) if names else "none yet; run `advisor grid SPEC.toml` first"
        raise StorageError(
            f"study {name!r} does not exist in storage {label_of(storage)}; studies: {listed}"
        )
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler)


def label_of(storage: optuna.storages.BaseStorage) -> str:
    """An open storage as messages name it: the SQLite file's path, else the masked URL."""
    url = str(getattr(storage, "url", ""))
    return sqlite_path(url) or mask_url(url) or type(storage).__name__


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
    records = [trial_row(trial) for trial in trials]
    columns = ["number", *PARAMS, "seed", *ALL_METRICS]
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=columns)
    if include_partial:
        missing = [m for m in METRICS if m not in frame.columns]
        frame = frame.reindex(columns=[*frame.columns, *missing])
    params, runs = baseline_configuration(study)
    return TrialsTable(
        rows=frame, baseline=baseline_metrics(study), baseline_params=params, baseline_runs=runs
    )


def trial_row(trial: FrozenTrial) -> dict[str, Any]:
    """One finished trial as a table row: number, PARAMS, seed, metrics, cost and curve."""
    row: dict[str, Any] = {"number": trial.number}
    for name in PARAMS:
        row[name] = trial.params.get(name, trial.user_attrs.get(name))
    row["seed"] = trial.params.get("seed", trial.user_attrs.get("seed"))
    row.update({m: trial.user_attrs[m] for m in ALL_METRICS if m in trial.user_attrs})
    for extra in ("wall_time_s", "train_seconds", "train_samples_per_second", "collapsed"):
        if extra in trial.user_attrs:
            row[extra] = trial.user_attrs[extra]
    row.update(curve_columns(trial.user_attrs.get("curve") or []))
    return row


def baseline_configuration(
    study: optuna.Study,
) -> tuple[dict[str, float] | None, dict[int, dict[str, float]] | None]:
    """The baseline's configuration (when its record states all of PARAMS) and its per-seed
    runs (record key `runs`: `[{"seed": s, "metrics": {...}}, ...]`), each None when unknown."""
    record = get_baseline(study) or {}
    stated = record.get("params") or {}
    params = {p: float(stated[p]) for p in PARAMS} if all(p in stated for p in PARAMS) else None
    runs = {int(r["seed"]): dict(r["metrics"]) for r in record.get("runs") or []}
    return params, runs or None


def _rdb_of(study: optuna.Study) -> optuna.storages.RDBStorage | None:
    rdb = getattr(study._storage, "_backend", study._storage)  # _CachedStorage wraps the RDB
    return rdb if isinstance(rdb, optuna.storages.RDBStorage) else None


def trial_attr_index(study: optuna.Study, key: str) -> dict[int, Any]:
    """{trial number: value} of one user attribute over a study's trials. On an RDB storage
    one query, without loading the trials (a 10,000-trial view takes seconds to load)."""
    rdb = _rdb_of(study)
    if rdb is None:
        trials = study.get_trials(deepcopy=False)
        return {t.number: t.user_attrs[key] for t in trials if key in t.user_attrs}
    import json

    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from sqlalchemy import select

    attr, trial = models.TrialUserAttributeModel, models.TrialModel
    query = (
        select(trial.number, attr.value_json)
        .join(attr, attr.trial_id == trial.trial_id)
        .where(trial.study_id == study._study_id, attr.key == key)
    )
    with _create_scoped_session(rdb.scoped_session) as session:
        return {int(number): json.loads(value) for number, value in session.execute(query)}


def trials_in_states(study: optuna.Study, states: tuple[TrialState, ...]) -> dict[int, int]:
    """{trial number: trial id} of a study's trials in `states`, in one query on an RDB."""
    rdb = _rdb_of(study)
    if rdb is None:
        return {t.number: t._trial_id for t in study.get_trials(deepcopy=False, states=states)}
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from sqlalchemy import select

    trial = models.TrialModel
    query = select(trial.number, trial.trial_id).where(
        trial.study_id == study._study_id, trial.state.in_(states)
    )
    with _create_scoped_session(rdb.scoped_session) as session:
        return {int(number): int(trial_id) for number, trial_id in session.execute(query)}
