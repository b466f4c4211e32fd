"""A lock shared by every worker of one study, held while enqueueing the grid, computing the
baseline, failing stale trials and claiming the next one, so that concurrent `advisor grid` runs
never duplicate a point.

PostgreSQL: a session advisory lock (released by the server if the worker dies). SQLite: an
`flock` on a file beside the database (SQLite is one host; not for network file systems).
MySQL: a named lock. The lock is re-entrant within a process, so library code may nest it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
from sqlalchemy import text

_guard = threading.Lock()
_local: dict[str, threading.RLock] = {}
_depth: dict[str, int] = {}


@contextmanager
def study_lock(storage: optuna.storages.RDBStorage, study_name: str) -> Iterator[None]:
    """Exclusive lock for `study_name` across processes and hosts (re-entrant in a process)."""
    key = f"{storage.url}\n{study_name}"
    with _guard:
        local = _local.setdefault(key, threading.RLock())
    with local:  # threads of one process queue here; the owner thread may re-enter
        depth = _depth.get(key, 0)
        _depth[key] = depth + 1
        try:
            if depth:
                yield
            else:
                with _process_lock(storage, study_name):
                    yield
        finally:
            _depth[key] -= 1


@contextmanager
def _process_lock(storage: optuna.storages.RDBStorage, study_name: str) -> Iterator[None]:
    url = str(storage.url)
    if url.startswith("sqlite"):
        with _file_lock(_sqlite_path(url) + f".{_key(study_name)}.lock"):
            yield
    elif url.startswith("postgresql"):
        with storage.engine.connect() as connection:
            key = int(_key(study_name), 16) & 0x7FFFFFFFFFFFFFFF
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()
    elif url.startswith("mysql"):
        with storage.engine.connect() as connection:
            name = f"advisor-{_key(study_name)}"
            connection.execute(text("SELECT GET_LOCK(:n, -1)"), {"n": name})
            try:
                yield
            finally:
                connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
    else:
        yield


def _key(study_name: str) -> str:
    return hashlib.sha256(study_name.encode()).hexdigest()[:15]


def _sqlite_path(url: str) -> str:
    path = url.split("///", 1)[1] if "///" in url else ""
    return os.path.abspath(path) if path and path != ":memory:" else os.path.abspath(".advisor")


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
