"""Where local workers run: GPUs shared out round-robin, CPU cores split between workers.

Pure but for reading the environment (`CUDA_VISIBLE_DEVICES`, the CPU affinity, torch's
device count); `advisor.study.pool` applies a `Placement` to a worker's environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from advisor.errors import SpecError

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")


@dataclass(frozen=True)
class Placement:
    """Where one worker runs: the GPU it sees as `cuda:0` (None: CPU) and its thread count."""

    index: int
    gpu: str | None
    threads: int

    def env(self) -> dict[str, str]:
        """The environment variables that pin the worker."""
        env = dict.fromkeys(THREAD_VARS, str(self.threads))
        if self.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = self.gpu
        return env


def visible_gpus() -> list[str]:
    """The CUDA devices this process may use, as `CUDA_VISIBLE_DEVICES` entries.

    A set `CUDA_VISIBLE_DEVICES` is taken as it is (empty or "-1": none); otherwise torch
    counts the devices (without creating a CUDA context), where torch is installed.
    """
    declared = os.environ.get("CUDA_VISIBLE_DEVICES")
    if declared is not None:
        entries = [e.strip() for e in declared.split(",") if e.strip()]
        return [] if not entries or entries[0].startswith("-") else entries
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return [str(i) for i in range(torch.cuda.device_count())]


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity: taskset, cgroup cpusets, Slurm)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def worker_count(workers: int, workers_per_gpu: int | None, gpus: Sequence[str]) -> int:
    """How many workers to start: `workers`, or `workers_per_gpu` on each visible GPU.

    Raises:
        SpecError: `workers_per_gpu` without a CUDA GPU, or with a different `workers` count.
    """
    if workers_per_gpu is None:
        return workers
    if not gpus:
        raise SpecError(
            "--workers-per-gpu needs a CUDA GPU and none is visible; use --workers N on CPU"
        )
    count = workers_per_gpu * len(gpus)
    if workers not in (1, count):
        raise SpecError(
            f"--workers {workers} and --workers-per-gpu {workers_per_gpu} disagree "
            f"({len(gpus)} GPU(s) make {count} workers); give one of them"
        )
    return count


def placements(n: int, gpus: Sequence[str], cores: int) -> list[Placement]:
    """`n` workers spread round-robin over `gpus` (none: CPU), `cores // n` threads each
    (at least 1): the cores are shared out, not oversubscribed."""
    if n < 1:
        raise ValueError(f"at least one worker is needed, got {n}")
    threads = max(1, cores // n)
    return [Placement(i, gpus[i % len(gpus)] if gpus else None, threads) for i in range(n)]


def describe(where: Sequence[Placement], cores: int) -> str:
    """One line saying where the workers run."""
    threads = where[0].threads
    each = f"{threads} CPU thread{'s' if threads != 1 else ''} each"
    gpus = sorted({p.gpu for p in where if p.gpu is not None})
    if gpus:
        shown = ", ".join(f"GPU {g}: {sum(p.gpu == g for p in where)}" for g in gpus)
        return f"{len(where)} workers on {len(gpus)} GPU(s) ({shown}), {each}"
    crowded = " (more workers than cores)" if len(where) > cores else ""
    return f"{len(where)} workers on CPU, {each} ({cores} cores){crowded}"


@contextmanager
def placed_environment(values: dict[str, str]) -> Iterator[None]:
    """`values` (a `Placement.env()`) set in os.environ inside the block, restored after: a
    spawned worker inherits them when it starts (threads and device are read at torch start)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
