"""A lock shared by every worker of one study, held while enqueueing the grid, computing the
baseline, failing stale trials and claiming the next one, so that concurrent `advisor grid` runs
never duplicate a point.

PostgreSQL: a session advisory lock (released by the server if the worker dies). SQLite: an
`flock` on a lock file in a host-wide folder (`/tmp/advisor-locks`, or `$ADVISOR_LOCK_DIR`),
named after the database's absolute path, so no lock files pile up beside the database (SQLite
is one host; not for network file systems). Every process sharing a SQLite file must see the
same lock folder: containers or Slurm jobs with a private /tmp set `ADVISOR_LOCK_DIR` to a
folder they share.
MySQL: a named lock. The lock is re-entrant within a process, so library code may nest it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
from sqlalchemy import text

from advisor.study.storage import sqlite_path

LOCK_DIR_ENV = "ADVISOR_LOCK_DIR"
DEFAULT_LOCK_DIR = "/tmp/advisor-locks"  # fixed, not $TMPDIR: jobs with their own TMPDIR share it
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
        with _file_lock(lock_file(url, study_name)):
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


def lock_file(url: str, study_name: str) -> str:
    """The lock file of a study in a SQLite storage: `<lock dir>/<name>.<path hash>.<study
    hash>.lock`, keyed by the database's absolute path (resolved through symlinks)."""
    path = os.path.realpath(sqlite_path(url) or os.path.abspath(".advisor"))
    folder = os.environ.get(LOCK_DIR_ENV) or DEFAULT_LOCK_DIR
    _ensure_shared_folder(folder)
    digest = hashlib.sha256(path.encode()).hexdigest()[:16]
    return os.path.join(folder, f"{os.path.basename(path)}.{digest}.{_key(study_name)}.lock")


def _ensure_shared_folder(folder: str) -> None:
    """Create the lock folder writable by every user (sticky, like /tmp itself)."""
    if os.path.isdir(folder):
        return
    os.makedirs(folder, exist_ok=True)
    with contextlib.suppress(PermissionError):  # made by another user meanwhile
        os.chmod(folder, stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO | stat.S_ISVTX)


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    # read-only descriptor: flock needs no write access, so another user's lock file works too
    descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
