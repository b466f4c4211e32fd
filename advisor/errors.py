"""Typed errors raised by the library; only the CLI turns them into a message and exit code 1."""

from __future__ import annotations


class AdvisorError(Exception):
    """Base class: a clear, user-facing problem (one line: what is wrong and what to do)."""


class SpecError(AdvisorError):
    """The study spec (TOML) is malformed, has unknown/missing keys or impossible values."""


class DataError(AdvisorError):
    """A dataset or table cannot be used (missing column, empty, single class, ...)."""


class ModelError(AdvisorError):
    """A model cannot be loaded (missing path, Hub unreachable, ...)."""


class StorageError(AdvisorError):
    """The storage cannot be reached, or a study/trial is not where it should be."""


class FitError(AdvisorError):
    """A response surface cannot be fitted (too few rows, constant columns, NaN metrics)."""


class NotFittedError(AdvisorError, ValueError):
    """A model was used before `fit` was called."""


class TrialFailed(AdvisorError):
    """One fine-tune failed for a reason that is a result, not a tool error (the grid goes on).

    Attributes:
        reason: short machine-readable reason, e.g. "diverged loss", "out of memory".
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
