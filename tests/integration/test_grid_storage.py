"""Storage for many workers: passwords never shown, a new database created by several workers
at once, the study lock (re-entrant in a process, exclusive across processes), and claims."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import optuna
import pytest
from conftest import start_together
from optuna.trial import TrialState

from advisor.study.locks import study_lock
from advisor.study.storage import mask_url, open_storage


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://user:pw@host:5432/db", "postgresql://user:***@host:5432/db"),
        ("postgresql+psycopg://u:p%40ss:w@db.example/x", "postgresql+psycopg://u:***@db.example/x"),
        ("postgresql://:only-password@host/db", "postgresql://:***@host/db"),
        ("mysql://u:pw@h/db?password=again&x=1", "mysql://u:***@h/db?password=***&x=1"),
        (
            "cannot open postgresql://u:pw@h/db: failed",
            "cannot open postgresql://u:***@h/db: failed",
        ),
        ("host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("sqlite:///advisor.db", "sqlite:///advisor.db"),
    ],
)
def test_mask_url_hides_every_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


OPEN = textwrap.dedent("""
    import sys
    from advisor.study.storage import open_storage
    print("ready", flush=True)
    sys.stdin.readline()
    open_storage(sys.argv[1])
    print("opened", flush=True)
""")


def test_workers_creating_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    for code, out, err in start_together(OPEN, [url], 4):  # every process imported: opens collide
        assert code == 0 and out.strip() == "opened", err[-2000:]
    assert optuna.get_all_study_names(url) == []


def test_study_lock_is_reentrant_in_a_process_and_excludes_others(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    storage = open_storage(url)
    events: list[str] = []

    def other_thread() -> None:
        with study_lock(storage, "s"):
            events.append("other")

    with study_lock(storage, "s"), study_lock(storage, "s"):  # nested: no deadlock
        thread = threading.Thread(target=other_thread)
        thread.start()
        time.sleep(0.3)
        events.append("owner")
    thread.join(timeout=10)
    assert events == ["owner", "other"]

    hold = textwrap.dedent(f"""
        import time
        from advisor.study.locks import study_lock
        from advisor.study.storage import open_storage
        with study_lock(open_storage({url!r}), "s"):
            print("held", flush=True)
            time.sleep(1.5)
    """)
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    with study_lock(storage, "s"):
        waited = time.monotonic() - started
    with study_lock(storage, "another study"):
        pass  # other studies are not blocked
    assert holder.wait(timeout=30) == 0
    assert waited > 0.5


def test_claim_next_takes_each_waiting_trial_once(tmp_path: Path) -> None:
    from advisor.study.grid import claim_next
    from advisor.study.worker import WORKER_ATTR, worker_id

    url = f"sqlite:///{tmp_path / 'claims.db'}"
    storage = open_storage(url)
    study = optuna.create_study(study_name="s", storage=storage)
    for x in range(3):
        study.enqueue_trial({"x": x})
    claimed = []
    while (trial := claim_next(study, storage)) is not None:
        claimed.append(trial)
    assert [t.number for t in claimed] == [0, 1, 2]
    assert all(t.state == TrialState.RUNNING for t in claimed)
    assert {t.user_attrs[WORKER_ATTR] for t in claimed} == {worker_id()}


def test_a_grid_claims_its_longest_runs_first(tmp_path: Path) -> None:
    """Parallel workers end together when the short runs are left for last."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    from advisor.study.grid import claim_next

    storage = open_storage(f"sqlite:///{tmp_path / 'claims.db'}")
    study = optuna.create_study(study_name="s", storage=storage)
    space = {"epochs": IntDistribution(1, 3), "batch_size": CategoricalDistribution((8, 32))}
    for epochs, batch in [(1, 8), (3, 32), (2, 8), (3, 8), (1, 32)]:
        point = {"epochs": epochs, "batch_size": batch}
        study.add_trial(  # as `advisor grid` queues its points
            optuna.trial.create_trial(state=TrialState.WAITING, params=point, distributions=space)
        )
    order = []
    while (trial := claim_next(study, storage, costliest_first=True)) is not None:
        order.append((trial.params["epochs"], trial.params["batch_size"]))
    assert order == [(3, 8), (3, 32), (2, 8), (1, 8), (1, 32)]
