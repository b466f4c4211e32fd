"""`advisor` command line: one thin module per command family, registered on one Typer app."""

from __future__ import annotations

from advisor.cli._app import app

# Importing a command module registers its commands on `app`.
from advisor.cli import _grid  # noqa: E402,F401  isort: skip
from advisor.cli import _surface  # noqa: E402,F401  isort: skip
from advisor.cli import _harvest  # noqa: E402,F401  isort: skip
from advisor.cli import _bench  # noqa: E402,F401  isort: skip
from advisor.cli import _report  # noqa: E402,F401  isort: skip
from advisor.cli import _steer  # noqa: E402,F401  isort: skip
from advisor.cli import _status  # noqa: E402,F401  isort: skip

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `advisor` console script."""
    app()
