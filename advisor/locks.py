"""A lock shared by every worker of one study, held while enqueueing the grid and computing the
baseline, so that concurrent `advisor grid` runs never duplicate a point."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
from sqlalchemy import text


@contextmanager
def study_lock(storage: optuna.storages.RDBStorage, study_name: str) -> Iterator[None]:
    """Exclusive lock for `study_name`: a PostgreSQL advisory lock, a file lock beside a
    SQLite database (SQLite is one host), a MySQL named lock; no lock elsewhere."""
    url = str(storage.url)
    if url.startswith("sqlite"):
        with _file_lock(_sqlite_path(url) + f".{_key(study_name)}.lock"):
            yield
    elif url.startswith("postgresql"):
        with storage.engine.connect() as connection:
            key = int(_key(study_name), 16) & 0x7FFFFFFFFFFFFFFF
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
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
